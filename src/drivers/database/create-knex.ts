import { mkdirSync } from 'node:fs';
import path from 'node:path';

import knexFactory, { type Knex } from 'knex';

import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import { ConfigError } from '../../errors/config-error.js';
import { isVerbose } from '../../runtime/verbosity.js';
import { type DriverSocketHolder, describeTarget, driverConnection, sessionSetupSql, socketOf } from './connection.js';
import { statementTimeoutError } from './database-error.js';
import { dialect } from './dialect.js';
import { letIdlePoolExit } from './idle-pool.js';
import { requireClient } from './require-client.js';

/**
 * knex's own warnings ("Connection Error: …" when a pooled connection dies) go to stderr: its
 * default logger writes them to stdout, where they would break `queue:work --json`.
 */
const log: Knex.Config['log'] = {
  warn: (message: unknown) => {
    if (!isVerbose() && REPEATED_BY_THE_CALLER.test(String(message))) return;
    console.error('[errand] knex:', message);
  },
  error: (message: unknown) => console.error('[errand] knex:', message),
  deprecate: (message: unknown) => console.error('[errand] knex:', message),
  debug: (message: unknown) => console.error('[errand] knex:', message),
};

/**
 * knex logs a failed connection attempt with its stack, then rejects the query with the same
 * error, which errand reports once, naming the server (DatabaseUnreachableError): the log line
 * only doubles it. `-v` or DEBUG shows it again.
 */
const REPEATED_BY_THE_CALLER = /^Acquire connection error: /;

/** How long a query waits for a pooled connection before it fails (every engine). */
const ACQUIRE_TIMEOUT_MS = 10_000;

/**
 * Opens a knex instance for the database queue connection `name`. SQLite gets WAL and a busy
 * timeout so a worker, the application and a second worker can share the file. A client package
 * that is not installed (or not built) is an error naming the connection and the fix. Its idle
 * pool does not hold the process open (letIdlePoolExit).
 */
export function createKnex(config: ResolvedDatabaseConnection, name: string): Knex {
  requireClient(name, config.client);
  if (config.client === 'better-sqlite3') {
    const { filename } = config.connection as { filename: string };
    if (filename !== ':memory:') createDirectoryOf(filename);
    const knex = knexFactory({
      client: 'better-sqlite3',
      connection: { filename },
      useNullAsDefault: true,
      log,
      // knex's default is 60 s: code waiting for the one connection a transaction holds fails well before.
      acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
      pool: {
        afterCreate(
          connection: { pragma(sql: string): unknown },
          done: (error: Error | null, connection: unknown) => void,
        ) {
          connection.pragma('journal_mode = WAL');
          connection.pragma('busy_timeout = 5000');
          connection.pragma('synchronous = NORMAL');
          done(null, connection);
        },
      },
    });
    letIdlePoolExit(knex, 'sqlite');
    return knex;
  }
  const limitMs = config.queryTimeout * 1000;
  const target = describeTarget(config.client, config.connection);
  const pool: Knex.PoolConfig = { min: config.pool?.min ?? 0, max: config.pool?.max ?? 10 };
  const setup = sessionSetupSql(dialect.engineOf(config.client));
  if (limitMs > 0 || setup) {
    pool.afterCreate = (connection: DriverConnection, done: (error: Error | null, connection: unknown) => void) => {
      if (limitMs > 0) boundStatements(connection, config.client, limitMs, target);
      if (!setup) return done(null, connection);
      connection.query(setup, (error: Error | null) => done(error, connection));
    };
  }
  const connection = driverConnection(dialect.engineOf(config.client), config.connection, limitMs);
  const knex = knexFactory({
    client: config.client,
    connection,
    pool,
    acquireConnectionTimeout: ACQUIRE_TIMEOUT_MS,
    log,
  });
  letIdlePoolExit(knex, dialect.engineOf(config.client));
  return knex;
}

/** The SQLite file's directory, made if missing; a path that cannot be one is named with the reason. */
function createDirectoryOf(filename: string): void {
  try {
    mkdirSync(path.dirname(filename), { recursive: true });
  } catch (error) {
    throw new ConfigError(
      `The SQLite file ${filename} cannot be created: ${(error as Error).message}. Fix the connection's file name.`,
      { cause: error },
    );
  }
}

/** A pooled pg `Client` or mysql2 `Connection`, as far as the query bound needs it. */
interface DriverConnection extends DriverSocketHolder {
  query(...args: unknown[]): unknown;
  /** What knex's pool checks before handing a connection out again: set, the connection is discarded. */
  __knex__disposed?: unknown;
}

// Schema changes (`errand migrate`) may rightly run for minutes on a large table.
const SCHEMA_CHANGE = /^\s*(create|alter|drop)\b/i;

/**
 * Bounds every statement knex sends on a pooled connection: one that gets no answer within
 * `limitMs` fails with an error naming the server and the limit (code ETIMEDOUT, so it reads as
 * an unreachable database), and its connection is destroyed and marked so the pool discards it.
 * Through a half-open network the answer never comes, and the bytes swallowed mid-statement would
 * leave the connection out of step anyway. Only a statement in flight is timed: an idle pooled
 * connection, or a transaction's connection while the code between its statements runs, is not.
 * knex sends its statements with a callback; other calls (streams) pass through unbounded.
 */
function boundStatements(
  connection: DriverConnection,
  client: ResolvedDatabaseConnection['client'],
  limitMs: number,
  target: string,
): void {
  const query = connection.query.bind(connection);
  let expired: Error | undefined;
  connection.query = (...args: unknown[]) => {
    const last = args.length - 1;
    const callback = args[last];
    const first = args[0] as string | { text?: string; sql?: string };
    const sql = typeof first === 'string' ? first : (first?.text ?? first?.sql ?? '');
    if (typeof callback !== 'function' || SCHEMA_CHANGE.test(sql)) return query(...args);
    // A transaction's ROLLBACK after the timeout: it fails with the same error, not the driver's "connection closed".
    if (expired) return process.nextTick(callback as (error: Error) => void, expired);
    let settled = false;
    const timer = setTimeout(() => {
      settled = true;
      const error = statementTimeoutError(target, limitMs / 1000);
      expired = error;
      connection.__knex__disposed = error;
      socketOf(dialect.engineOf(client), connection)?.destroy();
      (callback as (error: Error) => void)(error);
    }, limitMs);
    timer.unref();
    args[last] = (...results: unknown[]) => {
      clearTimeout(timer);
      // Past the limit the caller already has its error; the driver's own (connection closed) is moot.
      if (!settled) (callback as (...results: unknown[]) => void)(...results);
    };
    return query(...args);
  };
}
