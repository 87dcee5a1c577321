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
const KEYS = ['minute', 'queue', 'job'] as const;
const RUNTIME_BUCKETS = Array.from({ length: BUCKETS }, (_, i) => `runtime_${i}`);
const WAIT_BUCKETS = Array.from({ length: BUCKETS }, (_, i) => `wait_${i}`);
/** Every column a sample adds to, in the order `values` gives them. */
const ADDED = ['completed', 'failed', 'released', 'runtime_ms_sum', 'wait_ms_sum', ...RUNTIME_BUCKETS, ...WAIT_BUCKETS];
const COLUMNS = [...KEYS, ...ADDED];

/**
 * Rows per statement: 42 bound values a row keeps a statement far below every engine's limit on
 * bound parameters (SQLite's is the lowest, 32,766); a flush rarely holds more than a few rows.
 */
const ROWS_PER_STATEMENT = 200;

/** Adds each sample to its row, creating rows that are new, in one statement per 200 rows. */
export async function recordMetrics(metrics: MetricsTable, samples: readonly JobMetricsSample[]): Promise<void> {
  const { knex, engine, table } = metrics;
  const row = `(${COLUMNS.map(() => '?').join(', ')})`;
  const columns = COLUMNS.map((c) => dialect.quote(engine, c)).join(', ');
  const upsert = dialect.addingUpsertSql(engine, table, KEYS, ADDED);
  // In key order, so two workers' upserts lock shared rows in the same order and cannot deadlock.
  const sorted = [...samples].sort((a, b) => a.minute - b.minute || compare(a.queue, b.queue) || compare(a.job, b.job));
  for (let start = 0; start < sorted.length; start += ROWS_PER_STATEMENT) {
    const chunk = sorted.slice(start, start + ROWS_PER_STATEMENT);
    const bindings: Array<string | number> = [table];
    for (const sample of chunk) bindings.push(...values(sample));
    await knex.raw(`insert into ?? (${columns}) values ${chunk.map(() => row).join(', ')} ${upsert}`, bindings);
  }
}

/**
 * The rows of `query`'s range summed per step (counted from `since`), queue and job, in minute
 * order. The primary key, which leads with the minute, bounds the read to the range.
 */
export async function readMetrics(metrics: MetricsTable, query: MetricsQuery): Promise<JobMetricsSample[]> {
  const { knex, engine, table } = metrics;
  const sums = ADDED.map((c) => `sum(${dialect.quote(engine, c)}) as ${dialect.quote(engine, c)}`).join(', ');
  const bindings: Array<string | number> = [query.since, query.step, table, query.since, query.until];
  let where = 'minute >= ? and minute < ?';
  if (query.queue !== undefined) {
    where += ' and queue = ?';
    bindings.push(query.queue);
  }
  if (query.job !== undefined) {
    where += ' and job = ?';
    bindings.push(query.job);
  }
  // The period is the minute less its offset into its step (minute ≥ since, so `%` sees no negative).
  const result = await knex.raw(
    `select minute - ((minute - ?) % ?) as period, queue, job, ${sums} from ?? where ${where}
     group by period, queue, job order by period, queue, job`,
    bindings,
  );
  return dialect.rows<Record<string, string | number>>(engine, result).map((r) => ({
    minute: Number(r.period),
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

/** Deletes the minutes before `before` (unix seconds); resolves to how many rows went. */
export async function pruneMetrics(metrics: MetricsTable, before: number): Promise<number> {
  const { knex, engine, table } = metrics;
  return dialect.affected(engine, await knex.raw('delete from ?? where minute < ?', [table, before]));
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
