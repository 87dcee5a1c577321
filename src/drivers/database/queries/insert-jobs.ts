import type { Knex } from 'knex';

import type { PushRequest } from '../../../contracts/queue.js';
import { dialect, type Engine } from '../dialect.js';
import { jobsChannel } from '../listen-for-jobs.js';
import { runRepeated } from '../prepared-statements.js';

/** When an inserted job becomes available: at once, after some seconds, or at an instant. */
export type Availability = 'now' | 'delay' | 'at';

/** The jobs columns an insert writes, in the order its rows give them. */
const INSERT_COLUMNS = [
  'queue',
  'payload',
  'attempts',
  'exceptions',
  'reserved_at',
  'reserved_by',
  'available_at',
  'created_at',
] as const;

/**
 * Statements already written, by engine, table and row shape: a push writes the same one-row
 * statement every time, and a bulk push the same full-chunk one, so neither is rebuilt per call.
 * Bounded, since a mix of delays gives every shape a key of its own.
 */
const statements = new Map<string, string>();
const MAX_STATEMENTS = 64;

/** Each table name quoted for its engine, once. */
const quotedTables = new Map<string, string>();

/**
 * Inserts jobs in one statement (a long list in chunks, in one transaction); `available_at` and `created_at` come from the database clock
 * (an absolute Date delay is stored as its own instant). Resolves to the ids in input order.
 */
export async function insertJobs(
  knex: Knex,
  engine: Engine,
  table: string,
  requests: readonly PushRequest[],
): Promise<string[]> {
  if (requests.length === 0) return [];
  const size = dialect.maxRowsPerInsert(engine);
  if (requests.length > size) {
    // Many rows go in chunks, all or none: one transaction (or the caller's).
    const run = async (db: Knex) => {
      const ids: string[] = [];
      for (let i = 0; i < requests.length; i += size) {
        for (const id of await insertChunk(db, engine, table, requests.slice(i, i + size))) ids.push(id);
      }
      return ids;
    };
    return knex.isTransaction ? run(knex) : knex.transaction(run);
  }
  return insertChunk(knex, engine, table, requests);
}

async function insertChunk(
  knex: Knex,
  engine: Engine,
  table: string,
  requests: readonly PushRequest[],
): Promise<string[]> {
  const bindings: Array<string | number> = [];
  const rows: Availability[] = new Array<Availability>(requests.length);
  let same = true;
  for (let i = 0; i < requests.length; i++) {
    const { queue, payload, delay } = requests[i]!;
    bindings.push(queue, payload);
    let kind: Availability = 'now';
    if (delay instanceof Date) {
      kind = 'at';
      bindings.push(Math.floor(delay.getTime() / 1000));
    } else if (delay && delay > 0) {
      kind = 'delay';
      bindings.push(Math.ceil(delay));
    }
    rows[i] = kind;
    if (kind !== rows[0]) same = false;
  }
  // The statement notifies exactly where workers listen (its SQL is built once per shape, not here).
  if (dialect.wakeUpStyle(engine) === 'listen-notify') bindings.push(jobsChannel(table));
  // A one-row statement is the same on every push: worth keeping prepared.
  const result = await runRepeated(
    knex,
    engine,
    statementFor(knex, engine, table, rows, same),
    bindings,
    same && rows.length === 1,
  );
  return dialect.insertedIds(engine, result, requests.length);
}

function statementFor(knex: Knex, engine: Engine, table: string, rows: readonly Availability[], same: boolean): string {
  const key = same ? `${engine}\0${table}\0${rows[0]}\0${rows.length}` : undefined;
  const known = key === undefined ? undefined : statements.get(key);
  if (known !== undefined) return known;
  const tableKey = `${engine}\0${table}`;
  let quoted = quotedTables.get(tableKey);
  if (quoted === undefined) {
    // knex's own quoting, so a `schema.table` name is quoted part by part as before.
    quoted = knex.raw('??', [table]).toQuery();
    quotedTables.set(tableKey, quoted);
  }
  const sql = insertJobsSql(engine, quoted, rows);
  if (key !== undefined) {
    if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value!);
    statements.set(key, sql);
  }
  return sql;
}

/**
 * The INSERT of jobs into `table` (already quoted), one row per entry of `rows`. Each row binds
 * its queue and payload, then its delay in seconds (`delay`) or its unix instant (`at`); a
 * statement that notifies (`dialect.insertNotifySql`) binds the channel last. `available_at` and
 * `created_at` come from the database clock, read once for several rows
 * (`dialect.multiRowInsertStyle`). Ids come back through `dialect.insertedIds`.
 */
export function insertJobsSql(engine: Engine, table: string, rows: readonly Availability[]): string {
  const now = dialect.nowSql(engine);
  const columns = `(${INSERT_COLUMNS.map((column) => dialect.quote(engine, column)).join(', ')})`;
  const notify = dialect.insertNotifySql(engine);
  const returning = dialect.insertReturnsIds(engine, rows.length)
    ? ` returning ${dialect.quote(engine, 'id')}${notify === undefined ? '' : `, ${notify}`}`
    : '';
  const style = rows.length === 1 ? 'plain-rows' : dialect.multiRowInsertStyle(engine);
  if (style === 'plain-rows') {
    const values = rows
      .map(
        (kind) => `(?, ?, 0, 0, null, null, ${kind === 'now' ? now : kind === 'delay' ? `${now} + ?` : '?'}, ${now})`,
      )
      .join(', ');
    return `insert into ${table} ${columns} values ${values}${returning}`;
  }
  if (style === 'values-table') {
    // The VALUES table's columns are column1, column2 …: queue, payload, delay, instant.
    const values = rows
      .map((kind) => (kind === 'now' ? '(?, ?, 0, null)' : kind === 'delay' ? '(?, ?, ?, null)' : '(?, ?, 0, ?)'))
      .join(', ');
    return (
      `insert into ${table} ${columns} select v.column1, v.column2, 0, 0, null, null, coalesce(v.column4, t.now + v.column3), t.now ` +
      `from (select ${now} as now) t, (values ${values}) v${returning}`
    );
  }
  // A lateral VALUES list reads the clock of the subquery before it.
  const values = rows
    .map((kind) => `(?, ?, ${kind === 'now' ? 't.now' : kind === 'delay' ? 't.now + ?' : '?::bigint'})`)
    .join(', ');
  return (
    `insert into ${table} ${columns} select v.queue, v.payload, 0, 0, null, null, v.available_at, t.now ` +
    `from (select ${now} as now) t cross join lateral (values ${values}) v(queue, payload, available_at)${returning}`
  );
}
