import { afterAll, beforeAll, expect, it } from 'vitest';

import type { ResolvedRedisConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { openRedisClient, type RedisClient, redisScript } from '../../src/drivers/redis/redis-client.js';
import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';
import { describeOnRedis, REDIS_TEST_URL, redisTestPrefix } from '../helpers/databases.js';

function connection(url: string): ResolvedRedisConnection {
  const config = resolveConfig({ connections: { cache: { driver: 'redis', url } } }, { env: {} });
  return config.connections.cache as ResolvedRedisConnection;
}

await describeOnRedis("errand's Redis client port over node-redis", () => {
  const prefix = redisTestPrefix('redis-client');
  let client: RedisClient;

  beforeAll(() => {
    client = openRedisClient(connection(REDIS_TEST_URL), 'cache');
  });

  afterAll(async () => {
    const keys = (await client.command(['KEYS', `${prefix}*`])) as string[];
    if (keys.length > 0) await client.command(['DEL', ...keys]);
    await client.close();
  });

  it('runs a script by its SHA1, sending its text when the server does not know it yet', async () => {
    // A script text unique to this run, so the server has never cached it.
    const script = redisScript('append', `-- ${prefix}\nreturn redis.call('RPUSH', KEYS[1], ARGV[1], ARGV[2])`);
    expect(await client.run(script, [`${prefix}list`], ['a', 1])).toBe(2);
    expect(await client.command(['SCRIPT', 'EXISTS', script.sha1])).toEqual([1]);
    expect(await client.run(script, [`${prefix}list`], ['b', 2])).toBe(4);
    expect(await client.command(['LRANGE', `${prefix}list`, '0', '-1'], `${prefix}list`)).toEqual(['a', '1', 'b', '2']);
  });

  it('names the script and the connection when the script fails', async () => {
    const broken = redisScript('broken', "return redis.call('NOSUCHCOMMAND')");
    await expect(client.run(broken, [`${prefix}x`], [])).rejects.toThrow(
      /^Redis broken \(keys errand-test:.*x\) on connection \[cache\] \(127\.0\.0\.1:6379\) failed: /,
    );
  });

  it('names the keys of a script that meets a key of the wrong type', async () => {
    const push = redisScript('push', "return redis.call('RPUSH', KEYS[1], 'x')");
    await client.command(['SET', `${prefix}string`, 'text'], `${prefix}string`);
    await expect(client.run(push, [`${prefix}string`], [])).rejects.toThrow(
      `Redis push (keys ${prefix}string) on connection [cache] (127.0.0.1:6379) failed: WRONGTYPE`,
    );
  });

  it('says a closed client is closed, not that the server is unreachable', async () => {
    const closed = openRedisClient(connection(REDIS_TEST_URL), 'cache');
    await closed.close();
    const error: unknown = await closed.command(['PING']).catch((caught: unknown) => caught);
    expect(error).not.toBeInstanceOf(DatabaseUnreachableError);
    expect((error as Error).message).toBe('The client of redis connection [cache] is closed');
  });

  it('gives a dedicated connection whose blocking pop does not hold up the shared one', async () => {
    const blocking = await client.duplicate();
    try {
      const popped = blocking.command(['BLPOP', `${prefix}notify`, '10'], `${prefix}notify`);
      // The shared connection still answers while the pop waits, and its push ends the wait.
      expect(await client.command(['PING'])).toBe('PONG');
      await client.command(['RPUSH', `${prefix}notify`, 'go'], `${prefix}notify`);
      expect(await popped).toEqual([`${prefix}notify`, 'go']);
    } finally {
      await blocking.close();
    }
  });

  it('names the connection and host:port when the server cannot be reached', async () => {
    // Port 1 is reserved (tcpmux) and closed on any test machine.
    const unreachable = openRedisClient(connection('redis://127.0.0.1:1'), 'cache');
    try {
      const error = await unreachable.command(['PING']).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(DatabaseUnreachableError);
      expect((error as Error).message).toMatch(/^Redis connection \[cache\] at 127\.0\.0\.1:1 is unreachable: /);
    } finally {
      await unreachable.close();
    }
  });
});
