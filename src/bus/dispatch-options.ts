import type { Knex } from 'knex';
import type { JobMiddleware } from '../contracts/job-middleware.js';
import type { JobOptions } from '../job/job-options.js';
import type { CallbackRef, JobPayload } from '../payload/job-payload.js';

/** What a PendingDispatch can set on top of the class's `@Job` options. */
export interface DispatchOptions {
  connection?: string;
  queue?: string;
  /** Seconds from now, or an instant. */
  delay?: number | Date;
  options: Partial<JobOptions>;
  /** Middleware from `through()`, stored in the payload and run after the job's own `middleware()`. */
  middleware?: readonly JobMiddleware<any>[];
  /** Jobs (or pending batches) that run after this one succeeds, in order. */
  chain?: readonly object[];
  /** Where chained jobs without a connection or queue of their own go. */
  chainConnection?: string;
  chainQueue?: string;
  /** Run when a job of the chain fails for good. */
  chainCatch?: CallbackRef[];
  /** true: wait for the ambient transaction; a transaction: wait for it; false: push now. */
  afterCommit?: boolean | Knex.Transaction;
  /** Insert inside this transaction (the outbox pattern). */
  transaction?: Knex.Transaction;
}

/** Where a ready payload goes, and when. */
export interface PayloadTarget {
  connectionName: string;
  queue: string;
  payload: JobPayload;
  delay?: number | Date;
  /** Insert inside this transaction. */
  transaction?: Knex.Transaction;
  /** Push only once this transaction commits; dropped on rollback. */
  afterCommit?: Knex.Transaction;
  /** Called when the job will never be stored: its transaction rolled back, or its deferred push failed. */
  onDropped?: () => unknown;
}
