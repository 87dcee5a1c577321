import { setTimeout as sleep } from 'node:timers/promises';
import type { ReservedJob } from '../contracts/reserved-job.js';
import type { WorkerQueue } from '../contracts/worker-queue.js';
import { DatabaseUnreachableError } from '../errors/database-unreachable-error.js';

const MAX_BATCH = 500;
/** Waits between tries while the database cannot be reached: quick at first, then every 5 s. */
const RETRY_DELAYS_MS = [100, 250, 500, 1000, 2000, 5000];
/** Tries for a delete that failed for a reason other than an unreachable database. */
const OTHER_ERROR_TRIES = 3;
/** How long a stopping worker keeps trying to record finished jobs before it gives up. */
export const DRAIN_PATIENCE_MS = 15_000;

/**
 * Runs a finishing write (a failure recorded, a release), trying again with the deletes' back-off
 * while the database cannot be reached: given up, the job would stay reserved until its lease
 * lapses and then run again, or be failed as "attempted too many times" with its real reason lost.
 * The tries go on while the job's lease lives. Once `giveUp` has aborted (a stopping worker out of
 * patience), or `leaseLost` says the lease is gone (the worker was presumed dead and its jobs were
 * taken back: the write could only be fenced off), it tries once more, at once, and then gives up
 * with the last error.
 */
export async function retryWhileUnreachable<T>(
  write: () => Promise<T>,
  giveUp?: AbortSignal,
  leaseLost?: () => boolean,
): Promise<T> {
  const ending = () => giveUp?.aborted === true || leaseLost?.() === true;
  for (let attempt = 0, last = false; ; attempt++) {
    try {
      return await write();
    } catch (error) {
      if (!(error instanceof DatabaseUnreachableError) || last) throw error;
      last = ending();
      if (last) continue;
      await sleep(RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)], undefined, { signal: giveUp }).catch(
        () => undefined,
      );
      // Given up or lost during the wait: the try after it is the last one, not one of two.
      last = ending();
    }
  }
}

type Entry = { job: ReservedJob; resolve: (held: boolean) => void; reject: (error: unknown) => void };

/**
 * Deletes finished jobs in batches without adding latency: the deletes asked for in one turn of
 * the event loop go out together at the end of it, and those that arrive while a statement is in
 * flight go out together in the next one (group commit). Each caller learns whether its own row was still held.
 *
 * A job that ran must not run again because its delete met a dropped connection: while the
 * database is unreachable the batch is tried again (the jobs stay leased to this live worker),
 * and only a stopping worker gives up, after a while, reporting the error. A job whose lease is
 * found lost meanwhile (`leaseLost`: its worker was presumed dead and its jobs taken back) leaves
 * the batch as lost: its delete could only be fenced off, and the job is another worker's now.
 */
export class Finisher {
  private queue: Entry[] = [];
  private flushing: Promise<void> | undefined;
  private giveUpAt = Infinity;

  constructor(
    private readonly driver: WorkerQueue,
    private readonly drainPatienceMs = DRAIN_PATIENCE_MS,
    private readonly leaseLost: (job: ReservedJob) => boolean = () => false,
  ) {}

  /** Deletes one finished job; resolves to false when its lease had been lost. */
  delete(job: ReservedJob): Promise<boolean> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      // One turn of the event loop first: the jobs finishing in this turn (all the slots, with
      // no-op or synchronous handlers, and every job on SQLite, whose driver answers at once)
      // share the statement. It costs microseconds, not a round trip.
      this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
    });
  }

  /** Resolves once every delete asked for so far has landed (or, with the database gone, been given up). */
  async drain(): Promise<void> {
    this.giveUpAt = Math.min(this.giveUpAt, Date.now() + this.drainPatienceMs);
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH);
        await this.deleteBatch(batch);
      }
    } finally {
      this.flushing = undefined;
    }
  }

  private async deleteBatch(batch: Entry[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const held = await this.driver.deleteMany(batch.map((entry) => entry.job));
        for (const entry of batch) entry.resolve(held.has(entry.job.id));
        return;
      } catch (error) {
        const delay = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)]!;
        // Any other error gets a few quick tries too: the row stays reserved (and runs again after
        // its lease) if the delete never lands, so giving up early costs a duplicate.
        const retryable = error instanceof DatabaseUnreachableError || attempt < OTHER_ERROR_TRIES - 1;
        if (!retryable || Date.now() + delay > this.giveUpAt) {
          for (const entry of batch) entry.reject(error);
          return;
        }
        if (error instanceof DatabaseUnreachableError) {
          // The sweep that took these jobs back freed their rows: a delete now could only be fenced off.
          const lost = batch.filter((entry) => this.leaseLost(entry.job));
          for (const entry of lost) entry.resolve(false);
          if (lost.length > 0) batch = batch.filter((entry) => !lost.includes(entry));
          if (batch.length === 0) return;
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }
}
