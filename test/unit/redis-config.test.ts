import { describe, expect, it } from 'vitest';

import type { ResolvedRedisConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { ConfigError } from '../../src/errors/config-error.js';

const SOURCE = '/app/errand.config.js';
const AT = `Queue connection [redis] in ${SOURCE}`;

function redis(options: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): ResolvedRedisConnection {
  const config = resolveConfig({ connections: { redis: { driver: 'redis', ...options } } } as never, {
    baseDir: '/app',
    env,
    source: SOURCE,
  });
  return config.connections.redis as ResolvedRedisConnection;
}

function problem(options: Record<string, unknown>, env: NodeJS.ProcessEnv = {}): string {
  try {
    redis(options, env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(options)} was accepted`);
}

describe('a redis connection', () => {
  it('defaults to the local server, prefix errand:, queue default, Laravel’s 90 s and heartbeats', () => {
    expect(redis({})).toEqual({
      driver: 'redis',
      url: 'redis://127.0.0.1:6379',
      host: '127.0.0.1',
      port: 6379,
      db: 0,
      tls: false,
      cluster: false,
      prefix: 'errand:',
      queue: 'default',
      blockFor: 5,
      retryAfter: 90,
      heartbeat: { interval: 3, lapse: 15 },
      migrationBatchSize: 100,
      afterCommit: false,
      allowEviction: false,
    });
  });

  it('takes afterCommit, as a database connection does (Laravel’s after_commit)', () => {
    expect(redis({ afterCommit: true }).afterCommit).toBe(true);
    expect(problem({ afterCommit: 'yes' })).toContain('afterCommit');
  });

  it('reads url parts, lets explicit options win, and keeps credentials out of `url`', () => {
    const resolved = redis({ url: 'rediss://app:p%40ss@cache.internal:6380/2', port: 7000 });
    expect(resolved).toMatchObject({
      url: 'rediss://cache.internal:7000/2',
      host: 'cache.internal',
      port: 7000,
      username: 'app',
      password: 'p@ss',
      db: 2,
      tls: {},
    });
  });

  it('takes REDIS_URL when the connection names no url, and names it when it is wrong', () => {
    expect(redis({}, { REDIS_URL: 'redis://10.0.0.5:6390' })).toMatchObject({ host: '10.0.0.5', port: 6390 });
    expect(redis({ url: 'redis://own:6379' }, { REDIS_URL: 'redis://10.0.0.5:6390' }).host).toBe('own');
    expect(problem({}, { REDIS_URL: 'http://x:1' })).toBe(
      `${AT}: REDIS_URL [http://x:1] has scheme [http:]; a redis connection takes redis:// or rediss:// (TLS).`,
    );
  });

  it('names the option at fault, without the password', () => {
    expect(problem({ url: 'not a url' })).toContain(`${AT}: url [not a url] is not a URL`);
    expect(problem({ url: 'redis://u:secret@h:1/x' })).toBe(
      `${AT}: url [redis://***@h:1/x] ends in [/x]; after host:port a redis URL takes only a database number, such as /0.`,
    );
    expect(problem({ port: 70000 })).toBe(`${AT}: port must be a whole number from 1 to 65535, got 70000.`);
    expect(problem({ db: -1 })).toContain(`${AT}: db must be a whole number from 0`);
    expect(problem({ prefix: 'app{x}:' })).toContain(`${AT}: prefix [app{x}:] must not contain { or }`);
    expect(problem({ queue: 'a,b' })).toBe(`${AT}: queue [a,b] must be a non-empty name without commas.`);
    expect(problem({ blockFor: 0 })).toContain(`${AT}: blockFor must be a number of seconds from 0.01`);
    expect(problem({ retryAfter: 1.5 })).toContain(`${AT}: retryAfter must be a whole number of seconds`);
    expect(problem({ migrationBatchSize: 0 })).toContain(`${AT}: migrationBatchSize must be a whole number from 1`);
    expect(problem({ heartbeat: { interval: 60 } })).toContain(`${AT}: heartbeat.interval (60 s) must be at most half`);
  });

  it('checks kinds and keys by the redis driver’s schema', () => {
    expect(problem({ blockFor: '5' })).toBe(`${AT}: blockFor must be a number of seconds > 0, got "5".`);
    expect(problem({ allowEvictions: true })).toContain(
      'Unknown key `connections.redis.allowEvictions` in /app/errand.config.js: did you mean `allowEviction`?',
    );
    expect(problem({ cluster: 'yes' })).toContain(`${AT}: cluster must be true, false or { nodes: [node URLs] }`);
  });

  it('on a cluster: seeds from its own address or the nodes given, database 0 only', () => {
    expect(redis({ url: 'redis://127.0.0.1:7000', cluster: true }).cluster).toEqual({
      nodes: ['redis://127.0.0.1:7000'],
    });
    expect(redis({ cluster: { nodes: ['redis://a:7000', 'redis://b:7001'] } }).cluster).toEqual({
      nodes: ['redis://a:7000', 'redis://b:7001'],
    });
    expect(problem({ db: 3, cluster: true })).toBe(`${AT}: db must be 0 on a Redis Cluster (cluster is set), got 3.`);
    expect(problem({ cluster: { nodes: [] } })).toContain(`${AT}: cluster.nodes must name at least one node URL`);
    expect(problem({ cluster: { nodes: ['redis://a:7000/1'] } })).toContain(
      `${AT}: cluster.nodes[0] names database 1; a cluster has only 0.`,
    );
  });

  it('leaves failed jobs and batches to a database connection when the default is redis', () => {
    const config = resolveConfig(
      {
        default: 'redis',
        connections: { redis: { driver: 'redis' }, db: { driver: 'database', connection: 'jobs.sqlite' } },
      },
      { baseDir: '/app', env: {} },
    );
    expect(config.default).toBe('redis');
    expect(config.failed).toEqual({ driver: 'database', connection: 'db', table: 'failed_jobs' });
    expect(config.batching).toEqual({ connection: 'db', table: 'job_batches' });
  });
});
