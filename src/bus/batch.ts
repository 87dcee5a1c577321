import type { BatchRow } from '../contracts/batch-repository.js';
import { runtime } from '../runtime/current.js';
import { addToBatch } from './batch-jobs.js';
import { type BatchOptions, parseBatchOptions } from './batch-options.js';

const toDate = (value: number | string | null): Date | null =>
  value === null || value === undefined ? null : new Date(Number(value) * 1000);

/**
 * A batch as last read from `job_batches`: its counters, state and options. Methods that change
 * it write to the database; `fresh()` reads it again.
 */
export class Batch {
  readonly id: string;
  readonly name: string;
  readonly totalJobs: number;
  readonly pendingJobs: number;
  readonly failedJobs: number;
  /** The uuids of jobs that failed and have not since succeeded. */
  readonly failedJobIds: string[];
  readonly options: BatchOptions;
  readonly createdAt: Date;
  readonly cancelledAt: Date | null;
  readonly finishedAt: Date | null;

  constructor(row: BatchRow) {
    this.id = row.id;
    this.name = row.name;
    this.totalJobs = Number(row.total_jobs);
    this.pendingJobs = Number(row.pending_jobs);
    this.failedJobs = Number(row.failed_jobs);
    this.failedJobIds = JSON.parse(row.failed_job_ids || '[]') as string[];
    this.options = parseBatchOptions(row.options);
    this.createdAt = toDate(row.created_at)!;
    this.cancelledAt = toDate(row.cancelled_at);
    this.finishedAt = toDate(row.finished_at);
  }

  /** Jobs that have run to success or final failure. */
  processedJobs(): number {
    return this.totalJobs - this.pendingJobs;
  }

  /** Percentage of jobs processed, 0–100. */
  progress(): number {
    return this.totalJobs > 0 ? Math.round((this.processedJobs() / this.totalJobs) * 100) : 0;
  }

  /** Every job succeeded (or the batch was cancelled). */
  finished(): boolean {
    return this.finishedAt !== null;
  }

  cancelled(): boolean {
    return this.cancelledAt !== null;
  }

  hasFailures(): boolean {
    return this.failedJobs > 0;
  }

  /**
   * Cancels the batch. Jobs already queued still run: they check `(await this.batch())?.cancelled()`
   * or use the `SkipIfBatchCancelled` middleware, as in Laravel.
   */
  async cancel(): Promise<void> {
    await (await runtime()).queues.batches().cancel(this.id);
  }

  /** Adds jobs (or chains, as arrays) to the batch, also from inside one of its jobs; resolves to the batch re-read. */
  async add(jobs: ReadonlyArray<object | readonly object[]>): Promise<Batch> {
    await addToBatch(this.id, this.options, jobs);
    return this.fresh();
  }

  /** Deletes the batch record (its queued jobs stay queued). */
  async delete(): Promise<void> {
    await (await runtime()).queues.batches().delete(this.id);
  }

  /** The batch read again from the database. */
  async fresh(): Promise<Batch> {
    const batch = await findBatch(this.id);
    if (!batch) throw new Error(`Batch ${this.id} no longer exists.`);
    return batch;
  }

  toJSON() {
    return {
      id: this.id,
      name: this.name,
      totalJobs: this.totalJobs,
      pendingJobs: this.pendingJobs,
      processedJobs: this.processedJobs(),
      progress: this.progress(),
      failedJobs: this.failedJobs,
      failedJobIds: this.failedJobIds,
      createdAt: this.createdAt.toISOString(),
      cancelledAt: this.cancelledAt?.toISOString() ?? null,
      finishedAt: this.finishedAt?.toISOString() ?? null,
    };
  }
}

/** A batch by id, or undefined when there is none (`Bus.findBatch`). */
export async function findBatch(id: string): Promise<Batch | undefined> {
  const row = await (await runtime()).queues.batches().find(id);
  return row ? new Batch(row) : undefined;
}
