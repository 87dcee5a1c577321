import { randomUUID } from 'node:crypto';

import { Batch } from '../bus/batch.js';
import type { InterceptedDispatch } from '../bus/dispatch-interceptor.js';
import { fail } from './job-matching.js';

/** A `Bus.batch(...).dispatch()` that a fake recorded, as `assertBatched` predicates get it. */
export interface PendingBatchFake {
  readonly name: string;
  /** The entries as given: jobs, and arrays of jobs (chains inside the batch). */
  readonly jobs: ReadonlyArray<object | readonly object[]>;
  readonly connection?: string;
  readonly queue?: string;
  readonly allowFailures: boolean;
}

/**
 * @internal The batches a fake (`Bus.fake()` or `Queue.fake()`) recorded instead of storing them,
 * and the assertions both fakes offer about them.
 */
export class RecordedBatches {
  private readonly batches: PendingBatchFake[] = [];

  /** Records a batch dispatch; resolves it to a batch that exists only in memory. */
  record(dispatch: Extract<InterceptedDispatch, { kind: 'batch' }>): Batch {
    const { name, jobs, connection, queue, allowFailures } = dispatch;
    this.batches.push({
      name,
      jobs: [...jobs],
      allowFailures,
      ...(connection ? { connection } : {}),
      ...(queue ? { queue } : {}),
    });
    return fakeBatch(name, jobs.length);
  }

  /** The recorded batches, in order. */
  all(): PendingBatchFake[] {
    return [...this.batches];
  }

  assertBatched(predicate: (batch: PendingBatchFake) => boolean): void {
    if (this.batches.some(predicate)) return;
    fail(
      this.batches.length > 0
        ? `The expected batch was not dispatched: ${this.batches.length} were, none matching the predicate: ${this.describe()}.`
        : 'The expected batch was not dispatched. No batches were dispatched.',
    );
  }

  assertBatchCount(count: number): void {
    if (this.batches.length !== count) fail(`${this.batches.length} batch(es) were dispatched instead of ${count}.`);
  }

  assertNothingBatched(): void {
    if (this.batches.length > 0)
      fail(`${this.batches.length} unexpected batch(es) were dispatched: ${this.describe()}.`);
  }

  private describe(): string {
    return this.batches.map((b) => `${b.name ? `[${b.name}]` : '(unnamed)'} of ${b.jobs.length} job(s)`).join(', ');
  }
}

/** A batch that exists only in memory: what a faked `Bus.batch(...).dispatch()` resolves to. */
function fakeBatch(name: string, size: number): Batch {
  return new Batch({
    id: `fake-${randomUUID()}`,
    name,
    total_jobs: size,
    pending_jobs: size,
    failed_jobs: 0,
    failed_job_ids: '[]',
    options: null,
    cancelled_at: null,
    created_at: Math.floor(Date.now() / 1000),
    finished_at: null,
  });
}
