import {
  emptyMetricsSample,
  type JobMetricsSample,
  METRICS_BUCKETS_MS,
  type MetricsRepository,
  type MutableJobMetricsSample,
} from '../contracts/metrics-repository.js';
import { MissingTableError } from '../errors/missing-table-error.js';

/** How an attempt ended, as the rollup counts it. */
export type MetricsOutcome = 'completed' | 'failed' | 'released';

/** What the job processor tells the rollup about each attempt it ends. */
export interface MetricsCounter {
  /** One attempt of `job` on `queue` ended; `waitMs` is undefined when the store did not say. */
  count(queue: string, job: string, outcome: MetricsOutcome, runtimeMs: number, waitMs: number | undefined): void;
}

/** A worker's counts of one minute, queue and job, added to until flushed. */
type Cell = MutableJobMetricsSample;

/** How often counts are added to the store. */
export const METRICS_FLUSH_MS = 5000;
/** How often at most a worker deletes the minutes past the retention. */
const PRUNE_EVERY_MS = 3_600_000;
/** Samples kept for the next flush while the store refuses them; the oldest go first past this. */
const MAX_UNSENT = 10_000;

/**
 * A worker's share of the per-minute rollup (decision 0064): each ended attempt adds to counters
 * in memory (a map lookup and a few increments, no allocation but one cell per new minute, queue
 * and job), and every METRICS_FLUSH_MS, and at stop, what accumulated goes to the store in one
 * write. The flushing worker also prunes minutes past the retention, at most hourly. Minutes are
 * the worker's own clock: a sample's minute needs no round trip, and hosts' clocks agree far more
 * closely than a minute.
 */
export class MetricsRecorder implements MetricsCounter {
  private readonly cells = new Map<string, Map<string, Cell>>();
  /** Cells of earlier minutes, waiting for the next flush. */
  private ended: Cell[] = [];
  /** Samples a failed flush could not write, tried again with the next. */
  private unsent: JobMetricsSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> | undefined;
  private nextPruneAt: number;
  /** Set when the store has no rollup table: nothing more is counted. */
  private off = false;

  constructor(
    private readonly repository: MetricsRepository,
    private readonly options: {
      /** Hours a minute is kept. */
      readonly retention: number;
      readonly report: (error: unknown) => void;
      readonly flushMs?: number;
      readonly now?: () => number;
    },
  ) {
    // Spread over the first hour, so workers started together do not all prune at once.
    this.nextPruneAt = this.now() + Math.random() * PRUNE_EVERY_MS;
  }

  count(queue: string, job: string, outcome: MetricsOutcome, runtimeMs: number, waitMs: number | undefined): void {
    if (this.off) return;
    const minute = Math.floor(this.now() / 60_000) * 60;
    let jobs = this.cells.get(queue);
    if (!jobs) this.cells.set(queue, (jobs = new Map()));
    let cell = jobs.get(job);
    if (!cell || cell.minute !== minute) {
      if (cell) this.ended.push(cell);
      jobs.set(job, (cell = emptyMetricsSample(minute, queue, job)));
    }
    if (outcome === 'completed') cell.completed++;
    else if (outcome === 'failed') cell.failed++;
    else cell.released++;
    cell.runtimeMsSum += runtimeMs;
    cell.runtimeBuckets[bucketOf(runtimeMs)]!++;
    if (waitMs !== undefined) {
      cell.waitMsSum += waitMs;
      cell.waitBuckets[bucketOf(waitMs)]!++;
    }
  }

  /** Flushes every METRICS_FLUSH_MS until stop(); the timer keeps no process alive. */
  start(): void {
    this.timer ??= setInterval(() => void this.flush(), this.options.flushMs ?? METRICS_FLUSH_MS).unref();
  }

  /** Stops the timer and writes what is left. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flush();
  }

  /**
   * Adds what accumulated to the store in one write (a flush already under way is waited for
   * first), then prunes when an hour has passed since the last prune. A store that refuses keeps
   * the counts for the next flush; the error goes to `report`.
   */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  private async write(): Promise<void> {
    if (this.off) return;
    const samples = this.take();
    if (samples.length > 0) {
      try {
        await this.repository.record(samples);
      } catch (error) {
        if (error instanceof MissingTableError) {
          // Not migrated since upgrading: said once, then this worker counts nothing rather than
          // repeat the error every few seconds. Its jobs are unaffected.
          this.off = true;
          this.options.report(
            new MissingTableError(
              `${error.message} The metrics rollup is off for this worker until it restarts (set metrics.enabled to false to leave it off).`,
              { cause: error },
            ),
          );
          return;
        }
        this.unsent = samples.slice(-MAX_UNSENT);
        this.options.report(error);
        return;
      }
    }
    if (this.now() >= this.nextPruneAt) {
      this.nextPruneAt = this.now() + PRUNE_EVERY_MS;
      const before = Math.floor(this.now() / 1000) - this.options.retention * 3600;
      await this.repository.prune(before - (before % 60)).catch(this.options.report);
    }
  }

  /** Everything counted since the last flush, as samples; the counters start again from zero. */
  private take(): JobMetricsSample[] {
    const samples = this.unsent;
    this.unsent = [];
    for (const cell of this.ended) samples.push(cell);
    this.ended = [];
    for (const jobs of this.cells.values()) {
      for (const [job, cell] of jobs) {
        if (cell.completed + cell.failed + cell.released === 0) continue;
        samples.push(cell);
        jobs.set(job, emptyMetricsSample(cell.minute, cell.queue, job));
      }
    }
    return samples;
  }

  private now(): number {
    return this.options.now ? this.options.now() : Date.now();
  }
}

/** The bucket of `ms`: the first whose upper bound it does not pass, else the last (above every bound). */
function bucketOf(ms: number): number {
  let i = 0;
  while (i < METRICS_BUCKETS_MS.length && ms > METRICS_BUCKETS_MS[i]!) i++;
  return i;
}
