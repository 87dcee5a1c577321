import type { Knex } from 'knex';

import { dialect, type Engine } from '../dialect.js';

/** Where the locks live: the knex of their connection, its engine and the table. */
export interface LockTable {
  readonly knex: Knex;
  readonly engine: Engine;
  readonly table: string;
}

/**
 * The expiry written for a TTL: `now + ttl` on the database clock, or null (never). Expiry is
 * compared strictly (`expires_at < now`), so with whole seconds a lock is held at least `ttl`
 * seconds and at most one more.
 */
function expirySql(engine: Engine, ttlSeconds: number): { sql: string; bindings: number[] } {
  return ttlSeconds > 0
    ? { sql: `${dialect.nowSql(engine)} + ?`, bindings: [ttlSeconds] }
    : { sql: 'null', bindings: [] };
}

/**
 * Takes a lock when it is free or expired. Each statement is atomic on its own and none decides
 * from an earlier read: the insert wins a free key (a taken key is skipped without an error), and
 * only then may one conditional UPDATE take over an expired row: of concurrent callers, the row
 * lock lets exactly one see it still expired. When the row vanished between the two (its owner
 * released it) the round is tried again.
 */
export async function acquireLock(locks: LockTable, key: string, owner: string, ttlSeconds: number): Promise<boolean> {
  const { knex, engine, table } = locks;
  const expiry = expirySql(engine, ttlSeconds);
  const now = dialect.nowSql(engine);
  for (let round = 0; round < 3; round++) {
    // Bindings: table, the three columns, key, owner, expiry.
    const insert = dialect.insertIgnoringDuplicates(engine, `into ?? (??, ??, ??) values (?, ?, ${expiry.sql})`);
    const inserted = await knex.raw(insert, [table, 'key', 'owner', 'expires_at', key, owner, ...expiry.bindings]);
    if (dialect.affected(engine, inserted) > 0) return true;
    // Bindings: table, owner column, owner, expires_at column, expiry, key column, key, expires_at twice.
    const takenOver = await knex.raw(
      `update ?? set ?? = ?, ?? = ${expiry.sql} where ?? = ? and ?? is not null and ?? < ${now}`,
      [table, 'owner', owner, 'expires_at', ...expiry.bindings, 'key', key, 'expires_at', 'expires_at'],
    );
    if (dialect.affected(engine, takenOver) > 0) return true;
    // Held by someone else (and not expired): that is the answer. Gone: its owner just let go.
    if (await knex(table).where('key', key).first('key')) return false;
  }
  return false;
}

/** Frees a lock held by `owner`; false when it is someone else's or free. */
export async function releaseLock(locks: LockTable, key: string, owner: string): Promise<boolean> {
  // Bindings: table, key column, key, owner column, owner.
  const result = await locks.knex.raw('delete from ?? where ?? = ? and ?? = ?', [
    locks.table,
    'key',
    key,
    'owner',
    owner,
  ]);
  return dialect.affected(locks.engine, result) > 0;
}

/**
 * Moves the expiry of a lock `owner` still holds. A lock that expired but that nobody took over
 * is still `owner`'s row, so it is held again (the same as acquiring it anew).
 */
export async function refreshLock(locks: LockTable, key: string, owner: string, ttlSeconds: number): Promise<boolean> {
  const expiry = expirySql(locks.engine, ttlSeconds);
  // Bindings: table, expires_at column, expiry, key column, key, owner column, owner.
  const result = await locks.knex.raw(`update ?? set ?? = ${expiry.sql} where ?? = ? and ?? = ?`, [
    locks.table,
    'expires_at',
    ...expiry.bindings,
    'key',
    key,
    'owner',
    owner,
  ]);
  return dialect.affected(locks.engine, result) > 0;
}

/** Frees a lock whoever holds it. */
export async function forceReleaseLock(locks: LockTable, key: string): Promise<void> {
  await locks.knex(locks.table).where('key', key).delete();
}

/** The owner of a lock that is held now (not expired), or null. */
export async function lockOwner(locks: LockTable, key: string): Promise<string | null> {
  const { knex, engine, table } = locks;
  const row = (await knex(table)
    .where('key', key)
    .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>=', knex.raw(dialect.nowSql(engine))))
    .first('owner')) as { owner: string } | undefined;
  return row?.owner ?? null;
}
