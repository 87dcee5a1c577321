import net from 'node:net';

import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ResolvedDatabaseConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { createKnex } from '../../src/drivers/database/create-knex.js';
import { describeDatabaseError } from '../../src/drivers/database/database-error.js';
import { dialect } from '../../src/drivers/database/dialect.js';
import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';

describe('resolveConfig', () => {
  it('defaults to SQLite under the working directory, with failed_jobs beside it', () => {
    const config = resolveConfig(undefined, { baseDir: '/app', env: {} });
    expect(config.default).toBe('database');
    expect(config.connections.database).toEqual({
      driver: 'database',
      client: 'better-sqlite3',
      connection: { filename: '/app/.errand/errand.sqlite' },
      table: 'jobs',
      queue: 'default',
      retryAfter: 90,
      pool: undefined,
      queryTimeout: 30,
      heartbeat: { interval: 3, lapse: 15 },
      workersTable: 'queue_workers',
      controlsTable: 'queue_controls',
      afterCommit: false,
    });
    expect(config.failed).toEqual({ driver: 'database', connection: 'database', table: 'failed_jobs' });
    expect(config.batching).toEqual({ connection: 'database', table: 'job_batches' });
  });

  it('checks batching and afterCommit, naming the option', () => {
    expect(() => resolveConfig({ batching: { connection: 'sync' } }, { env: {} })).toThrow(
      'batching.connection names [sync], a sync connection; batches need a database queue connection.',
    );
    expect(() => resolveConfig({ batching: { table: 'job batches' } }, { env: {} })).toThrow(
      'batching.table: [job batches] is not a valid table name.',
    );
    expect(() =>
      resolveConfig({ connections: { db: { driver: 'database', afterCommit: 'yes' as never } } }, { env: {} }),
    ).toThrow('Queue connection [db]: afterCommit must be true or false, got "yes".');
    expect(resolveConfig({ connections: { s: { driver: 'sync' } } }, { env: {} }).batching).toBeUndefined();
  });

  it('lets QUEUE_CONNECTION override the default', () => {
    expect(resolveConfig(undefined, { env: { QUEUE_CONNECTION: 'sync' } }).default).toBe('sync');
    expect(() => resolveConfig(undefined, { env: { QUEUE_CONNECTION: 'redis' } })).toThrow(
      'Queue connection [redis] named by QUEUE_CONNECTION is not defined. Defined connections: database, sync, null.',
    );
  });

  it.each([
    [
      { connections: { q: { driver: 'sqs' } } },
      'Queue connection [q] has unknown driver [sqs]; expected one of database, sync, null.',
    ],
    [
      { connections: { q: { driver: 'database', client: 'oracledb' } } },
      'Queue connection [q] has unsupported client [oracledb]; use one of better-sqlite3, mysql2, pg.',
    ],
    [
      { connections: { q: { driver: 'database', client: 'pg' } } },
      'Queue connection [q]: client pg needs `connection` (a URL or a knex connection object).',
    ],
    [
      { connections: { q: { driver: 'database', table: 'jobs; drop' } } },
      'Queue connection [q]: table [jobs; drop] is not a valid table name.',
    ],
    [
      { connections: { q: { driver: 'database', retryAfter: 0 } } },
      'Queue connection [q]: retryAfter must be a whole number of seconds from 1 to 2147483647, got 0.',
    ],
    [
      { connections: { q: { driver: 'database', retryAfter: 1e12 } } },
      'Queue connection [q]: retryAfter must be a whole number of seconds from 1 to 2147483647, got 1000000000000.',
    ],
    [
      { connections: { q: { driver: 'database', retryAfter: 1e8, heartbeat: { interval: 3e6 } } } },
      "Queue connection [q]: heartbeat.interval must be at most 2147483 s (Node's timer limit, about 24 days), got 3000000.",
    ],
    [
      { connections: { q: { driver: 'database', heartbeat: { interval: 3, lapse: 1e12 } } } },
      'Queue connection [q]: heartbeat.lapse must be at most 2147483647 s, got 1000000000000.',
    ],
    [
      { connections: { q: { driver: 'database', queryTimeout: -1 } } },
      'Queue connection [q]: queryTimeout must be a number of seconds ≥ 0 (0 or false: no limit), got -1.',
    ],
    [
      { connections: { q: { driver: 'database', queryTimeout: '30' } } },
      'Queue connection [q]: queryTimeout must be a number of seconds ≥ 0 (0 or false: no limit), got "30".',
    ],
    [
      { connections: { q: { driver: 'database', queryTimeout: 1e9 } } },
      'Queue connection [q]: queryTimeout must be at most 2147483 s (about 24 days; 0 or false: no limit), got 1000000000.',
    ],
    [
      { default: 'x', connections: { q: { driver: 'sync' } } },
      'Queue connection [x] named by `default` is not defined. Defined connections: q.',
    ],
    [
      { connections: { q: { driver: 'sync' } }, failed: { driver: 'database', connection: 'q' } },
      'failed.connection names [q], which is not a database queue connection.',
    ],
  ])('rejects %j naming what is wrong', (config, message) => {
    expect(() => resolveConfig(config as never, { env: {} })).toThrow(message);
  });

  it('reads queryTimeout in seconds, false or 0 turning it off', () => {
    const timeout = (queryTimeout: unknown) =>
      resolveConfig({ connections: { q: { driver: 'database', queryTimeout } as never } }, { env: {} }).connections.q;
    expect(timeout(2.5)).toMatchObject({ queryTimeout: 2.5 });
    expect(timeout(false)).toMatchObject({ queryTimeout: 0 });
    expect(timeout(0)).toMatchObject({ queryTimeout: 0 });
  });

  it('stores no failures when there is no database connection at all', () => {
    expect(resolveConfig({ connections: { s: { driver: 'sync' } } }, { env: {} }).failed).toEqual({ driver: 'null' });
  });
});

