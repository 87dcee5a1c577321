import {
  emptyMetricsSample,
  type JobMetricsSample,
  METRICS_BUCKETS_MS,
  type MetricsQuery,
  type MetricsRepository,
  type MutableJobMetricsSample,
} from '../../contracts/metrics-repository.js';
import type { RedisClient } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';
import { namingErrors } from './redis-store-error.js';
import { PRUNE_METRICS, RECORD_METRICS } from './scripts/record-metrics.js';

const BUCKETS = METRICS_BUCKETS_MS.length + 1;
const HOUR = 3600;

/**
 * The counters of a sample, by their field names' heads: completed, failed, released, the two
 * sums, then `r<i>` and `w<i>` for the run-time and wait buckets.
 */
const FIELDS = ['c', 'f', 'x', 'rs', 'ws', ...bucketFields('r'), ...bucketFields('w')];

/**
 * The per-minute rollup in Redis hashes under the connection's `{@}` keys (redis-keys.ts): one
 * hash per minute and one per hour, each field a counter of one queue and job (`<counter>|` and
 * the pair as JSON), added to by one script per flush and expiring a retention after its period
 * ends, so Redis prunes them itself. Zero counters are not written: most buckets stay empty.
 * Reads whose step and start are whole hours read the hourly hashes (168 for a week), others the
 * minutes'.
 */
export class RedisMetricsRepository implements MetricsRepository {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    /** Seconds a period's counters are kept after it ends. */
    private readonly retention: number,
  ) {}

  async close(): Promise<void> {
    // The client is the queue's: closing the queue closes it.
  }

  async prune(before: number): Promise<number> {
    const gone = await this.send(() => this.client.run(PRUNE_METRICS, this.indexes(), [this.keys.metrics, before]));
    return Number(gone);
  }

  async read(query: MetricsQuery): Promise<JobMetricsSample[]> {
    const hourly = query.step % HOUR === 0 && query.since % HOUR === 0;
    const [index, head] = hourly ? [this.indexes()[1]!, 'h:'] : [this.indexes()[0]!, 'm:'];
    const periods = (await this.send(() =>
      this.client.command(['ZRANGEBYSCORE', index, String(query.since), `(${query.until}`], index),
    )) as string[];
    // Issued together: the client sends them in one pipeline.
    const hashes = await Promise.all(
      periods.map((period) => {
        const key = `${this.keys.metrics}${head}${period}`;
        return this.send(() => this.client.command(['HGETALL', key], key));
      }),
    );
    const samples = new Map<string, MutableJobMetricsSample>();
    // Each minute's hash repeats the same few queue/job pairs in every field: parsing each pair
    // once instead of once per field is most of a day-long read's CPU.
    const pairs = new Map<string, [queue: string, job: string]>();
    periods.forEach((period, i) => {
      const start = Number(period);
      const minute = start - ((start - query.since) % query.step);
      for (const [field, value] of entriesOf(hashes[i])) {
        const bar = field.indexOf('|');
        const pairText = field.slice(bar + 1);
        let pair = pairs.get(pairText);
        if (!pair) pairs.set(pairText, (pair = JSON.parse(pairText) as [string, string]));
        const [queue, job] = pair;
        if ((query.queue !== undefined && queue !== query.queue) || (query.job !== undefined && job !== query.job))
          continue;
        const id = `${minute}|${pairText}`;
        let sample = samples.get(id);
        if (!sample) samples.set(id, (sample = emptyMetricsSample(minute, queue, job)));
        add(sample, field.slice(0, bar), Number(value));
      }
    });
    return [...samples.values()].sort(
      (a, b) => a.minute - b.minute || compare(a.queue, b.queue) || compare(a.job, b.job),
    );
  }

  async record(samples: readonly JobMetricsSample[]): Promise<void> {
    if (samples.length === 0) return;
    const args: Array<string | number> = [this.keys.metrics, this.retention];
    const byMinute = new Map<number, Array<string | number>>();
    for (const sample of samples) {
      let fields = byMinute.get(sample.minute);
      if (!fields) byMinute.set(sample.minute, (fields = []));
      const pair = JSON.stringify([sample.queue, sample.job]);
      countersOf(sample).forEach((amount, i) => {
        if (amount !== 0) fields.push(`${FIELDS[i]}|${pair}`, amount);
      });
    }
    for (const [minute, fields] of byMinute) args.push(minute, fields.length / 2, ...fields);
    await this.send(() => this.client.run(RECORD_METRICS, this.indexes(), args));
  }

  private indexes(): [string, string] {
    return [`${this.keys.metrics}minutes`, `${this.keys.metrics}hours`];
  }

  private send<T>(call: () => Promise<T>): Promise<T> {
    return namingErrors('The metrics rollup', call);
  }
}

function bucketFields(head: string): string[] {
  return Array.from({ length: BUCKETS }, (_, i) => `${head}${i}`);
}

/** A sample's counters in FIELDS order; sums in whole milliseconds (HINCRBY adds integers). */
function countersOf(sample: JobMetricsSample): number[] {
  for (const name of ['runtimeBuckets', 'waitBuckets'] as const) {
    if (sample[name].length !== BUCKETS)
      throw new RangeError(`A metrics sample's ${name} must hold ${BUCKETS} counts, got ${sample[name].length}.`);
  }
  return [
    sample.completed,
    sample.failed,
    sample.released,
    Math.round(sample.runtimeMsSum),
    Math.round(sample.waitMsSum),
    ...sample.runtimeBuckets,
    ...sample.waitBuckets,
  ];
}

function add(sample: MutableJobMetricsSample, counter: string, amount: number): void {
  if (counter === 'c') sample.completed += amount;
  else if (counter === 'f') sample.failed += amount;
  else if (counter === 'x') sample.released += amount;
  else if (counter === 'rs') sample.runtimeMsSum += amount;
  else if (counter === 'ws') sample.waitMsSum += amount;
  else if (counter[0] === 'r') sample.runtimeBuckets[Number(counter.slice(1))]! += amount;
  else if (counter[0] === 'w') sample.waitBuckets[Number(counter.slice(1))]! += amount;
}

/** HGETALL's reply as pairs, whether the client gives an object or a flat list. */
function entriesOf(reply: unknown): Array<[string, string]> {
  if (Array.isArray(reply)) {
    const pairs: Array<[string, string]> = [];
    for (let i = 0; i < reply.length; i += 2) pairs.push([String(reply[i]), String(reply[i + 1])]);
    return pairs;
  }
  return Object.entries((reply ?? {}) as Record<string, string>);
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
