import type { CallbackRef } from '../payload/job-payload.js';
import { runtime } from '../runtime/current.js';
import { Batch } from './batch.js';
import { type BatchEntries, BatchPushError, pushBatchJobs } from './batch-jobs.js';
import type { BatchOptions } from './batch-options.js';
import { settle } from './batch-progress.js';
import { invokeCallbacks } from './callbacks.js';
import { orderedId } from './ordered-id.js';

/** A batch frozen for dispatch: its jobs encoded, its callbacks resolved to stored references. */
export interface BatchSpec {
  name: string;
  options: BatchOptions;
  jobs: BatchEntries;
  /** Run after the batch is stored, before its jobs are pushed. */
  before: CallbackRef[];
}

/**
 * Stores the batch, runs its `before` callbacks, then pushes its jobs. If the push fails the
 * batch record is removed again, so no batch waits for jobs that were never queued.
 */
export async function dispatchBatch(spec: BatchSpec): Promise<Batch> {
  const repository = (await runtime()).queues.batches();
  const id = orderedId();
  await repository.store({ id, name: spec.name, options: JSON.stringify(spec.options) });
  const stored = new Batch((await repository.find(id))!);
  const where = { batchId: id, connection: spec.options.connection, queue: spec.options.queue };
  await invokeCallbacks(spec.before, { args: [stored], ...where });
  try {
    await pushBatchJobs(id, spec.options, spec.jobs);
  } catch (error) {
    // Jobs already queued keep their batch; only a batch with none is removed again.
    if (!(error instanceof BatchPushError)) await repository.delete(id).catch(() => undefined);
    throw error;
  }
  const row = await repository.find(id);
  // With the sync driver the jobs already ran, and a `then` callback may have deleted the batch.
  if (!row) return stored;
  const batch = new Batch(row);
  // An empty batch has nothing to wait for: it is done at once.
  if (batch.totalJobs === 0) await settle(batch);
  return batch;
}
