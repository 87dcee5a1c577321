import type { ReservedJob } from '../contracts/reserved-job.js';
import type { WorkerQueue } from '../contracts/worker-queue.js';
import { longTimeout } from '../runtime/timer-limit.js';
import type { JobProcessor } from './job-processor.js';
import type { PrefetchBuffer } from './prefetch-buffer.js';

/** Finished jobs whose finishing writes may be outstanding at once before no new job starts. */
const MAX_FINISHING = 1000;

/** What a worker's slots are built from. */
export interface SlotsDeps {
  /** How many handlers run at once at most. */
  concurrency: number;
  /** Seconds a slot rests after each job. */
  rest: number;
  processor: Pick<JobProcessor, 'process'>;
  /** Where the jobs come from: it knows when each was claimed, and tells the monitor when one is over. */
  buffer: Pick<PrefetchBuffer, 'claimedAt' | 'forget'>;
  driver: WorkerQueue;
  report: (error: unknown) => void;
  /** A handler finished and its slot is free: the worker starts the next job. */
  freed: () => void;
  /** A job is over, its finishing writes included. */
  settled: () => void;
}

/**
 * Where a worker runs its jobs: each from its start until its finishing writes land, and among
 * them those whose handler still runs, which are what fill the `concurrency` slots. Both are
 * keyed by the claim, not the row id: a row released here may be claimed here again before its
 * first attempt has wound up, and that attempt must not free the second's slot.
 */
export class Slots {
  /** Every job started and not yet finished: its handler, then its finishing writes. */
  private readonly running = new Map<ReservedJob, Promise<void>>();
  /** The jobs whose handler is still running. */
  private readonly busy = new Set<ReservedJob>();
  private ran = 0;

  constructor(private readonly deps: SlotsDeps) {}

  /** How many jobs ran to an end here (a job handed back unstarted does not count). */
  get processed(): number {
    return this.ran;
  }

  /** How many handlers run now. */
  get handlers(): number {
    return this.busy.size;
  }

  /** How many jobs are started and not yet over (handlers and finishing writes). */
  get jobs(): number {
    return this.running.size;
  }

  /** Whether another job may start: a slot is free and the finishing writes keep up. */
  get hasRoom(): boolean {
    return this.busy.size < this.deps.concurrency && !this.backlogged();
  }

  /** Whether the loop need not poll for more jobs: every slot is busy, or the writes lag behind. */
  get full(): boolean {
    return !this.hasRoom;
  }

  /** Starts `job` in a slot; the caller checks `hasRoom` first. */
  start(job: ReservedJob): void {
    this.busy.add(job);
    const task = this.run(job, this.deps.buffer.claimedAt(job)).finally(() => {
      this.running.delete(job);
      this.deps.settled();
    });
    this.running.set(job, task);
  }

  /** Resolves once every started job is over. */
  async settle(): Promise<void> {
    await Promise.allSettled(this.tasks());
  }

  /** Resolves to whether every started job was over within `ms`. */
  async settleWithin(ms: number): Promise<boolean> {
    let cancel: (() => void) | undefined;
    // Stepped: the grace defaults to the timeout, which may be past Node's timer limit.
    const timeout = new Promise<false>((resolve) => (cancel = longTimeout(() => resolve(false), ms)));
    const settled = Promise.allSettled(this.tasks()).then(() => true);
    try {
      return await Promise.race([settled, timeout]);
    } finally {
      cancel?.();
    }
  }

  /** Releases the jobs whose handler ignored the stop signal, so another worker runs them. */
  async releaseStragglers(): Promise<void> {
    // Only jobs whose handler is still running: the others are finishing and must not be put back.
    const jobs = [...this.running.keys()].filter((job) => this.busy.has(job));
    if (jobs.length === 0) return;
    this.deps.report(
      new Error(
        `Jobs ${jobs.map((job) => `#${job.id}`).join(', ')} ignored the stop signal; they are released for another worker.`,
      ),
    );
    for (const job of jobs)
      await this.deps.driver.release(job, 0, job.exceptions).catch((error: unknown) => this.deps.report(error));
  }

  /**
   * Too many finished jobs still wait for their finishing writes (a slow or unreachable
   * database): start no more until they land, so the backlog stays bounded.
   */
  private backlogged(): boolean {
    return this.running.size - this.busy.size >= MAX_FINISHING;
  }

  private async run(job: ReservedJob, claimedAt: number | undefined): Promise<void> {
    // The slot frees as soon as the handler is done: the delete joins the next batched write
    // (group commit) while the next job already runs. The job keeps its lease until it lands.
    const free = () => {
      if (!this.busy.delete(job)) return;
      this.deps.freed();
    };
    let ran = true;
    try {
      ran = (await this.deps.processor.process(job, free, claimedAt)) !== 'handed-back';
    } catch (error) {
      // A finishing write failed (database gone): the job comes back when its lease lapses.
      this.deps.report(error);
    } finally {
      free();
      this.deps.buffer.forget([job]);
      if (ran) this.ran++;
    }
    if (this.deps.rest > 0) await new Promise<void>((resolve) => longTimeout(resolve, this.deps.rest * 1000));
  }

  private tasks(): Promise<void>[] {
    return [...this.running.values()];
  }
}
