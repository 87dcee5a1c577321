import net from 'node:net';

import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ResolvedDatabaseConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';

import { describeTarget } from '../../src/drivers/database/connection.js';
import { createKnex } from '../../src/drivers/database/create-knex.js';
import {
  connectionErrorHint,
  describeDatabaseError,
  isConnectionError,
  statementTimeoutError,
} from '../../src/drivers/database/database-error.js';
import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';

/* What errand's database errors say: where the connection points (never with a password), and what to check. */

describe('describeTarget', () => {
  it('names host:port/database for URLs and objects, and the file for SQLite', () => {
    expect(describeTarget('mysql2', 'mysql://root:secret@db.internal:3399/app')).toBe('db.internal:3399/app');
    expect(describeTarget('pg', 'postgres://u:secret@127.0.0.1/app')).toBe('127.0.0.1:5432/app');
    expect(describeTarget('pg', { host: 'db', user: 'u', password: 'secret', database: 'app' })).toBe('db:5432/app');
    expect(describeTarget('better-sqlite3', { filename: '/var/app/queue.sqlite' })).toBe('/var/app/queue.sqlite');
  });

  it('names where a connection points', () => {
    expect(describeTarget('pg', 'postgres://u@db.internal/app')).toBe('db.internal:5432/app');
    expect(describeTarget('mysql2', { host: '10.0.0.5', database: 'q' })).toBe('10.0.0.5:3306/q');
    expect(describeTarget('better-sqlite3', { filename: '/a/b.sqlite' })).toBe('/a/b.sqlite');
  });

  it('names the socket directory pg takes from ?host= when the URL has no host', () => {
    expect(describeTarget('pg', 'postgres:///app?host=/var/run/postgresql')).toBe('/var/run/postgresql:5432/app');
  });

  it.each([
    [
      'a # left unencoded in the password',
      'mysql2',
      'mysql://root:p#ss@127.0.0.1:3399/app',
      'p#ss',
      'mysql://***@127.0.0.1:3399/app',
    ],
    [
      'a / and an @ left unencoded in the password',
      'mysql2',
      'mysql://root:p/s@ss@127.0.0.1:3399/app',
      'p/s@ss',
      'mysql://***@127.0.0.1:3399/app',
    ],
    ['user info with an empty host', 'pg', 'postgres://u:pw@/app?host=/sock', 'pw', 'postgres://***@/app?host=/sock'],
    [
      'a password parameter',
      'pg',
      'postgres://db:port/app?password=hunter2',
      'hunter2',
      'postgres://db:port/app?password=***',
    ],
  ] as const)('masks the user info of a URL that does not parse (%s)', (_what, client, url, secret, shown) => {
    expect(() => new URL(url)).toThrow();
    const described = describeTarget(client, url);
    expect(described).not.toContain(secret);
    expect(described).toBe(shown);
    expect(describeTarget(client, { connectionString: url } as never)).toBe(shown);
  });
});

describe('connectionErrorHint', () => {
  const firewall = 'The server did not answer: check the host, the port and any firewall between.';

  it("gives errand's own statement timeout (queryTimeout) its own hint, not the network one, also when wrapped", () => {
    const timeout = statementTimeoutError('db:5432/app', 30);
    expect(timeout.code).toBe('ETIMEDOUT');
    expect(isConnectionError(timeout)).toBe(true);
    const hint = connectionErrorHint(timeout);
    expect(hint).toBe(
      'The statement was sent but no answer came in time: a slow statement or one waiting on a lock, or a connection that died mid-statement. ' +
        "If statements may rightly take that long, raise the connection's queryTimeout (seconds; 0 turns the limit off).",
    );
    expect(connectionErrorHint(new Error('insert failed', { cause: timeout }))).toBe(hint);
  });

  it("keeps the network hint for a driver's ETIMEDOUT (a connect that got no answer)", () => {
    expect(
      connectionErrorHint(Object.assign(new Error('connect ETIMEDOUT 10.0.0.9:5432'), { code: 'ETIMEDOUT' })),
    ).toBe(firewall);
  });
});

