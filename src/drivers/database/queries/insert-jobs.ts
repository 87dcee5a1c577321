import type { Knex } from 'knex';

import type { PushRequest } from '../../../contracts/queue-driver.js';
import { type Availability, dialect, type Engine } from '../dialect.js';
import { jobsChannel } from '../listen-for-jobs.js';

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
  if (dialect.insertNotifies(engine)) bindings.push(jobsChannel(table));
  // A one-row statement is the same on every push: worth keeping prepared.
  const result = await dialect.runRepeated(
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
  const sql = dialect.insertJobsSql(engine, quoted, rows);
  if (key !== undefined) {
    if (statements.size >= MAX_STATEMENTS) statements.delete(statements.keys().next().value!);
    statements.set(key, sql);
  }
  return sql;
}
