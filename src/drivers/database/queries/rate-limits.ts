import type { Knex } from 'knex';

import { dialect, type Engine } from '../dialect.js';

/** Where the rate-limit counters live: the knex of their connection, its engine and the table. */
export interface RateLimitTable {
  readonly knex: Knex;
  readonly engine: Engine;
  readonly table: string;
}

/**
 * The column holding when a key's window ends, in unix milliseconds on the database clock
 * (migration 0011 renamed 0007's `reset_at`, in seconds, to it).
 */
const RESET_AT = 'reset_at_ms';

/**
 * Counts one hit on a key in ONE statement, so concurrent workers count exactly: a missing row
 * is inserted with 1 and a window that ended (`reset_at_ms` reached on the database clock) starts
 * over at 1, ending `decaySeconds` after this hit to the millisecond; otherwise the count goes up
 * by one. Returns the count, this hit included. The clock is read once per statement (see
 * dialect.statementNowMsSql), so the two CASEs always agree on whether the window ended.
 */
export async function hitRateLimit(limits: RateLimitTable, key: string, decaySeconds: number): Promise<number> {
  const { knex, engine, table } = limits;
  const now = dialect.statementNowMsSql(engine);
  const decayMs = decaySeconds * 1000;
  if (dialect.counterUpsertStyle(engine) === 'on-duplicate-key') {
    // MySQL/MariaDB have no RETURNING here: LAST_INSERT_ID(expr) hands the new count back in the
    // statement's own OK packet (insertId). Assignments run left to right, so `hits` is computed
    // while `reset_at_ms` still holds the old window. Bindings: table, three columns, key, decay,
    // then hits, reset_at_ms, hits, reset_at_ms, reset_at_ms, decay, reset_at_ms.
    const result = await knex.raw(
      `insert into ?? (??, ??, ??) values (?, last_insert_id(1), ${now} + ?) on duplicate key update ` +
        `?? = last_insert_id(if(?? <= ${now}, 1, ?? + 1)), ?? = if(?? <= ${now}, ${now} + ?, ??)`,
      [table, 'key', 'hits', RESET_AT, key, decayMs, 'hits', RESET_AT, 'hits', RESET_AT, RESET_AT, decayMs, RESET_AT],
    );
    return Number((result as [{ insertId: number | string }])[0].insertId);
  }
  // PostgreSQL and SQLite: an upsert whose SET expressions all read the row as it was.
  // Bindings: table, three columns, key, decay, conflict column, hits, reset_at_ms, hits,
  // reset_at_ms, reset_at_ms, decay, reset_at_ms, the returned column.
  const old = (column: string) => `${table}.${column}`;
  const result = await knex.raw(
    `insert into ?? (??, ??, ??) values (?, 1, ${now} + ?) on conflict (??) do update set ` +
      `?? = case when ?? <= ${now} then 1 else ?? + 1 end, ?? = case when ?? <= ${now} then ${now} + ? else ?? end returning ??`,
    [
      table,
      'key',
      'hits',
      RESET_AT,
      key,
      decayMs,
      'key',
      'hits',
      old(RESET_AT),
      old('hits'),
      RESET_AT,
      old(RESET_AT),
      decayMs,
      old(RESET_AT),
      'hits',
    ],
  );
  return Number(dialect.rows<{ hits: number | string }>(engine, result)[0]!.hits);
}

/**
 * The count of a key's open window and the seconds until it ends, rounded up (a job released for
 * them comes back after the window, never inside it); zeros when no window is open.
 */
export async function readRateLimit(
  limits: RateLimitTable,
  key: string,
): Promise<{ hits: number; availableIn: number }> {
  const { knex, engine, table } = limits;
  const now = dialect.statementNowMsSql(engine);
  // Bindings: hits, reset_at_ms, table, key column, key, reset_at_ms.
  const result = await knex.raw(
    `select ?? as hits, ?? - ${now} as available_in_ms from ?? where ?? = ? and ?? > ${now}`,
    ['hits', RESET_AT, table, 'key', key, RESET_AT],
  );
  const row = dialect.rows<{ hits: number | string; available_in_ms: number | string }>(engine, result)[0];
  return row
    ? { hits: Number(row.hits), availableIn: Math.max(0, Math.ceil(Number(row.available_in_ms) / 1000)) }
    : { hits: 0, availableIn: 0 };
}

/** Forgets a key's window. */
export async function clearRateLimit(limits: RateLimitTable, key: string): Promise<void> {
  await limits.knex(limits.table).where('key', key).delete();
}

/**
 * Deletes the rows of windows that ended. Safe beside concurrent hits: a hit on a deleted key
 * inserts 1, exactly what it would have written over the ended window.
 */
export async function pruneRateLimits(limits: RateLimitTable): Promise<number> {
  const { knex, engine, table } = limits;
  const result = await knex.raw(`delete from ?? where ?? <= ${dialect.statementNowMsSql(engine)}`, [table, RESET_AT]);
  return dialect.affected(engine, result);
}
