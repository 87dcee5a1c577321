import { mkdirSync } from 'node:fs';
import path from 'node:path';

import knexFactory, { type Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';

/**
 * knex's own warnings ("Connection Error: …" when a pooled connection dies) go to stderr: its
 * default logger writes them to stdout, where they would break `queue:work --json`.
 */
const log: Knex.Config['log'] = {
  warn: (message: unknown) => console.error('[errand] knex:', message),
  error: (message: unknown) => console.error('[errand] knex:', message),
  deprecate: (message: unknown) => console.error('[errand] knex:', message),
  debug: (message: unknown) => console.error('[errand] knex:', message),
};

/**
 * Opens a knex instance for a database queue connection. SQLite gets WAL and a busy timeout so a
 * worker, the application and a second worker can share the file.
 */
export function createKnex(config: ResolvedDatabaseConnection): Knex {
  if (config.client === 'better-sqlite3') {
    const { filename } = config.connection as { filename: string };
    if (filename !== ':memory:') mkdirSync(path.dirname(filename), { recursive: true });
    return knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      log,
      pool: {
        afterCreate(connection: { pragma(sql: string): unknown }, done: (error: Error | null, connection: unknown) => void) {
          connection.pragma('journal_mode = WAL');
          connection.pragma('busy_timeout = 5000');
          connection.pragma('synchronous = NORMAL');
          done(null, connection);
        },
      },
    });
  }
  const pool = { min: config.pool?.min ?? 0, max: config.pool?.max ?? 10 };
  let connection = config.connection;
  if (config.client === 'mysql2' && typeof connection === 'object') {
    // Ids and counters beyond 2^53 must not lose digits.
    connection = { supportBigNumbers: true, bigNumberStrings: true, ...connection } as Knex.StaticConnectionConfig;
  }
  return knexFactory({ client: config.client, connection, pool, acquireConnectionTimeout: 10_000, log });
}
