/**
 * Upper bounds, in milliseconds, of the histogram buckets kept for run times and waits; one more
 * bucket counts everything above the last bound. Fixed, so rows written by any worker add up.
 */
export const METRICS_BUCKETS_MS: readonly number[] = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 30_000, 60_000, 300_000,
];

/**
 * What the workers of one queue and job name did in one period (a minute when written; the
 * query's step when read). Counts add up across workers and periods.
 */
export interface JobMetricsSample {
  /** The period's start, unix seconds, a multiple of 60. */
  readonly minute: number;
  readonly queue: string;
  /** The job's registered (display) name. */
  readonly job: string;
  /** Attempts that finished the job. */
  readonly completed: number;
  /** Attempts that failed the job for good. */
  readonly failed: number;
  /** Attempts that put the job back for another try (a throw with tries left, a release). */
  readonly released: number;
  /** Sum of the attempts' run times, milliseconds. */
  readonly runtimeMsSum: number;
  /** Attempts by run time: `METRICS_BUCKETS_MS.length + 1` counts. */
  readonly runtimeBuckets: readonly number[];
  /** Sum of the waits from available to claimed, milliseconds. */
  readonly waitMsSum: number;
  /** Attempts by wait: `METRICS_BUCKETS_MS.length + 1` counts. */
  readonly waitBuckets: readonly number[];
}

/** A sample being added up (by a worker before its flush, or by a read summing periods). */
export type MutableJobMetricsSample = {
  -readonly [K in keyof JobMetricsSample]: JobMetricsSample[K];
} & { runtimeBuckets: number[]; waitBuckets: number[] };

/** A sample of `minute`, `queue` and `job` with every count at zero. */
export function emptyMetricsSample(minute: number, queue: string, job: string): MutableJobMetricsSample {
  const buckets = METRICS_BUCKETS_MS.length + 1;
  return {
    minute,
    queue,
    job,
    completed: 0,
    failed: 0,
    released: 0,
    runtimeMsSum: 0,
    runtimeBuckets: new Array<number>(buckets).fill(0),
    waitMsSum: 0,
    waitBuckets: new Array<number>(buckets).fill(0),
  };
}

/** A range of the rollup, summed per `step` seconds (a multiple of 60) and per queue and job. */
export interface MetricsQuery {
  /** Unix seconds, inclusive. */
  readonly since: number;
  /** Unix seconds, exclusive. */
  readonly until: number;
  readonly step: number;
  readonly queue?: string;
  readonly job?: string;
}

/**
 * The per-minute rollup of finished attempts that workers add to as they go (no snapshot command
 * to schedule) and that the dashboard charts. Adds are commutative: many workers add to the same
 * minute. This seam is internal and may change in minor versions; members are kept in
 * alphabetical order.
 */
export interface MetricsRepository {
  close(): Promise<void>;
  /** Deletes the periods that started before `before` (unix seconds); resolves to how many rows or keys went. */
  prune(before: number): Promise<number>;
  /** Samples of the range, one per step, queue and job that saw any attempt, ordered by minute. */
  read(query: MetricsQuery): Promise<JobMetricsSample[]>;
  /** Adds each sample to its minute, queue and job (creating it when new). */
  record(samples: readonly JobMetricsSample[]): Promise<void>;
}