describe('dialect', () => {
  it('detects SKIP LOCKED support from the server version string', async () => {
    const cases: Array<[string, boolean]> = [
      ['10.11.19-MariaDB-0+deb12u1', true],
      ['10.6.0-MariaDB', true],
      ['10.5.22-MariaDB-log', false],
      ['5.5.5-10.4.1-MariaDB', false],
      ['8.0.36', true],
      ['8.0.0', false],
      ['5.7.44-log', false],
    ];
    for (const [version, expected] of cases) {
      const fake = { raw: async () => [[{ v: version }]] } as never;
      expect((await dialect.detect(fake, 'mysql')).skipLocked, version).toBe(expected);
    }
  });

  it('names where a connection points', () => {
    expect(dialect.describeTarget('pg', 'postgres://u@db.internal/app')).toBe('db.internal:5432/app');
    expect(dialect.describeTarget('mysql2', { host: '10.0.0.5', database: 'q' })).toBe('10.0.0.5:3306/q');
    expect(dialect.describeTarget('better-sqlite3', { filename: '/a/b.sqlite' })).toBe('/a/b.sqlite');
  });

  it('keeps MySQL on select-then-update and locks only where the engine has locks', () => {
    expect(dialect.claimStyle('mysql')).toBe('select-then-update');
    expect(dialect.claimStyle('postgres')).toBe('update-returning');
    expect(dialect.lockClause({ engine: 'sqlite', version: '3', skipLocked: false })).toBe('');
    expect(dialect.lockClause({ engine: 'mysql', version: '10.5', skipLocked: false })).toBe('for update');
    expect(dialect.lockClause({ engine: 'postgres', version: '150000', skipLocked: true })).toBe(
      'for update skip locked',
    );
  });

  it('deletes with RETURNING wherever the server has it (MariaDB ≥ 10.0.5, not MySQL)', () => {
    expect(dialect.deleteReturns({ engine: 'postgres', version: '150000', skipLocked: true })).toBe(true);
    expect(dialect.deleteReturns({ engine: 'sqlite', version: '3.45.0', skipLocked: false })).toBe(true);
    expect(dialect.deleteReturns({ engine: 'mysql', version: '10.11.19-MariaDB-0+deb12u1', skipLocked: true })).toBe(
      true,
    );
    expect(dialect.deleteReturns({ engine: 'mysql', version: '5.5.5-10.0.4-MariaDB', skipLocked: false })).toBe(false);
    expect(dialect.deleteReturns({ engine: 'mysql', version: '8.4.2', skipLocked: true })).toBe(false);
  });

  it('checks heartbeat settings against retryAfter and names the option at fault', () => {
    const resolve = (database: Record<string, unknown>) =>
      resolveConfig({ connections: { database: { driver: 'database', ...database } as never } }, { env: {} });
    expect(resolve({ heartbeat: false }).connections.database).toMatchObject({ heartbeat: false });
    expect(resolve({ heartbeat: { interval: 1 } }).connections.database).toMatchObject({
      heartbeat: { interval: 1, lapse: 15 },
    });
    expect(() => resolve({ heartbeat: { interval: 0 } })).toThrow(
      /heartbeat\.interval must be a number of seconds > 0/,
    );
    expect(() => resolve({ heartbeat: { interval: 5, lapse: 5 } })).toThrow(
      /heartbeat\.lapse must be a whole number of seconds greater than heartbeat\.interval \(5\)/,
    );
    expect(() => resolve({ retryAfter: 4, heartbeat: { interval: 3 } })).toThrow(
      /heartbeat\.interval \(3 s\) must be at most half of retryAfter \(4 s\)/,
    );
    expect(() => resolve({ heartbeat: 'yes' })).toThrow(/Queue connection \[database\]: heartbeat must be false or/);
    expect(() => resolve({ workersTable: 'bad name' })).toThrow(/workersTable \[bad name\] is not a valid table name/);
  });

  it('takes a tsyringe container and names anything else', async () => {
    const { container } = await import('tsyringe');
    const child = container.createChildContainer();
    expect(resolveConfig({ container: child }, { env: {} }).container).toBe(child);
    expect(resolveConfig({}, { env: {} }).container).toBeUndefined();
    expect(() => resolveConfig({ container: {} as never }, { env: {} })).toThrow(
      '`container` must be a tsyringe DependencyContainer',
    );
    const { boot, shutdown } = await import('../../src/runtime/errand.js');
    const app = await boot({ connections: { nothing: { driver: 'null' } }, container: child });
    expect(app.container).toBe(child);
    const other = container.createChildContainer();
    expect(
      (await boot({ connections: { nothing: { driver: 'null' } }, container: child }, { container: other })).container,
    ).toBe(other);
    await shutdown();
  });

  it('defaults maxPayloadSize to 1 MiB and names a bad value', () => {
    expect(resolveConfig({}, { env: {} }).maxPayloadSize).toBe(1024 * 1024);
    expect(resolveConfig({ maxPayloadSize: 4096 }, { env: {} }).maxPayloadSize).toBe(4096);
    expect(() => resolveConfig({ maxPayloadSize: 10 }, { env: {} })).toThrow(
      'maxPayloadSize must be a whole number of bytes ≥ 256, got 10.',
    );
  });
});

describe('dialect.isConnectionError', () => {
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
    for (const error of dropped) expect(dialect.isConnectionError(error), error.message).toBe(true);
    const others = [
      Object.assign(new Error('You have an error in your SQL syntax'), { code: 'ER_PARSE_ERROR', fatal: false }),
      Object.assign(new Error('duplicate key value violates unique constraint'), { code: '23505' }),
      new Error('something else'),
    ];
    for (const error of others) expect(dialect.isConnectionError(error), error.message).toBe(false);
  });
});

describe('dialect.isConnectionError with the timeouts the drivers really throw through a silent network', () => {
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
    expect(dialect.isConnectionError(error)).toBe(true);
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
    expect(dialect.isConnectionError(error)).toBe(true);
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
    expect(dialect.isConnectionError(error)).toBe(true);
    expect(unreachable(error, 'pg')).toBeInstanceOf(DatabaseUnreachableError);
    // Wrapped by something else, the cause still tells.
    expect(dialect.isConnectionError(new Error('the delete failed', { cause: error }))).toBe(true);
  });
});
