import type { Knex } from 'knex';

import { type JobMetricsSample, METRICS_BUCKETS_MS, type MetricsQuery } from '../../../contracts/metrics-repository.js';
import { dialect, type Engine } from '../dialect.js';

/** Where the rollup lives: the knex of its connection, its engine and the table. */
export interface MetricsTable {
  readonly knex: Knex;
  readonly engine: Engine;
  readonly table: string;
}

const BUCKETS = METRICS_BUCKETS_MS.length + 1;
const RUNTIME_BUCKETS = Array.from({ length: BUCKETS }, (_, i) => `runtime_${i}`);
const WAIT_BUCKETS = Array.from({ length: BUCKETS }, (_, i) => `wait_${i}`);
/** Every column a sample adds to, in the order `values` gives them. */
const ADDED = ['completed', 'failed', 'released', 'runtime_ms_sum', 'wait_ms_sum', ...RUNTIME_BUCKETS, ...WAIT_BUCKETS];
const HOUR = 3600;

/** One tier of the rollup: the minute rows in `<table>`, the hour rows in `<table>_hours` (migration 0014). */
interface Tier {
  readonly table: string;
  /** The period column: `minute` or `hour`, unix seconds at the period's start. */
  readonly period: 'minute' | 'hour';
}

function tiers(table: string): { minutes: Tier; hours: Tier } {
  return { minutes: { table, period: 'minute' }, hours: { table: `${table}_hours`, period: 'hour' } };
}

/**
 * Rows per statement: 42 bound values a row keeps a statement far below every engine's limit on
 * bound parameters (SQLite's is the lowest, 32,766); a flush rarely holds more than a few rows.
 */
const ROWS_PER_STATEMENT = 200;

/**
 * Adds each sample to its minute row and to its hour row, creating rows that are new, in one
 * transaction (one statement per 200 rows of each tier): a reader never sees a flush in one tier
 * and not the other.
 */
export async function recordMetrics(metrics: MetricsTable, samples: readonly JobMetricsSample[]): Promise<void> {
  const { minutes, hours } = tiers(metrics.table);
  const hourly = new Map<string, JobMetricsSample>();
  for (const sample of samples) {
    const hour = Math.floor(sample.minute / HOUR) * HOUR;
    const key = JSON.stringify([hour, sample.queue, sample.job]);
    const into = hourly.get(key);
    hourly.set(key, into ? addSamples(into, sample) : { ...sample, minute: hour });
  }
  await metrics.knex.transaction(async (trx) => {
    // Minutes before hours in every flush, each in key order: two workers' upserts lock shared
    // rows in the same order and cannot deadlock.
    await upsert(trx, metrics.engine, minutes, samples);
    await upsert(trx, metrics.engine, hours, [...hourly.values()]);
  });
}

async function upsert(knex: Knex, engine: Engine, tier: Tier, samples: readonly JobMetricsSample[]): Promise<void> {
  const keys = [tier.period, 'queue', 'job'];
  const all = [...keys, ...ADDED];
  const row = `(${all.map(() => '?').join(', ')})`;
  const columns = all.map((c) => dialect.quote(engine, c)).join(', ');
  const adding = dialect.addingUpsertSql(engine, tier.table, keys, ADDED);
  const sorted = [...samples].sort((a, b) => a.minute - b.minute || compare(a.queue, b.queue) || compare(a.job, b.job));
  for (let start = 0; start < sorted.length; start += ROWS_PER_STATEMENT) {
    const chunk = sorted.slice(start, start + ROWS_PER_STATEMENT);
    const bindings: Array<string | number> = [tier.table];
    for (const sample of chunk) bindings.push(...values(sample));
    await knex.raw(`insert into ?? (${columns}) values ${chunk.map(() => row).join(', ')} ${adding}`, bindings);
  }
}

