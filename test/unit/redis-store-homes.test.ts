import { describe, expect, it } from 'vitest';

import type { ErrandConfig } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';

const resolve = (config: ErrandConfig) => resolveConfig(config, { env: {} });

describe('where stores live when a connection is redis', () => {
  it('a redis default keeps locks and rate limits; failed jobs and batches go to the first database connection', () => {
    const config = resolve({
      default: 'redis',
      connections: { redis: { driver: 'redis' }, sync: { driver: 'sync' }, app: { driver: 'database' } },
    });
    expect(config.locks).toEqual({ connection: 'redis', table: 'locks' });
    expect(config.rateLimits).toEqual({ connection: 'redis', table: 'rate_limits' });
    expect(config.failed).toEqual({ driver: 'database', connection: 'app', table: 'failed_jobs' });
    expect(config.batching).toEqual({ connection: 'app', table: 'job_batches' });
  });

  it('with only redis, locks and rate limits live there, failed jobs are not stored and batches have no home', () => {
    const config = resolve({ default: 'redis', connections: { redis: { driver: 'redis' } } });
    expect(config.locks).toEqual({ connection: 'redis', table: 'locks' });
    expect(config.rateLimits).toEqual({ connection: 'redis', table: 'rate_limits' });
    expect(config.failed).toEqual({ driver: 'null' });
    expect(config.batching).toBeUndefined();
  });

  it('a sync default prefers a database connection for locks, else a redis one', () => {
    const both = resolve({
      default: 'sync',
      connections: { sync: { driver: 'sync' }, redis: { driver: 'redis' }, db: { driver: 'database' } },
    });
    expect(both.locks).toEqual({ connection: 'db', table: 'locks' });
    const redisOnly = resolve({
      default: 'sync',
      connections: { sync: { driver: 'sync' }, redis: { driver: 'redis' } },
    });
    expect(redisOnly.locks).toEqual({ connection: 'redis', table: 'locks' });
    expect(redisOnly.rateLimits).toEqual({ connection: 'redis', table: 'rate_limits' });
  });

  it('locks and rateLimits may name a redis connection beside a database default', () => {
    const config = resolve({
      connections: { database: { driver: 'database' }, cache: { driver: 'redis' } },
      locks: { connection: 'cache' },
      rateLimits: { connection: 'cache' },
    });
    expect(config.default).toBe('database');
    expect(config.locks).toEqual({ connection: 'cache', table: 'locks' });
    expect(config.rateLimits).toEqual({ connection: 'cache', table: 'rate_limits' });
    expect(config.failed).toEqual({ driver: 'database', connection: 'database', table: 'failed_jobs' });
  });

  it.each([
    [
      { batching: { connection: 'cache' } },
      'batching.connection names [cache], a redis connection; batches need a database queue connection.',
    ],
    [
      { failed: { driver: 'database' as const, connection: 'cache' } },
      'failed.connection names [cache], which is not a database queue connection.',
    ],
  ])('refuses %j, naming the option: only a database keeps that store', (extra, message) => {
    expect(() =>
      resolve({ connections: { database: { driver: 'database' }, cache: { driver: 'redis' } }, ...extra }),
    ).toThrow(message);
  });
});
