import type { LockStore } from '../contracts/lock-store.js';
import type { UniqueLockRef } from '../payload/job-payload.js';
import { uniqueOfRawPayload } from '../payload/unique-payload.js';

/** What releasing a job's unique lock needs: the store (resolved when first needed) and where errors go. */
export interface UniqueReleaseDeps {
  locks: () => Pick<LockStore, 'release'> | Promise<Pick<LockStore, 'release'>>;
  report: (error: unknown) => void;
}

type Holder = { uuid: string; unique?: UniqueLockRef };

// Jobs whose 'processing' lock was already released before handle(), so their end does not ask again.
const releasedEarly = new WeakSet<object>();

/**
 * For a job unique until processing: a hook that releases its lock just before handle() runs (after
 * every middleware, so a job a middleware releases back keeps it). Undefined for other jobs.
 * `attempt` identifies this run of the job (the worker's job object).
 */
export function releaseBeforeHandle(
  payload: Holder,
  attempt: object,
  deps: UniqueReleaseDeps,
): (() => Promise<void>) | undefined {
  if (payload.unique?.until !== 'processing') return undefined;
  return async () => {
    releasedEarly.add(attempt);
    await releaseOwned(payload, deps);
  };
}

/**
 * Releases a job's unique lock once it has ended for good (deleted after success or by its own
 * choice, or failed for good), never after a release back to the queue. Only the owner's (the
 * payload uuid's) lock is released: one that expired and was taken by a newer dispatch is left
 * alone. A payload that could not be parsed still names its lock when its `unique` and `uuid`
 * are readable.
 */
export async function releaseAtEnd(
  payload: Holder | undefined,
  rawPayload: string,
  attempt: object,
  deps: UniqueReleaseDeps,
): Promise<void> {
  if (releasedEarly.has(attempt)) return;
  const holder = payload ?? uniqueOfRawPayload(rawPayload);
  if (holder?.unique) await releaseOwned(holder, deps);
}

async function releaseOwned(holder: Holder, deps: UniqueReleaseDeps): Promise<void> {
  try {
    await (await deps.locks()).release(holder.unique!.key, holder.uuid);
  } catch (error) {
    // The job's outcome is already written; a lock left behind still expires after uniqueFor, if set.
    deps.report(error);
  }
}
