import type { Knex } from 'knex';

import type { Engine, ServerInfo } from './dialect.js';

/**
 * Reads the server's engine and version, and from the version what it can do: knex itself emits
 * SKIP LOCKED without checking, and MySQL has no DELETE … RETURNING where MariaDB has.
 */
export async function detectServer(knex: Knex, engine: Engine): Promise<ServerInfo> {
  if (engine === 'sqlite') {
    const rows = (await knex.raw('select sqlite_version() as v')) as Array<{ v: string }>;
    // RETURNING since SQLite 3.35: every better-sqlite3 12.
    return { engine, version: rows[0]?.v ?? 'unknown', skipLocked: false, deleteReturning: true };
  }
  if (engine === 'mysql') {
    const [rows] = (await knex.raw('select version() as v')) as [Array<{ v: string }>];
    const version = rows[0]?.v ?? '';
    return {
      engine,
      version,
      skipLocked: mysqlSupportsSkipLocked(version),
      deleteReturning: mariadbAtLeast(version, [10, 0, 5]),
    };
  }
  const result = (await knex.raw('show server_version_num')) as { rows: Array<{ server_version_num: string }> };
  const num = Number(result.rows[0]?.server_version_num ?? 0);
  return { engine, version: String(num), skipLocked: num >= 90500, deleteReturning: true };
}

/** MySQL ≥ 8.0.1 or MariaDB ≥ 10.6, from `version()`. */
function mysqlSupportsSkipLocked(version: string): boolean {
  if (MARIADB.test(version)) return mariadbAtLeast(version, [10, 6, 0]);
  const mysql = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return mysql ? atLeast(mysql, [8, 0, 1]) : false;
}

// MariaDB's version() may carry a MySQL-compatible prefix: `5.5.5-10.4.1-MariaDB`.
const MARIADB = /(\d+)\.(\d+)\.(\d+)-MariaDB/i;

/** A MariaDB server's `version()` of at least `wanted`; false for MySQL. */
function mariadbAtLeast(version: string, wanted: [number, number, number]): boolean {
  const mariadb = MARIADB.exec(version);
  return mariadb !== null && atLeast(mariadb, wanted);
}

function atLeast(match: RegExpExecArray, wanted: [number, number, number]): boolean {
  const have = [Number(match[1]), Number(match[2]), Number(match[3])];
  for (let i = 0; i < 3; i++) {
    if (have[i]! !== wanted[i]!) return have[i]! > wanted[i]!;
  }
  return true;
}
