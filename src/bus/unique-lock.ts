import type { LockStore } from '../contracts/lock-store.js';
import { ConfigError } from '../errors/config-error.js';
import type { JobOptions } from '../job/job-options.js';
import type { RegisteredJob } from '../job/job-registry.js';
import { lockStore } from '../locks/current-lock-store.js';
import type { JobPayload, UniqueLockRef } from '../payload/job-payload.js';

/** What a unique dispatch locks: the key, when it is released, and its TTL (0: none). */
export interface UniqueLockSpec {
  readonly key: string;
  readonly until: UniqueLockRef['until'];
  readonly ttl: number;
}

/** The lock key of a unique job: `errand:unique:{job name}:{unique id}`. */
export function uniqueKey(jobName: string, uniqueId: string | number): string {
  return `errand:unique:${jobName}:${uniqueId}`;
}

/**
 * What a dispatch of `job` must lock, or undefined when the job is not unique. The unique id is
 * the `uniqueId` option (a function of the job, or a value), else the job's own `uniqueId()`
 * method or `uniqueId` property, else '' (one job per class), as Laravel reads it.
 */
export function uniqueLockFor(job: object, entry: RegisteredJob, options: JobOptions): UniqueLockSpec | undefined {
  if (options.unique !== true) return undefined;
  const key = uniqueKey(entry.name, uniqueIdOf(job, entry.name, options.uniqueId));
  return { key, until: options.uniqueUntil ?? 'done', ttl: options.uniqueFor ?? 0 };
}

function uniqueIdOf(job: object, jobName: string, option: JobOptions['uniqueId']): string | number {
  const method = (job as { uniqueId?: unknown }).uniqueId;
  const [value, source] =
    typeof option === 'function'
      ? [option(job), 'the uniqueId option']
      : option !== undefined
        ? [option, 'the uniqueId option']
        : typeof method === 'function'
          ? [method.call(job) as unknown, 'uniqueId()']
          : method !== undefined
            ? [method, 'the uniqueId property']
            : ['', ''];
  if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) return value;
  throw new ConfigError(
    `Job ${jobName}: ${source} must give a string or a finite number, got ${value === null ? 'null' : typeof value}.`,
  );
}

/**
 * Takes the unique lock for a payload, owned by its uuid; when taken, records it in the payload
 * (`unique`) so the worker releases it. False when another job holds the key.
 */
export async function acquireUniqueLock(payload: JobPayload, spec: UniqueLockSpec, store: LockStore): Promise<boolean> {
  if (!(await store.acquire(spec.key, payload.uuid, spec.ttl))) return false;
  payload.unique = { key: spec.key, until: spec.until };
  return true;
}

/**
 * Releases the unique lock a payload holds, if it holds one and still owns it (its uuid is the
 * owner: a lock that expired and was taken by another dispatch is left alone). Resolves to
 * whether a lock was released. Call it when a dispatch's job will never be stored: its push
 * failed, or the transaction it waited for rolled back.
 */
export async function releaseUniqueLock(
  payload: Pick<JobPayload, 'uuid' | 'unique'>,
  store?: LockStore,
): Promise<boolean> {
  if (!payload.unique) return false;
  return (store ?? (await lockStore())).release(payload.unique.key, payload.uuid);
}
