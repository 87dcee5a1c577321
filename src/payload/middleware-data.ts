import { plainToClassFromExist } from 'class-transformer';

import type { JobMiddleware } from '../contracts/job-middleware.js';
import { PayloadError } from '../errors/payload-error.js';
import { middlewareRegistry } from '../middleware/middleware-registry.js';
import { toPlainData } from './plain-data.js';

/** One `through()` middleware as stored in the payload's `middleware` key: its registered name and plain data. */
export interface StoredMiddleware {
  name: string;
  data: Record<string, unknown>;
}

/**
 * The `through()` middleware of a dispatch, as stored: each must be an instance of a class
 * registered with `@JobMiddleware()`, holding data that survives JSON (a function, such as a
 * predicate, is refused here, naming the job and the middleware).
 */
export function encodeMiddleware(jobName: string, middleware: readonly unknown[]): StoredMiddleware[] {
  return middleware.map((item, index) => {
    if (item === null || typeof item !== 'object' || typeof (item as { handle?: unknown }).handle !== 'function') {
      throw new PayloadError(
        `Job ${jobName} cannot be queued: through()[${index}] is not job middleware (an object with a handle(job, next) method).`,
      );
    }
    const entry = middlewareRegistry.byClass(item.constructor);
    if (!entry) {
      throw new PayloadError(
        `Job ${jobName} cannot be queued: middleware ${item.constructor.name} given to through() is not registered. ` +
          "Decorate its class with @JobMiddleware() so a worker may rebuild it, or return it from the job's middleware() method.",
      );
    }
    try {
      return { name: entry.name, data: toPlainData(item, entry.name, { kind: `Job ${jobName}: middleware` }) };
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      throw new PayloadError(
        `${error.message} Middleware given to through() is stored in the payload; middleware holding functions belongs in the job's middleware() method, which is built on the worker.`,
        { cause: error },
      );
    }
  });
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** Checks the shape of a stored `middleware` list; a PayloadError names the job and the entry at fault. */
export function checkStoredMiddleware(value: unknown, jobName: string): StoredMiddleware[] {
  if (!Array.isArray(value))
    throw new PayloadError(`The payload of ${jobName} has a middleware key that is not a list.`);
  value.forEach((entry: unknown, index) => {
    const at = `The payload of ${jobName} has a malformed middleware[${index}]`;
    if (!isPlainObject(entry)) throw new PayloadError(`${at}: not an object.`);
    if (typeof entry.name !== 'string' || entry.name === '') throw new PayloadError(`${at}: no name.`);
    if (!isPlainObject(entry.data)) throw new PayloadError(`${at}: data must be an object.`);
  });
  return value as StoredMiddleware[];
}

/**
 * Rebuilds stored middleware without running constructors (as jobs are rebuilt), only from
 * classes in the registry: an unknown name is a PayloadError, and the job fails without running.
 */
export function restoreMiddleware(
  stored: readonly StoredMiddleware[] | undefined,
  jobName: string,
): JobMiddleware<any>[] {
  return (stored ?? []).map(({ name, data }, index) => {
    const entry = middlewareRegistry.byName(name);
    if (!entry) {
      throw new PayloadError(
        `Job ${jobName}: its payload names unknown middleware [${name}] (middleware[${index}]): no class is registered under that name. ` +
          'Decorate it with @JobMiddleware() and import it from the bootstrap module the worker loads. Nothing was run.',
      );
    }
    const blank = Object.create(entry.target.prototype as object) as JobMiddleware<any>;
    try {
      return plainToClassFromExist(blank, data);
    } catch (error) {
      throw new PayloadError(
        `Job ${jobName}: the data of middleware ${name} could not be restored: ${(error as Error).message}`,
        { cause: error },
      );
    }
  });
}

/** The checked `middleware` key of a parsed payload, to spread into it: `{}` when absent. */
export function parseMiddlewareKey(
  value: Record<string, unknown>,
  jobName: string,
): { middleware?: StoredMiddleware[] } {
  return value.middleware === undefined ? {} : { middleware: checkStoredMiddleware(value.middleware, jobName) };
}
