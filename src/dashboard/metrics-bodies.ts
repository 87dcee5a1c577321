import { type JobMetricsSample, METRICS_BUCKETS_MS } from '../contracts/metrics-repository.js';
import type { MetricsBody, MetricsSeries, OverviewBody } from './api-types.js';

/** Each range's span and step, seconds: about a hundred points or fewer per chart. */
export const RANGE_STEPS: Record<MetricsBody['range'], { span: number; step: number }> = {
  '1h': { span: 3600, step: 60 },
  '24h': { span: 86_400, step: 900 },
  '7d': { span: 604_800, step: 3600 },
};

/** The periods of a range ending with the one that holds `now` (store clock, unix seconds). */
export function rangeWindow(range: MetricsBody['range'], now: number): { since: number; until: number; step: number } {
  const { span, step } = RANGE_STEPS[range];
  const until = Math.floor(now / step) * step + step;
  return { since: until - span, until, step };
}

/**
 * The bucket bound under which `fraction` of the counted attempts fall, ms (an upper bound: the
 * rollup keeps buckets, not values); the last bound for the overflow bucket; null with none.
 */
export function percentileMs(buckets: readonly number[], fraction: number): number | null {
  const total = buckets.reduce((sum, n) => sum + n, 0);
  if (total === 0) return null;
  const wanted = Math.ceil(total * fraction);
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= wanted) return METRICS_BUCKETS_MS[Math.min(i, METRICS_BUCKETS_MS.length - 1)]!;
  }
  return METRICS_BUCKETS_MS[METRICS_BUCKETS_MS.length - 1]!;
}

function addInto(into: number[], add: readonly number[]): void {
  for (let i = 0; i < add.length; i++) into[i] = (into[i] ?? 0) + add[i]!;
}

/** The series of one queue or job name, from its samples (each on a point of `times`). */
function series(
  connection: string,
  name: string,
  samples: JobMetricsSample[],
  times: number[],
  step: number,
): MetricsSeries {
  const index = new Map(times.map((time, i) => [time, i]));
  const completed = times.map(() => 0);
  const failed = times.map(() => 0);
  const totals = { completed: 0, failed: 0, released: 0 };
  const runtime: number[] = [];
  const wait: number[] = [];
  for (const sample of samples) {
    const at = index.get(sample.minute);
    if (at !== undefined) {
      completed[at]! += sample.completed;
      failed[at]! += sample.failed;
    }
    totals.completed += sample.completed;
    totals.failed += sample.failed;
    totals.released += sample.released;
    addInto(runtime, sample.runtimeBuckets);
    addInto(wait, sample.waitBuckets);
  }
  const minutes = step / 60;
  return {
    connection,
    name,
    throughput: times.map((_, i) => (completed[i]! + failed[i]!) / minutes),
    failureRate: times.map((_, i) => {
      const attempts = completed[i]! + failed[i]!;
      return attempts === 0 ? null : failed[i]! / attempts;
    }),
    totals: {
      ...totals,
      runtimeP50Ms: percentileMs(runtime, 0.5),
      runtimeP95Ms: percentileMs(runtime, 0.95),
      waitP95Ms: percentileMs(wait, 0.95),
    },
  };
}

/** A store's samples, with the connection they are shown under. */
export interface ConnectionSamples {
  readonly connection: string;
  readonly samples: JobMetricsSample[];
}

function grouped(
  stores: readonly ConnectionSamples[],
  keyOf: (sample: JobMetricsSample) => string,
): Map<string, { connection: string; name: string; samples: JobMetricsSample[] }> {
  const groups = new Map<string, { connection: string; name: string; samples: JobMetricsSample[] }>();
  for (const { connection, samples } of stores) {
    for (const sample of samples) {
      const name = keyOf(sample);
      const key = `${connection}\u0000${name}`;
      let group = groups.get(key);
      if (!group) groups.set(key, (group = { connection, name, samples: [] }));
      group.samples.push(sample);
    }
  }
  return groups;
}

/** `GET api/metrics`'s body from the samples of a range, per queue and per job name. */
export function metricsBody(
  range: MetricsBody['range'],
  window: { since: number; until: number; step: number },
  stores: readonly ConnectionSamples[],
): MetricsBody {
  const times: number[] = [];
  for (let t = window.since; t < window.until; t += window.step) times.push(t);
  const build = (keyOf: (sample: JobMetricsSample) => string) =>
    [...grouped(stores, keyOf).values()]
      .map((group) => series(group.connection, group.name, group.samples, times, window.step))
      .sort((a, b) => a.connection.localeCompare(b.connection) || a.name.localeCompare(b.name));
  return {
    range,
    step: window.step,
    since: window.since,
    until: window.until,
    times,
    queues: build((sample) => sample.queue),
    jobs: build((sample) => sample.job),
  };
}

/** The overview's figures from the last hour of per-minute samples ending at `now`. */
export function overviewMetrics(
  stores: readonly ConnectionSamples[],
  now: number,
): Pick<OverviewBody, 'jobsPerMinute' | 'failedLastHour' | 'busiestQueue' | 'slowestQueue'> {
  let recent = 0;
  let failedLastHour = 0;
  const perQueue = new Map<
    string,
    { connection: string; queue: string; completed: number; attempts: number; runtimeMs: number }
  >();
  // The current minute is still filling: the rate is over the five whole minutes before it.
  const current = Math.floor(now / 60) * 60;
  for (const { connection, samples } of stores) {
    for (const sample of samples) {
      failedLastHour += sample.failed;
      if (sample.minute >= current - 300 && sample.minute < current) recent += sample.completed + sample.failed;
      const key = `${connection}\u0000${sample.queue}`;
      let entry = perQueue.get(key);
      if (!entry)
        perQueue.set(key, (entry = { connection, queue: sample.queue, completed: 0, attempts: 0, runtimeMs: 0 }));
      entry.completed += sample.completed;
      entry.attempts += sample.completed + sample.failed + sample.released;
      entry.runtimeMs += sample.runtimeMsSum;
    }
  }
  const queues = [...perQueue.values()];
  const busiest = queues.filter((q) => q.completed > 0).sort((a, b) => b.completed - a.completed)[0];
  const slowest = queues
    .filter((q) => q.attempts > 0)
    .sort((a, b) => b.runtimeMs / b.attempts - a.runtimeMs / a.attempts)[0];
  return {
    jobsPerMinute: recent / 5,
    failedLastHour,
    busiestQueue: busiest
      ? { connection: busiest.connection, queue: busiest.queue, jobsPerMinute: busiest.completed / 60 }
      : null,
    slowestQueue: slowest
      ? { connection: slowest.connection, queue: slowest.queue, runtimeMs: slowest.runtimeMs / slowest.attempts }
      : null,
  };
}
