import { randomUUID } from 'node:crypto';
import type { BatchRepository } from '../contracts/batch-repository.js';
import type { FailedJobRecord, FailedJobStore } from '../contracts/failed-job-store.js';
import type { ReservedJob } from '../contracts/reserved-job.js';
import type { FinishingWrites, WorkerQueue } from '../contracts/worker-queue.js';
import type { JobPayload } from '../payload/job-payload.js';
import { releaseAtEnd, type UniqueReleaseDeps } from './unique-release.js';

// A job's final failure, recorded the same way by the worker's processor, by its watchdog thread
// (which fails a job that wedged the event loop) and, for the batch count, by the sync driver.
// This module stays light: the watchdog thread loads it, not the application.

/** The job being failed: its claimed row, its connection, and its payload when that parsed. */
export interface FailingJob {
  readonly reserved: ReservedJob;
  readonly connectionName: string;
  readonly payload: JobPayload | undefined;
}

/** What of the batch repository a job's end needs: its counts. */
export type BatchCounts = Pick<BatchRepository, 'recordFailure' | 'recordSuccess'>;

/** Where a failure is recorded, and how its writes are made. */
export interface FailureRecording extends UniqueReleaseDeps {
  /** The job's queue: its `fail` deletes the row, fenced on the lease, and stores the record. */
  queue: WorkerQueue;
  failer: FailedJobStore;
  /** The batch repository, or undefined when `batching` is not configured; asked only for a batched job. */
  batches: () => BatchCounts | undefined | Promise<BatchCounts | undefined>;
  /**
   * Makes the fenced write (the processor tries it again while the database is unreachable and the
   * lease lives; the watchdog bounds it in time). Default: made once.
   */
  write?: (write: () => Promise<boolean>) => Promise<boolean>;
  /** Makes each of the other writes (the batch count outside the transaction); default as it is. */
  step?: <T>(write: () => Promise<T>) => Promise<T>;
}

/** How a failure was recorded; undefined from `recordFailure` when the lease was lost and nothing changed. */
export interface RecordedFailure {
  /** The failed record as stored. */
  record: FailedJobRecord;
  /** Whether the batch's count was made (or tried), in the failing transaction or just after it. */
  batchCounted: boolean;
}

/**
 * The uuid a failure is recorded under: the payload's (a parsed payload's uuid is checked to be
 * one), else a fresh random one. Never one derived from the row: ids repeat across job tables and
 * after a table is emptied, and failed_jobs.uuid is unique, so a derived one could make a
 * failure impossible to record. Made once per failure, so a retried write stores one record.
 */
function failedRecordUuid(payload: Pick<JobPayload, 'uuid'> | undefined): string {
  return payload?.uuid ?? randomUUID();
}

/** The failed_jobs record of `job`, with the exception text as Laravel stores it. */
export function failedJobRecord(job: FailingJob, exception: string): FailedJobRecord {
  return {
    uuid: failedRecordUuid(job.payload),
    connection: job.connectionName,
    queue: job.reserved.queue,
    payload: job.reserved.payload,
    exception,
  };
}

/** The exception text of a failed record: the stack, as Laravel stores it. */
export function exceptionText(error: Error): string {
  return error.stack ?? `${error.name}: ${error.message}`;
}

/**
 * The batch count to commit with a batched job's finishing write, when the batch repository
 * shares the queue's store: then a job is never deleted uncounted (or counted and left to run again).
 */
export async function batchCountWithin(
  payload: JobPayload | undefined,
  queue: WorkerQueue,
  batches: FailureRecording['batches'],
  kind: 'success' | 'failure',
): Promise<FinishingWrites | undefined> {
  const batchId = payload?.batchId;
  if (!batchId) return undefined;
  const repository = await batches();
  // The one same-store test (Queue.sharesStoreWith): for the database driver, the same
  // connection's pool; two connections that name one database still cannot share a transaction.
  if (!repository || !queue.sharesStoreWith(repository)) return undefined;
  const uuid = payload.uuid;
  return kind === 'success'
    ? (trx) => repository.recordSuccess(batchId, uuid, trx)
    : (trx) => repository.recordFailure(batchId, uuid, trx);
}

/**
 * Counts a batched job's failure on its own, for a job whose failure did not commit it (its batch
 * lives in another store, or it ran on the sync connection). Resolves to true once the count was
 * made or tried: an error is reported and not tried again (a count is not idempotent). False when
 * there is nothing to count in: no batch, or no `batching` configured.
 */
async function countBatchFailure(
  payload: JobPayload | undefined,
  deps: Pick<FailureRecording, 'batches' | 'report' | 'step'>,
): Promise<boolean> {
  const batchId = payload?.batchId;
  if (!batchId) return false;
  try {
    const repository = await deps.batches();
    if (!repository) return false;
    const step = deps.step ?? ((write) => write());
    await step(() => repository.recordFailure(batchId, payload.uuid));
  } catch (error) {
    deps.report(error);
  }
  return true;
}

/**
 * Records a job's final failure: the failed record and the row's delete in one fenced write, the
 * batch's count in the same transaction when it shares the queue's store (else just after), then
 * the job's unique lock (owner-checked: only this job's own; its `processing` lock may already be
 * gone). What runs the application's code (the batch's
 * and chain's callbacks, the job's failed()) is the caller's: the watchdog does not run it.
 */
export async function recordFailure(
  job: FailingJob,
  exception: string,
  deps: FailureRecording,
): Promise<RecordedFailure | undefined> {
  const record = failedJobRecord(job, exception);
  const within = await batchCountWithin(job.payload, deps.queue, deps.batches, 'failure');
  const fail = () => deps.queue.fail(job.reserved, record, deps.failer, within);
  if (!(await (deps.write ? deps.write(fail) : fail()))) return undefined;
  const batchCounted = within !== undefined || (await countBatchFailure(job.payload, deps));
  await releaseAtEnd(job.payload, job.reserved.payload, job, deps);
  return { record, batchCounted };
}