describe('isConnectionError', () => {
  it('knows the ways mysql2 and pg report a dropped or refused connection, and nothing else', () => {
    const dropped = [
      Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }),
      Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }),
      Object.assign(new Error('Connection lost: The server closed the connection.'), {
        code: 'PROTOCOL_CONNECTION_LOST',
        fatal: true,
      }),
      Object.assign(new Error("Can't add new command when connection is in closed state"), { fatal: true }),
      new Error('Connection terminated unexpectedly'),
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ];
    for (const error of dropped) expect(isConnectionError(error), error.message).toBe(true);
    const others = [
      Object.assign(new Error('You have an error in your SQL syntax'), { code: 'ER_PARSE_ERROR', fatal: false }),
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      new Error('something else'),
    ];
    for (const error of others) expect(isConnectionError(error), error.message).toBe(false);
  });
});

describe('isConnectionError with the timeouts the drivers really throw through a silent network', () => {
  // A server that accepts connections and never answers: what a black-holed route looks like to
  // a client (no reset, no unreachable answer), so only the drivers' own timers can end a wait.
  const sockets = new Set<net.Socket>();
  const hole = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('data', () => undefined).on('error', () => undefined);
  });
  let port = 0;
  beforeAll(async () => {
    await new Promise<void>((resolve) => hole.listen(0, '127.0.0.1', resolve));
    port = (hole.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => hole.close(resolve));
  });

  const failure = async (knex: Knex): Promise<Error> => {
    try {
      await knex.raw('select 1');
    } catch (error) {
      return error as Error;
    } finally {
      await knex.destroy();
    }
    throw new Error('the statement should have failed');
  };
  const unreachable = (error: Error, client: 'pg' | 'mysql2') => {
    const config = resolveConfig({
      connections: { database: { driver: 'database', client, connection: { host: '127.0.0.1', port } } },
    }).connections.database!;
    return describeDatabaseError(error, 'database', config as ResolvedDatabaseConnection, 'jobs');
  };

  it('pg: the connect timeout errand sets from queryTimeout ("timeout expired", a bare Error)', async () => {
    const config = resolveConfig({
      connections: {
        database: {
          driver: 'database',
          client: 'pg',
          connection: { host: '127.0.0.1', port, user: 'nobody', database: 'none' },
          queryTimeout: 1,
        },
      },
    }).connections.database as ResolvedDatabaseConnection;
    const error = await failure(createKnex(config, 'database'));
    expect(error.message).toBe('timeout expired');
    expect(isConnectionError(error)).toBe(true);
    const described = unreachable(error, 'pg');
    expect(described).toBeInstanceOf(DatabaseUnreachableError);
    expect((described as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('mysql2: its connect timeout (no handshake within connectTimeout)', async () => {
    const error = await failure(
      knexFactory({
        client: 'mysql2',
        connection: { host: '127.0.0.1', port, user: 'nobody', connectTimeout: 300 },
        pool: { min: 0, max: 1 },
      }),
    );
    expect(error.message).toBe('connect ETIMEDOUT');
    expect(isConnectionError(error)).toBe(true);
    expect(unreachable(error, 'mysql2')).toBeInstanceOf(DatabaseUnreachableError);
  });

  it('knex: its own acquire timeout while every new connection hangs (KnexTimeoutError)', async () => {
    const error = await failure(
      knexFactory({
        client: 'pg',
        connection: { host: '127.0.0.1', port, user: 'nobody', connectionTimeoutMillis: 1000 },
        pool: { min: 0, max: 1 },
        acquireConnectionTimeout: 200,
      }),
    );
    expect(error.name).toBe('KnexTimeoutError');
    expect(isConnectionError(error)).toBe(true);
    expect(unreachable(error, 'pg')).toBeInstanceOf(DatabaseUnreachableError);
    // Wrapped by something else, the cause still tells.
    expect(isConnectionError(new Error('the delete failed', { cause: error }))).toBe(true);
  });
});
