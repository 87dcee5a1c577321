import { randomUUID } from 'node:crypto';

import { instanceToPlain } from 'class-transformer';

import { ConfigError } from '../errors/config-error.js';
import { PayloadError } from '../errors/payload-error.js';
import type { JobOptions } from '../job/job-options.js';
import { jobRegistry, type RegisteredJob } from '../job/job-registry.js';
import { validateJobOptions } from '../job/validate-job-options.js';
import { forbiddenKeyPath } from './decode-payload.js';
import { bytesOver } from './payload-size.js';
import { CALL_QUEUED_HANDLER, type JobPayload } from './job-payload.js';

/** The registry entry of a job instance's class, or a clear error when it was never decorated. */
export function registeredJobOf(job: object): RegisteredJob {
  const entry = jobRegistry.byClass(job.constructor);
  if (!entry) {
    throw new ConfigError(`Job class ${job.constructor.name} is not registered: decorate it with @Job().`);
  }
  return entry;
}

/** The class options with per-dispatch overrides on top. */
export function effectiveOptions(entry: RegisteredJob, overrides: Partial<JobOptions>): JobOptions {
  if (Object.keys(overrides).length > 0) validateJobOptions(entry.name, overrides);
  return { ...entry.options, ...overrides };
}

/**
 * Freezes a job and its options into a payload. Options are resolved now, at dispatch, as
 * Laravel does, so a job already queued keeps the options it was dispatched with.
 */
export function encodePayload(
  job: object,
  options: JobOptions,
  context: { delay?: number | Date; now?: Date } = {},
): JobPayload {
  const entry = registeredJobOf(job);
  const now = context.now ?? new Date();
  const createdAt = Math.floor(now.getTime() / 1000);
  // The worker would refuse it; say so now, at dispatch, naming the property.
  const forbidden = forbiddenKeyPath(job, entry.name);
  if (forbidden) throw new PayloadError(`Job ${entry.name} cannot be queued: it holds the forbidden key ${forbidden}.`);
  let command: Record<string, unknown>;
  try {
    command = JSON.parse(JSON.stringify(instanceToPlain(job))) as Record<string, unknown>;
  } catch (error) {
    throw new PayloadError(`Job ${entry.name} cannot be serialized: ${(error as Error).message}`, { cause: error });
  }
  const { delay } = context;
  return {
    uuid: randomUUID(),
    displayName: entry.name,
    job: CALL_QUEUED_HANDLER,
    maxTries: options.tries ?? null,
    maxExceptions: options.maxExceptions ?? null,
    failOnTimeout: options.failOnTimeout ?? false,
    backoff: options.backoff === undefined ? null : ([] as number[]).concat(options.backoff).join(','),
    timeout: options.timeout ?? null,
    retryUntil: resolveRetryUntil(options.retryUntil, job, createdAt),
    data: { commandName: entry.name, command },
    createdAt,
    delay: delay === undefined ? null : delay instanceof Date ? Math.max(0, Math.ceil((delay.getTime() - now.getTime()) / 1000)) : delay,
  };
}

/**
 * The payload as stored: JSON, refused with the job's name when it is larger than `limit` bytes
 * (the worker would refuse it too; better to say so to the code that dispatched it).
 */
export function serializePayload(payload: JobPayload, limit: number): string {
  const text = JSON.stringify(payload);
  const bytes = bytesOver(text, limit);
  if (bytes !== undefined) {
    throw new PayloadError(`Job ${payload.displayName} cannot be queued: its payload is ${bytes} bytes, over maxPayloadSize (${limit}).`);
  }
  return text;
}

function resolveRetryUntil(option: JobOptions['retryUntil'], job: object, createdAt: number): number | null {
  const value = typeof option === 'function' ? option(job) : option;
  if (value === undefined) return null;
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  return createdAt + value;
}
