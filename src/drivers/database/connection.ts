import type { Knex } from 'knex';

import type { DatabaseClient } from '../../config/config-types.js';
import { withoutCredentials } from '../../runtime/without-credentials.js';
import type { Engine } from './dialect.js';

// Apart from create-knex.ts, which opens the pool: database-error.ts names the target and
// idle-pool.ts reaches the socket, and create-knex.ts imports both of them.

/** The socket of a server connection, as far as errand handles it (a net.Socket or tls.TLSSocket). */
export interface DriverSocket {
  destroy(error?: Error): void;
  ref?(): unknown;
  unref?(): unknown;
}

/** Where pg's `Client` (`connection.stream`) and mysql2's `Connection` (`stream`) keep their socket. */
export interface DriverSocketHolder {
  connection?: { stream?: DriverSocket };
  stream?: DriverSocket;
}

/**
 * A server connection's driver settings, with errand's defaults under the user's own: mysql2
 * reads ids and counters beyond 2^53 as strings, so none loses digits; pg gets a handshake
 * timeout of `limitMs` (0: none), since it waits for a new connection forever (mysql2 gives up
 * after 10 s) and through a black-holed network every new connection would hang with it.
 */
export function driverConnection(
  engine: Engine,
  connection: Knex.Config['connection'],
  limitMs: number,
): Knex.Config['connection'] {
  if (engine === 'mysql' && typeof connection === 'object')
    return { supportBigNumbers: true, bigNumberStrings: true, ...connection } as Knex.StaticConnectionConfig;
  if (engine === 'postgres' && limitMs > 0) {
    const settings = typeof connection === 'string' ? { connectionString: connection } : connection;
    return { connectionTimeoutMillis: limitMs, ...settings } as Knex.StaticConnectionConfig;
  }
  return connection;
}

/**
 * The socket under a pooled driver connection (pg's `Client`, mysql2's `Connection`), to destroy
 * one that stopped answering, or to let an idle one not hold the process open. SQLite has none.
 */
export function socketOf(engine: Engine, connection: DriverSocketHolder): DriverSocket | undefined {
  if (engine === 'sqlite') return undefined;
  return engine === 'postgres' ? connection.connection?.stream : connection.stream;
}

/**
 * Run on each new pooled connection. InnoDB's default REPEATABLE READ makes the claim's and the
 * finishing writes' index scans take gap locks, and an application inserting jobs inside its own
 * transaction then deadlocks with the workers (error 1213, its whole transaction rolled back).
 * errand's statements lock exactly the rows they name and need no snapshot across statements,
 * so its sessions read committed, as PostgreSQL's do by default.
 */
export function sessionSetupSql(engine: Engine): string | undefined {
  return engine === 'mysql' ? 'set session transaction isolation level read committed' : undefined;
}

/**
 * Where a connection points, for error messages: host:port/database, or the SQLite file. Never
 * a password: a URL that does not parse (a `#` or `/` left unencoded in the password, an empty
 * host) is printed with its user info and any `password=` parameter masked.
 */
export function describeTarget(client: DatabaseClient, connection: string | Knex.StaticConnectionConfig): string {
  if (typeof connection === 'string') {
    try {
      const url = new URL(connection);
      const port = url.port || (client === 'pg' ? '5432' : '3306');
      // pg's `postgres:///app?host=/var/run/postgresql`: the host (or socket directory) is a parameter.
      const host = url.hostname || url.searchParams.get('host') || 'localhost';
      return `${host}:${port}${url.pathname}`;
    } catch {
      return withoutCredentials(connection);
    }
  }
  const c = connection as {
    filename?: string;
    host?: string;
    port?: number;
    database?: string;
    connectionString?: string;
  };
  if (client === 'better-sqlite3') return c.filename ?? '(no file)';
  if (c.connectionString) return describeTarget(client, c.connectionString);
  const port = c.port ?? (client === 'pg' ? 5432 : 3306);
  return `${c.host ?? 'localhost'}:${port}${c.database ? `/${c.database}` : ''}`;
}
