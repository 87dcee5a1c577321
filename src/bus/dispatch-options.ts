import type { Knex } from 'knex';
import type { JobMiddleware } from '../contracts/job-middleware.js';
import type { JobOptions } from '../job/job-options.js';
import type { CallbackRef } from '../payload/job-payload.js';

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
