import type { Knex } from 'knex';

import type { FailedJobRecord, FailedJobStore } from './failed-job-store.js';
import type { ReservedJob } from './reserved-job.js';

/** One job to store: its encoded payload, the queue and when it becomes available. */
export interface PushRequest {
  readonly queue: string;
  readonly payload: string;
  /** Seconds from now (database clock), or an absolute instant. Absent: available at once. */
  readonly delay?: number | Date;
  /**
   * The application's own knex transaction to insert in (database connections only): the job
   * commits or rolls back with the application's data.
   */
  readonly transaction?: Knex.Transaction;
}

/** Writes committed in the same transaction as a job's finishing write. */
export type FinishingWrites = (trx: Knex.Transaction) => Promise<void>;

/**
 * What a queue connection's driver does. This seam is internal and may change in minor versions
 * until it settles; members are kept in alphabetical order.
 */
export interface QueueDriver {
  /** The connection name from the configuration. */
  readonly connectionName: string;
  /** Stores many jobs in one statement; resolves to their ids in input order. */
  bulk(requests: readonly PushRequest[]): Promise<string[]>;
  /** Claims up to `limit` available jobs of one queue under the lease token. */
  claim(queue: string, limit: number, leaseToken: string): Promise<ReservedJob[]>;
  /** Deletes every job of the queue, reserved ones too; resolves to how many. */
  clear(queue: string): Promise<number>;
  /** Closes the connection pool. */
  close(): Promise<void>;
  /** The queue used when a job names none. */
  readonly defaultQueue: string;
  /**
   * True when `push` runs the job here and now instead of storing it (the sync driver): work
   * after a commit that would run application code waits until the transaction lets its
   * connection go.
   */
  readonly runsJobsInline?: boolean;
  /**
   * Deletes a finished job if this worker still holds its lease; false when it did not. `within`
   * holds writes that must commit with the delete (a batch's count); callers pass it only to a
   * database driver, for tables in the same database.
   */
  delete(job: ReservedJob, within?: FinishingWrites): Promise<boolean>;
  /**
   * Deletes many finished jobs of one lease holder in one statement; resolves to the ids that
   * were still held (and are now gone).
   */
  deleteMany(jobs: readonly ReservedJob[]): Promise<Set<string>>;
  /**
   * Ends a job that failed for good: records it in the failed-job store and deletes the row, in
   * one transaction when the store lives in the same database. False when the lease was lost
   * (and then nothing was recorded).
   */
  fail(job: ReservedJob, record: FailedJobRecord, store: FailedJobStore, within?: FinishingWrites): Promise<boolean>;
  /** Stores one job; resolves to its id. */
  push(request: PushRequest): Promise<string>;
  /** Puts a job back, available again after `delaySeconds`, recording its exception count. */
  release(job: ReservedJob, delaySeconds: number, exceptions: number): Promise<boolean>;
  /** Jobs of the queue not yet finished (pending, delayed and reserved). */
  size(queue: string): Promise<number>;
  /**
   * Gives back jobs claimed but never started (attempt not counted), claimable again after
   * `delaySeconds`; resolves to how many were still held.
   */
  unclaim(jobs: readonly ReservedJob[], delaySeconds?: number): Promise<number>;
}
