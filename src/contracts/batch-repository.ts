import type { StoreTransaction } from './queue.js';

/** A batch as the repository keeps it, in the column names of Laravel's `job_batches`. */
export interface BatchRow {
  id: string;
  name: string;
  total_jobs: number;
  pending_jobs: number;
  failed_jobs: number;
  /** A JSON array of the uuids of the batch's jobs that failed and have not succeeded since. */
  failed_job_ids: string;
  options: string | null;
  cancelled_at: number | string | null;
  created_at: number | string;
  finished_at: number | string | null;
}

/** The callbacks whose single run the repository decides. */
export type ClaimedCallback = 'then' | 'catch' | 'finally';

/** Which batches `queue:prune-batches` removes, by age in hours. */
export interface PruneBatches {
  /** Finished batches older than this. */
  finishedHours: number;
  /** Unfinished batches older than this (not pruned when undefined). */
  unfinishedHours?: number;
  /** Cancelled batches older than this (not pruned when undefined). */
  cancelledHours?: number;
}

/**
 * Where batches are recorded (`batching` in the config; Laravel's `BatchRepository`). Every
 * counter changes atomically on its own, judged on the store's clock. A `trx` argument is a store
 * transaction of a queue for which `sharesStoreWith(repository)` is true: the change then commits
 * or rolls back with that transaction's other writes. Members are kept in alphabetical order.
 */
export interface BatchRepository {
  /** Counts `n` more jobs (negative: takes them back off); a finished batch that gets more is unfinished again. */
  addJobs(id: string, n: number, trx?: StoreTransaction): Promise<void>;
  /** Cancels a batch; true only for the call that cancelled it. */
  cancel(id: string): Promise<boolean>;
  /**
   * Takes the one right to run a batch's `kind` callback: true for exactly one caller, once the
   * counters make it due. Taking `then` also marks the batch finished.
   */
  claimCallback(id: string, kind: ClaimedCallback): Promise<boolean>;
  /** Deletes one batch; false when there was none. */
  delete(id: string): Promise<boolean>;
  /** One batch, or undefined. */
  find(id: string): Promise<BatchRow | undefined>;
  /** Batches, newest first, `limit` at a time, before a given id for paging. */
  list(limit: number, before?: string): Promise<BatchRow[]>;
  /** Deletes old batches; resolves to how many. */
  prune(prune: PruneBatches): Promise<number>;
  /** Counts one job failed and lists its uuid once. */
  recordFailure(id: string, uuid: string, trx?: StoreTransaction): Promise<void>;
  /** Counts one job done; a job that had failed before and now succeeded leaves the failed list. */
  recordSuccess(id: string, uuid: string, trx?: StoreTransaction): Promise<void>;
  /** Stores a new batch with no jobs yet. */
  store(batch: { id: string; name: string; options: string }): Promise<void>;
  /** Runs `work` in one transaction of the repository's store, committed when it resolves. */
  transaction<T>(work: (trx: StoreTransaction) => Promise<T>): Promise<T>;
}
