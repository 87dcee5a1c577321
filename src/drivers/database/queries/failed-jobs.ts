import { randomUUID } from 'node:crypto';

import type { Knex } from 'knex';

import type { FailedJobFilter, FailedJobRecord, StoredFailedJob } from '../../../contracts/failed-job-store.js';
import { displayNameOf } from '../../../payload/display-name.js';
import { dialect, type Engine } from '../dialect.js';

/** A failed_jobs row as the drivers return it. */
export interface FailedRow {
  id: number | string;
  uuid: string;
  connection: string;
  queue: string;
  payload: string;
  exception: string;
  failed_at: Date | string | number;
}

/**
 * Records a failed job. The same job's failure logged again (same uuid, connection, queue and
 * payload: a record written before a crash, or by the watchdog and the worker at once) is stored
 * once, keeping the first. A different job whose uuid is already taken (a payload that reused
 * another's uuid, a retried job whose payload changed, failing again before its old record was
 * forgotten) is never dropped: it is stored under a fresh uuid, its payload keeping the job's own.
 * A NUL character in the exception text (an error message quoting a job's data, a name read from
 * a payload) is written as the six characters `\u0000`: PostgreSQL's text cannot hold it, and an
 * insert that fails leaves the job reserved and never recorded.
 */
export async function insertFailedJob(knex: Knex, table: string, record: FailedJobRecord): Promise<void> {
  const engine = dialect.engineOfKnex(knex) ?? 'sqlite';
  const row = {
    connection: record.connection,
    queue: record.queue,
    payload: record.payload,
    exception: record.exception.replaceAll('\u0000', '\\u0000'),
  };
  // The display name the dashboard filters by (migration 0012), cut to the column's 255 characters.
  const job = Array.from((displayNameOf(record.payload) ?? '').replaceAll('\u0000', ''))
    .slice(0, 255)
    .join('');
  const named = await hasJobColumn(knex, table);
  const insert = dialect.insertIgnoringDuplicates(
    engine,
    named
      ? 'into ?? (??, ??, ??, ??, ??, ??) values (?, ?, ?, ?, ?, ?)'
      : 'into ?? (??, ??, ??, ??, ??) values (?, ?, ?, ?, ?)',
  );
  const columns = [table, 'uuid', 'connection', 'queue', 'payload', 'exception', ...(named ? ['job'] : [])];
  const values = [row.connection, row.queue, row.payload, row.exception, ...(named ? [job] : [])];
  if (dialect.affected(engine, await knex.raw(insert, [...columns, record.uuid, ...values])) > 0) return;
  const taken = (await knex(table).where({ uuid: record.uuid }).select('connection', 'queue', 'payload')) as Array<
    Omit<typeof row, 'exception'>
  >;
  if (
    taken.some(
      (other) => other.connection === row.connection && other.queue === row.queue && other.payload === row.payload,
    )
  )
    return;
  await knex(table).insert({ uuid: randomUUID(), ...row, ...(named ? { job } : {}) });
}

/** Per database (its knex config) and table: whether failed_jobs has migration 0012's `job` column. */
const jobColumns = new WeakMap<object, Map<string, Promise<boolean>>>();

/**
 * Whether `table` has the `job` column, asked once per process: a table made by an application's
 * own migration (`queue:failed-table` before 0012) may lack it, and a failure must still be
 * recorded there; the dashboard's job-name filter then finds none of those records.
 */
function hasJobColumn(knex: Knex, table: string): Promise<boolean> {
  const database = (knex as unknown as { client: { config: object } }).client.config;
  let tables = jobColumns.get(database);
  if (!tables) jobColumns.set(database, (tables = new Map()));
  let known = tables.get(table);
  if (!known) {
    // Resolved once here: the schema builder is a thenable that runs its query again on every
    // `then`, and the transaction it was made on (a fail's) is over by the next failure.
    const asked = Promise.resolve(knex.schema.hasColumn(table, 'job'));
    tables.set(table, asked);
    asked.catch(() => tables.delete(table));
    known = asked;
  }
  return known;
}

/** Selects failed jobs: one by key (uuid or numeric id), or by the filter. */
export interface FailedJobSelection extends FailedJobFilter {
  readonly key?: string;
}

/** Failed jobs, newest first. */
export async function selectFailedJobs(
  knex: Knex,
  table: string,
  selection: FailedJobSelection = {},
): Promise<StoredFailedJob[]> {
  const query = knex(table).select('*').orderBy('id', 'desc');
  if (selection.key !== undefined) whereKey(query, selection.key);
  if (selection.queue !== undefined) query.where({ queue: selection.queue });
  if (selection.idRange) query.whereBetween('id', [selection.idRange[0], selection.idRange[1]]);
  return ((await query) as FailedRow[]).map(storedFailedJob);
}

/** A row as the failed-job store hands it out. */
export function storedFailedJob(row: FailedRow): StoredFailedJob {
  return {
    id: String(row.id),
    uuid: row.uuid,
    connection: row.connection,
    queue: row.queue,
    payload: row.payload,
    exception: row.exception,
    failedAt: toDate(row.failed_at),
  };
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
export async function deleteFailedJobsOlderThan(
  knex: Knex,
  engine: Engine,
  table: string,
  hours?: number,
): Promise<number> {
  const query = knex(table);
  if (hours !== undefined)
    query.where('failed_at', '<=', knex.raw(dialect.timestampSecondsAgoSql(engine), [Math.round(hours * 3600)]));
  return Number(await query.delete());
}

// A uuid is never all digits, so an all-digit key can also be the numeric id; comparing the
// bigint id with a non-numeric string would be an error on PostgreSQL, hence the test first.
function whereKey(query: Knex.QueryBuilder, key: string): Knex.QueryBuilder {
  return /^\d{1,18}$/.test(key)
    ? query.where((q) => q.where({ uuid: key }).orWhere({ id: key }))
    : query.where({ uuid: key });
}

function toDate(value: Date | string | number): Date {
  if (value instanceof Date) return value;
  // SQLite's CURRENT_TIMESTAMP is "YYYY-MM-DD HH:MM:SS" in UTC.
  if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value))
    return new Date(`${value.replace(' ', 'T')}Z`);
  return new Date(value);
}
