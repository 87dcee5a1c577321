import { describe, expect, it } from 'vitest';

import { resolveConfig } from '../../src/config/resolve-config.js';

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
      'Queue connection [q] has unknown driver [sqs]; expected one of database, redis, sync, null.',
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

describe('resolveConfig: database and runtime options', () => {
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
    const { boot, shutdown } = await import('../../src/runtime/boot.js');
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

  it('turns the metrics rollup on by default, kept 7 days in job_metrics, and names a bad value', () => {
    expect(resolveConfig({}, { env: {} }).metrics).toEqual({
      enabled: true,
      retention: 168,
      table: 'job_metrics',
      depth: { interval: 15, cap: 100_000 },
    });
    expect(resolveConfig({ metrics: { enabled: false, retention: 24, table: 'stats' } }, { env: {} }).metrics).toEqual({
      enabled: false,
      retention: 24,
      table: 'stats',
      depth: { interval: 15, cap: 100_000 },
    });
    expect(resolveConfig({ metrics: { depth: { interval: 5, cap: 1000 } } }, { env: {} }).metrics.depth).toEqual({
      interval: 5,
      cap: 1000,
    });
    expect(() => resolveConfig({ metrics: { depth: { interval: 0 } } }, { env: {} })).toThrow(
      'metrics.depth.interval must be a number of seconds from 1 to 86400 (a day), got 0.',
    );
    // Past a day a timer's delay overflows and fires every millisecond: refused, naming the bound.
    expect(() => resolveConfig({ metrics: { depth: { interval: 1e9 } } }, { env: {} })).toThrow(
      'metrics.depth.interval must be a number of seconds from 1 to 86400 (a day), got 1000000000.',
    );
    expect(resolveConfig({ metrics: { depth: { interval: 86_400 } } }, { env: {} }).metrics.depth.interval).toBe(
      86_400,
    );
    expect(() => resolveConfig({ metrics: { depth: { cap: 2.5 } } }, { env: {} })).toThrow(
      'metrics.depth.cap must be a whole number ≥ 1, got 2.5.',
    );
    expect(() => resolveConfig({ metrics: { retention: 0.5 } }, { env: {} })).toThrow(
      'metrics.retention must be a whole number of hours from 1 to 87600, got 0.5.',
    );
    expect(() => resolveConfig({ metrics: { table: 'job metrics' } }, { env: {} })).toThrow(
      'metrics: table [job metrics] is not a valid table name.',
    );
  });

  it('traces with links by default and names a bad propagation mode', () => {
    expect(resolveConfig({}, { env: {} }).tracing).toEqual({ enabled: true, propagation: 'link' });
    expect(resolveConfig({ tracing: { enabled: false, propagation: 'parent' } }, { env: {} }).tracing).toEqual({
      enabled: false,
      propagation: 'parent',
    });
    expect(() => resolveConfig({ tracing: { propagation: 'child' as never } }, { env: {} })).toThrow(
      /tracing\.propagation/,
    );
  });
});
