import type { LockStore } from '../contracts/lock-store.js';
import { lockStoreWithin } from '../drivers/connect.js';
import { UniqueJobSkipped } from '../events/unique-job-skipped.js';
import { events, report, runtime } from '../runtime/current.js';
import type { PayloadTarget } from './dispatch-options.js';
import { acquireUniqueLock, releaseUniqueLock, type UniqueLockSpec } from './unique-lock.js';

/**
 * Pushes a unique job: takes its lock first (owned by the payload's uuid), and when another job
 * holds it pushes nothing, emits `UniqueJobSkipped` and resolves to null. A lock taken for a job
 * that then is never stored (the push failed, or the transaction it waited for rolled back) is
 * released at once, not left to `uniqueFor` (Laravel #48483).
 */
export async function sendUnique(
  spec: UniqueLockSpec,
  target: PayloadTarget,
  job: object,
  jobName: string,
  send: (target: PayloadTarget) => Promise<string | null>,
): Promise<string | null> {
  const locks = (await runtime()).queues.locks();
  const store = lockStoreWithin(locks, target.transaction ?? target.afterCommit);
  if (!(await acquireUniqueLock(target.payload, spec, store))) {
    if (events.has(UniqueJobSkipped)) {
      const holder = await store.owner(spec.key);
      await events.emit(new UniqueJobSkipped(target.connectionName, target.queue, job, jobName, spec.key, holder));
    }
    return null;
  }
  const dropped = target.onDropped;
  const onDropped = async () => {
    // The transaction has ended by now, so the lock's own connection is free (a lock taken inside
    // the transaction is already gone with it; this then deletes nothing).
    await releaseQuietly(target, locks);
    await dropped?.();
  };
  try {
    return await send({ ...target, onDropped });
  } catch (error) {
    await releaseQuietly(target, store);
    throw error;
  }
}

async function releaseQuietly(target: PayloadTarget, store: LockStore): Promise<void> {
  try {
    await releaseUniqueLock(target.payload, store);
  } catch (error) {
    // The dispatch's own outcome matters more; the lock still expires after uniqueFor, if set.
    report(error);
  }
}