function addSamples(a: JobMetricsSample, b: JobMetricsSample): JobMetricsSample {
  const add = (x: readonly number[], y: readonly number[]) => x.map((n, i) => n + (y[i] ?? 0));
  return {
    ...a,
    completed: a.completed + b.completed,
    failed: a.failed + b.failed,
    released: a.released + b.released,
    runtimeMsSum: a.runtimeMsSum + b.runtimeMsSum,
    runtimeBuckets: add(a.runtimeBuckets, b.runtimeBuckets),
    waitMsSum: a.waitMsSum + b.waitMsSum,
    waitBuckets: add(a.waitBuckets, b.waitBuckets),
  };
}

/**
 * The rows of `query`'s range summed per step (counted from `since`), queue and job, in minute
 * order. A step of whole hours over a range that starts on the hour reads the hour rows (a 7-day
 * range: some 170 rows per queue and job instead of 10,000); else the minute rows. Either
 * table's primary key leads with its period, which bounds the read to the range.
 */
export async function readMetrics(metrics: MetricsTable, query: MetricsQuery): Promise<JobMetricsSample[]> {
  const { knex, engine, table } = metrics;
  const { minutes, hours } = tiers(table);
  const tier = query.step % HOUR === 0 && query.since % HOUR === 0 ? hours : minutes;
  const period = dialect.quote(engine, tier.period);
  const sums = ADDED.map((c) => `sum(${dialect.quote(engine, c)}) as ${dialect.quote(engine, c)}`).join(', ');
  const bindings: Array<string | number> = [query.since, query.step, tier.table, query.since, query.until];
  let where = `${period} >= ? and ${period} < ?`;
  if (query.queue !== undefined) {
    where += ' and queue = ?';
    bindings.push(query.queue);
  }
  if (query.job !== undefined) {
    where += ' and job = ?';
    bindings.push(query.job);
  }
  // The step is the period less its offset into its step (period ≥ since, so `%` sees no negative).
  const result = await knex.raw(
    `select ${period} - ((${period} - ?) % ?) as step_start, queue, job, ${sums} from ?? where ${where}
     group by step_start, queue, job order by step_start, queue, job`,
    bindings,
  );
  return dialect.rows<Record<string, string | number>>(engine, result).map((r) => ({
    minute: Number(r.step_start),
    queue: String(r.queue),
    job: String(r.job),
    completed: Number(r.completed),
    failed: Number(r.failed),
    released: Number(r.released),
    runtimeMsSum: Number(r.runtime_ms_sum),
    runtimeBuckets: RUNTIME_BUCKETS.map((c) => Number(r[c])),
    waitMsSum: Number(r.wait_ms_sum),
    waitBuckets: WAIT_BUCKETS.map((c) => Number(r[c])),
  }));
}

/**
 * Deletes the minutes before `before` (unix seconds) and the hours that end by then: an hour
 * row is kept while any of its minutes is, so hours live as long as minutes, up to an hour more
 * (decision 0072). Resolves to how many rows went, of both tiers.
 */
export async function pruneMetrics(metrics: MetricsTable, before: number): Promise<number> {
  const { knex, engine, table } = metrics;
  const { hours } = tiers(table);
  const minutesGone = dialect.affected(engine, await knex.raw('delete from ?? where minute < ?', [table, before]));
  const hoursGone = dialect.affected(
    engine,
    // An hour row goes once its last minute is before `before`: hour + 3600 ≤ before.
    await knex.raw('delete from ?? where ?? < ?', [hours.table, 'hour', before - HOUR + 1]),
  );
  return minutesGone + hoursGone;
}

/** A sample's values in COLUMNS order; sums are whole milliseconds (the columns are integers). */
function values(sample: JobMetricsSample): Array<string | number> {
  return [
    sample.minute,
    sample.queue,
    sample.job,
    sample.completed,
    sample.failed,
    sample.released,
    Math.round(sample.runtimeMsSum),
    Math.round(sample.waitMsSum),
    ...bucketsOf(sample.runtimeBuckets, 'runtimeBuckets'),
    ...bucketsOf(sample.waitBuckets, 'waitBuckets'),
  ];
}

function bucketsOf(buckets: readonly number[], name: string): readonly number[] {
  if (buckets.length !== BUCKETS)
    throw new RangeError(`A metrics sample's ${name} must hold ${BUCKETS} counts, got ${buckets.length}.`);
  return buckets;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
