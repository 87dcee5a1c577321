import type {
  JobMiddleware as JobMiddlewareContract,
  NextMiddleware as NextMiddlewareContract,
} from '../contracts/job-middleware.js';
import { ConfigError } from '../errors/config-error.js';
import type { Queueable } from '../job/queueable.js';
import { middlewareRegistry } from '../middleware/middleware-registry.js';

/** Options of `@JobMiddleware()`. */
export interface JobMiddlewareOptions {
  /** The name stored in payloads; default the class name. Set it when a minifier renames classes. */
  name?: string;
}

/**
 * Job middleware: an object whose `handle(job, next)` wraps each attempt (see the contract in
 * `contracts/job-middleware.ts`). The same name is the decorator below, so one import serves
 * both `@JobMiddleware()` and `implements JobMiddleware`.
 */
export type JobMiddleware<J extends object = Queueable> = JobMiddlewareContract<J>;

/**
 * Passes the job on to the next middleware, or to `handle()` after the last one (see the contract
 * in `contracts/job-middleware.ts`); by default for any `Queueable`.
 */
export type NextMiddleware<J extends object = Queueable> = NextMiddlewareContract<J>;

/**
 * Registers a job middleware class under its name (the class name unless `name` is given), so
 * an instance passed to `dispatch(job).through([...])` can be stored in the payload and rebuilt
 * on the worker. Only registered classes are ever rebuilt from a payload. Middleware a job
 * returns from its own `middleware()` method is built on the worker and needs no registration.
 *
 * @example
 * ```ts
 * @JobMiddleware()
 * export class EnsureTokenIsValid implements JobMiddleware {
 *   constructor(public service: string) {}
 *   async handle(job: Queueable, next: NextMiddleware) { … return next(job); }
 * }
 * await dispatch(new SyncContacts()).through([new EnsureTokenIsValid('crm')]);
 * ```
 */
export function JobMiddleware(options: JobMiddlewareOptions = {}): <T extends Function>(target: T) => T {
  return (target) => {
    const name = options.name ?? target.name;
    if (typeof name !== 'string' || name === '')
      throw new ConfigError('@JobMiddleware() on an anonymous class needs a `name` option.');
    if (typeof (target.prototype as { handle?: unknown }).handle !== 'function') {
      throw new ConfigError(`Job middleware ${name} has no handle(job, next) method.`);
    }
    middlewareRegistry.register({
      name,
      target: target as unknown as new (...args: any[]) => JobMiddlewareContract<any>,
    });
    return target;
  };
}
