import type { Knex } from 'knex';

import type { FailedJobFilter, FailedJobRecord, StoredFailedJob } from '../../../contracts/failed-job-store.js';
import { dialect, type Engine } from '../dialect.js';

interface FailedRow {
  id: number | string;
  uuid: string;
  connection: string;
  queue: string;
  payload: string;
  exception: string;
  failed_at: Date | string | number;
}

/**
 * Records a failed job once: a second insert of the same uuid is ignored on every engine. A NUL
 * character in the exception text (an error message quoting a job's data, a name read from a
 * payload) is written as the six characters `\u0000`: PostgreSQL's text cannot hold it, and an
 * insert that fails leaves the job reserved and never recorded.
 */
export async function insertFailedJob(knex: Knex, table: string, record: FailedJobRecord): Promise<void> {
  await knex(table)
    .insert({
      uuid: record.uuid,
      connection: record.connection,
      queue: record.queue,
      payload: record.payload,
      exception: record.exception.replaceAll('\u0000', '\\u0000'),
    })
    .onConflict('uuid')
    .ignore();
}

/** Selects failed jobs: one by key (uuid or numeric id), or by the filter. */
export interface FailedJobSelection extends FailedJobFilter {
  readonly key?: string;
}

/** Failed jobs, newest first. */
export async function selectFailedJobs(knex: Knex, table: string, selection: FailedJobSelection = {}): Promise<StoredFailedJob[]> {
  const query = knex(table).select('*').orderBy('id', 'desc');
  if (selection.key !== undefined) whereKey(query, selection.key);
  if (selection.queue !== undefined) query.where({ queue: selection.queue });
  if (selection.idRange) query.whereBetween('id', [selection.idRange[0], selection.idRange[1]]);
  const rows = (await query) as FailedRow[];
  return rows.map((row) => ({
    id: String(row.id),
    uuid: row.uuid,
    connection: row.connection,
    queue: row.queue,
    payload: row.payload,
    exception: row.exception,
    failedAt: toDate(row.failed_at),
  }));
}

/** How many failed jobs are stored. */
export async function countFailedJobs(knex: Knex, table: string): Promise<number> {
  const [row] = (await knex(table).count({ n: '*' })) as Array<{ n: number | string }>;
  return Number(row?.n ?? 0);
}

/** Deletes one failed job by key (uuid or numeric id). */
export async function deleteFailedJob(knex: Knex, table: string, key: string): Promise<boolean> {
  return Number(await whereKey(knex(table), key).delete()) > 0;
}

/**
 * Deletes every failed job, or those that failed at least `hours` ago by the database clock;
 * resolves to how many.
 */
export async function deleteFailedJobsOlderThan(knex: Knex, engine: Engine, table: string, hours?: number): Promise<number> {
  const query = knex(table);
  if (hours !== undefined) query.where('failed_at', '<=', knex.raw(dialect.timestampSecondsAgoSql(engine), [Math.round(hours * 3600)]));
  return Number(await query.delete());
}

// A uuid is never all digits, so an all-digit key can also be the numeric id; comparing the
// bigint id with a non-numeric string would be an error on PostgreSQL, hence the test first.
function whereKey(query: Knex.QueryBuilder, key: string): Knex.QueryBuilder {
  return /^\d{1,18}$/.test(key) ? query.where((q) => q.where({ uuid: key }).orWhere({ id: key })) : query.where({ uuid: key });
}

function toDate(value: Date | string | number): Date {
  if (value instanceof Date) return value;
  // SQLite's CURRENT_TIMESTAMP is "YYYY-MM-DD HH:MM:SS" in UTC.
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) return new Date(`${value.replace(' ', 'T')}Z`);
  return new Date(value);
}
