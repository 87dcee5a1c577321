import { randomUUID } from 'node:crypto';

import { ConfigError } from '../errors/config-error.js';
import { PayloadError } from '../errors/payload-error.js';
import { instanceOptionKeys, instanceOptions } from '../job/instance-options.js';
import type { JobOptions } from '../job/job-options.js';
import { jobRegistry, type RegisteredJob } from '../job/job-registry.js';
import { validateJobOptions } from '../job/validate-job-options.js';
import { numberProblem } from '../runtime/numeric-bounds.js';
import { CALL_QUEUED_HANDLER, type JobPayload } from './job-payload.js';
import type { Keyring } from './keyring.js';
import { encodeMiddleware, type StoredMiddleware } from './middleware-data.js';
import { identifyModels } from './model-identifiers.js';
import { bytesOver } from './payload-size.js';
import { toPlainData } from './plain-data.js';

/** The registry entry of a job instance's class, or a clear error when it was never decorated. */
export function registeredJobOf(job: object): RegisteredJob {
  const entry = jobRegistry.byClass(job.constructor);
  if (!entry) {
    throw new ConfigError(`Job class ${job.constructor.name} is not registered: decorate it with @Job().`);
  }
  return entry;
}

/**
 * The options a dispatch of `job` runs with: the class's `@Job` options, then what the job declares
 * on itself (a `tries` property, a `backoff()` method … read now), then the dispatch's overrides.
 * A job's own `uniqueId()` or `uniqueId` property likewise wins over the class's `uniqueId` option.
 * `own` is what {@link instanceOptions} read from the job, for a caller that already read it.
 */
export function effectiveOptions(
  entry: RegisteredJob,
  overrides: Partial<JobOptions>,
  job: object,
  own: Partial<JobOptions> = instanceOptions(job, entry.name),
): JobOptions {
  if (Object.keys(overrides).length > 0) validateJobOptions(entry.name, overrides);
  // As on @Job: a uniqueFor alone does nothing, which a port that forgot ShouldBeUnique would not notice.
  if (own.uniqueFor !== undefined && entry.options.unique === undefined && overrides.unique === undefined) {
    throw new ConfigError(
      `Job ${entry.name}: option \`uniqueFor\` (its uniqueFor property or method) does nothing without \`unique: true\` (Laravel's ShouldBeUnique): add it to @Job.`,
    );
  }
  const classOptions: JobOptions = { ...entry.options };
  if ((job as { uniqueId?: unknown }).uniqueId !== undefined) delete classOptions.uniqueId;
  return { ...classOptions, ...own, ...overrides };
}

/**
 * Freezes a job and its options into a payload. Options are resolved now, at dispatch, as
 * Laravel does, so a job already queued keeps the options it was dispatched with.
 */
export function encodePayload(
  job: object,
  options: JobOptions,
  context: { delay?: number | Date; now?: Date; keyring?: Keyring; middleware?: readonly object[] } = {},
): JobPayload {
  const entry = registeredJobOf(job);
  const now = context.now ?? new Date();
  const createdAt = Math.floor(now.getTime() / 1000);
  const middleware = context.middleware?.length ? encodeMiddleware(entry.name, context.middleware) : undefined;
  const data = encodeData(job, entry, context.keyring, middleware);
  const { delay } = context;
  return {
    uuid: randomUUID(),
    displayName: displayNameOf(job, entry),
    job: CALL_QUEUED_HANDLER,
    maxTries: options.tries ?? null,
    maxExceptions: options.maxExceptions ?? null,
    failOnTimeout: options.failOnTimeout ?? false,
    backoff: options.backoff === undefined ? null : ([] as number[]).concat(options.backoff).join(','),
    timeout: options.timeout ?? null,
    retryUntil: resolveRetryUntil(options.retryUntil, job, createdAt),
    data,
    createdAt,
    delay:
      delay === undefined
        ? null
        : delay instanceof Date
          ? Math.max(0, Math.ceil((delay.getTime() - now.getTime()) / 1000))
          : delay,
    ...(options.deleteWhenMissingModels ? { deleteWhenMissingModels: true } : {}),
    // Sealed with the data when the job is encrypted (see encodeData).
    ...(middleware && typeof data.command !== 'string' ? { middleware } : {}),
  };
}

/**
 * The job's data: models as identifiers, the rest as plain JSON checked to round-trip, and for
 * an encrypted job both sealed together.
 */
function encodeData(
  job: object,
  entry: RegisteredJob,
  keyring: Keyring | undefined,
  middleware?: StoredMiddleware[],
): JobPayload['data'] {
  const models = identifyModels(job, `Job ${entry.name}`);
  // Options the job sets on itself travel in the payload's own keys, not twice.
  const skip = [...Object.keys(models ?? {}), ...instanceOptionKeys(job)];
  const command = toPlainData(job, entry.name, skip.length > 0 ? { skip: new Set(skip) } : {});
  if (!entry.options.encrypted) return { commandName: entry.name, command, ...(models ? { models } : {}) };
  if (!keyring?.canSeal) {
    throw new ConfigError(
      `Job ${entry.name} is encrypted but no key is configured: set ERRAND_KEY (or \`key\` in the config); \`errand key:generate\` prints one.`,
    );
  }
  return {
    commandName: entry.name,
    command: keyring.seal(JSON.stringify({ command, models, ...(middleware ? { middleware } : {}) }), entry.name),
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
    throw new PayloadError(
      `Job ${payload.displayName} cannot be queued: its payload is ${bytes} bytes, over maxPayloadSize (${limit}).`,
    );
  }
  return text;
}

/** @internal `retryUntil` as unix seconds: a Date as is, seconds counted from `createdAt`, a function called with the job. */
export function resolveRetryUntil(option: JobOptions['retryUntil'], job: object, createdAt: number): number | null {
  const value = typeof option === 'function' ? option(job) : option;
  if (value === undefined) return null;
  // A function's result is seen only now: an invalid Date or NaN would be stored as null (no
  // limit at all), a window past the bound as an instant nothing expects.
  const problem =
    value instanceof Date
      ? Number.isNaN(value.getTime())
        ? 'must be a valid Date, got an invalid Date'
        : undefined
      : numberProblem(value);
  if (problem)
    throw new ConfigError(
      `Job ${jobRegistry.byClass(job.constructor)?.name ?? job.constructor.name}: option \`retryUntil\` (a Date, or seconds after dispatch) ${problem}.`,
    );
  if (value instanceof Date) return Math.floor(value.getTime() / 1000);
  return createdAt + value;
}

/** The name the worker prints: the job's own `displayName()` when it has one (a queued listener names its listener). */
function displayNameOf(job: object, entry: RegisteredJob): string {
  const custom = (job as { displayName?: () => unknown }).displayName;
  const name = typeof custom === 'function' ? custom.call(job) : undefined;
  return typeof name === 'string' && name !== '' ? name : entry.name;
}
