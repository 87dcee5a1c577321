import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ResolvedRedisConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { openRedisClient, type RedisClient } from '../../src/drivers/redis/redis-client.js';
import { RedisLockStore } from '../../src/drivers/redis/redis-lock-store.js';
import { RedisRateLimitStore } from '../../src/drivers/redis/redis-rate-limit-store.js';
import { describeOnRedis, REDIS_TEST_URL, redisTestPrefix } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { describeWithRedisServer } from '../helpers/private-redis.js';
import { type PrivateRedisCluster, startRedisCluster } from '../helpers/redis-cluster.js';

// The Redis lock and rate-limit stores against a real server, standalone and on a local 3-master
// cluster (every lock and counter is its own key, so they spread over the slots), held to the
// rules the `locks` and `rate_limits` tables keep (test/integration/locks.test.ts, job-middleware.test.ts).

/** The suite, on the server `connect` names (a cluster when `clustered`); `cleanUp` removes what it wrote. */
function storeSuite(
  clustered: boolean,
  connect: () => Promise<Record<string, unknown>>,
  cleanUp: (client: RedisClient, prefix: string) => Promise<void>,
): void {
  const prefix = redisTestPrefix('redis-lock-stores');
  let config: ResolvedRedisConnection;
  const clients: RedisClient[] = [];
  let client: RedisClient;
  let locks: RedisLockStore;
  let limits: RedisRateLimitStore;
  const open = () => {
    const opened = openRedisClient(config, 'redis');
    clients.push(opened);
    return opened;
  };
  const pttl = async (key: string) => Number(await client.command(['PTTL', key], key));

  beforeAll(async () => {
    const server = await connect();
    config = resolveConfig(
      { default: 'redis', connections: { redis: { driver: 'redis', ...server, prefix } } },
      { env: {} },
    ).connections.redis as ResolvedRedisConnection;
    client = open();
    // The cluster run must really go through the cluster client, which routes each key to its node.
    expect(client.cluster).toBe(clustered);
    locks = new RedisLockStore(client, prefix, 'redis');
    limits = new RedisRateLimitStore(client, prefix, 'redis');
  });
  afterAll(async () => {
    if (client) await cleanUp(client, prefix);
    await Promise.all(clients.map((c) => c.close()));
  });

  describe('locks', () => {
    it('of 50 concurrent acquires of a free key on separate connections exactly one wins', async () => {
      const stores = Array.from({ length: 5 }, () => new RedisLockStore(open(), prefix, 'redis'));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => stores[i % 5]!.acquire('race', `owner-${i}`, 60)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await locks.owner('race')).toBe(`owner-${results.indexOf(true)}`);
    });

    it('of 50 concurrent takeovers of an expired lock exactly one wins', async () => {
      expect(await locks.acquire('stale', 'first', 1)).toBe(true);
      await eventually('the 1 s lock has expired on the server clock', async () => !(await locks.isLocked('stale')));
      const stores = Array.from({ length: 5 }, () => new RedisLockStore(open(), prefix, 'redis'));
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => stores[i % 5]!.acquire('stale', `owner-${i}`, 60)),
      );
      expect(results.filter(Boolean)).toHaveLength(1);
      expect(await locks.owner('stale')).toBe(`owner-${results.indexOf(true)}`);
    });

    it('lets only the owner release or refresh; forceRelease frees it for anyone', async () => {
      expect(await locks.acquire('k', 'a', 0)).toBe(true);
      expect(await locks.acquire('k', 'a', 0)).toBe(false);
      expect(await locks.acquire('k', 'b', 0)).toBe(false);
      expect(await locks.release('k', 'b')).toBe(false);
      expect(await locks.refresh('k', 'b', 30)).toBe(false);
      expect(await locks.owner('k')).toBe('a');
      expect(await locks.release('k', 'a')).toBe(true);
      expect(await locks.release('k', 'a')).toBe(false);
      expect(await locks.isLocked('k')).toBe(false);
      expect(await locks.acquire('k', 'b', 0)).toBe(true);
      await locks.forceRelease('k');
      expect(await locks.acquire('k', 'c', 0)).toBe(true);
    });

    it('expires on the server clock: a TTL sets the key’s expiry, 0 never expires, refresh moves it', async () => {
      expect(await locks.acquire('ttl', 'a', 100)).toBe(true);
      expect(await locks.acquire('forever', 'a', 0)).toBe(true);
      const ttl = await pttl(`${prefix}lock:ttl`);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(100_000);
      expect(await pttl(`${prefix}lock:forever`)).toBe(-1);
      expect(await locks.refresh('ttl', 'a', 1000)).toBe(true);
      expect(await pttl(`${prefix}lock:ttl`)).toBeGreaterThan(100_000);
      expect(await locks.refresh('ttl', 'a', 0)).toBe(true);
      expect(await pttl(`${prefix}lock:ttl`)).toBe(-1);
      expect(await locks.owner('ttl')).toBe('a');
    });

    it('an expired lock is free: its former owner can no longer release or refresh it', async () => {
      expect(await locks.acquire('lapsed', 'a', 1)).toBe(true);
      await eventually('the 1 s lock has expired on the server clock', async () => !(await locks.isLocked('lapsed')));
      expect(await locks.owner('lapsed')).toBeNull();
      expect(await locks.refresh('lapsed', 'a', 60)).toBe(false);
      expect(await locks.release('lapsed', 'a')).toBe(false);
      expect(await locks.acquire('lapsed', 'b', 60)).toBe(true);
    });

    it('compares keys exactly, and long keys stay apart', async () => {
      expect(await locks.acquire('user:Ann', 'a', 0)).toBe(true);
      expect(await locks.acquire('user:ann', 'b', 0)).toBe(true);
      expect(await locks.acquire('user:ann ', 'c', 0)).toBe(true);
      expect([await locks.owner('user:Ann'), await locks.owner('user:ann'), await locks.owner('user:ann ')]).toEqual([
        'a',
        'b',
        'c',
      ]);
      const long = (tail: string) => `${'x'.repeat(300)}${tail}`;
      expect(await locks.acquire(long('a'), 'a', 0)).toBe(true);
      expect(await locks.acquire(long('b'), 'b', 0)).toBe(true);
      expect(await locks.acquire(long('a'), 'c', 0)).toBe(false);
      expect(await locks.release(long('a'), 'a')).toBe(true);
      expect(await locks.owner(long('b'))).toBe('b');
    });

    it('refuses what the locks table refuses, with the same messages', async () => {
      await expect(locks.acquire('', 'a', 0)).rejects.toThrow('A lock key must be a non-empty string, got "".');
      await expect(locks.acquire('k2', 'o'.repeat(256), 0)).rejects.toThrow(
        'The owner of lock k2 must be 1 to 255 characters',
      );
      await expect(locks.acquire('k2', 'a', 1.5)).rejects.toThrow(
        'The TTL of lock k2 must be a whole number of seconds ≥ 0',
      );
    });
  });

  describe('rate limits', () => {
    it('the counter is exact under concurrent hits on one key from separate connections', async () => {
      const stores = Array.from({ length: 5 }, () => new RedisRateLimitStore(open(), prefix, 'redis'));
      const counts = await Promise.all(Array.from({ length: 50 }, (_, i) => stores[i % 5]!.hit('concurrent', 3600)));
      expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(await limits.attempts('concurrent')).toBe(50);
      expect(await limits.availableIn('concurrent')).toBeGreaterThan(0);
      expect(await limits.availableIn('concurrent')).toBeLessThanOrEqual(3600);
    });

    it('a window lasts from its first hit, ends on the server clock, and the next hit starts a new one', async () => {
      expect(await limits.hit('span', 30)).toBe(1);
      // A later hit with another length counts in the open window and leaves its end where it was.
      expect(await limits.hit('span', 3600)).toBe(2);
      expect(await pttl(`${prefix}limit:span`)).toBeLessThanOrEqual(30_000);
      expect(await limits.availableIn('span')).toBeLessThanOrEqual(30);

      expect(await limits.hit('short', 1)).toBe(1);
      expect(await limits.availableIn('short')).toBeLessThanOrEqual(1);
      await eventually('the 1 s window has ended', async () => (await limits.attempts('short')) === 0);
      expect(await limits.availableIn('short')).toBe(0);
      expect(await limits.hit('short', 1)).toBe(1);
    });

    it('keys are exact, long keys fit, and clear forgets a window', async () => {
      expect(await limits.hit('user:Ann', 60)).toBe(1);
      expect(await limits.hit('user:ann', 60)).toBe(1);
      expect(await limits.hit('user:Ann', 60)).toBe(2);
      const long = `tenant:${'x'.repeat(400)}`;
      expect(await limits.hit(long, 60)).toBe(1);
      expect(await limits.hit(long, 60)).toBe(2);
      expect(await limits.attempts(long)).toBe(2);
      await limits.clear(long);
      expect(await limits.attempts(long)).toBe(0);
      expect(await limits.availableIn(long)).toBe(0);
      expect(await limits.attempts('never-hit')).toBe(0);
    });

    it('refuses a window that is not a whole number of seconds ≥ 1, naming the key', async () => {
      await expect(limits.hit('bad', 0)).rejects.toThrow(
        'A rate-limit window must last a whole number of seconds ≥ 1, got 0 (key bad).',
      );
    });
  });
}

await describeOnRedis('the Redis lock and rate-limit stores', () =>
  storeSuite(
    false,
    async () => ({ url: REDIS_TEST_URL }),
    async (client, prefix) => {
      const keys = (await client.command(['KEYS', `${prefix}*`])) as string[];
      for (const key of keys) await client.command(['DEL', key], key);
    },
  ),
);

const wanted = process.env.TEST_DB?.split(',').map((s) => s.trim());
if (!wanted || wanted.includes('redis')) {
  describeWithRedisServer('the Redis lock and rate-limit stores [redis cluster]', () => {
    let cluster: PrivateRedisCluster | undefined;
    afterAll(async () => {
      await cluster?.stop();
    });
    storeSuite(
      true,
      async () => {
        cluster = await startRedisCluster();
        return { url: cluster.urls[0], cluster: { nodes: [...cluster.urls] } };
      },
      // The cluster is the suite's own: stopping it removes everything.
      async () => undefined,
    );
  });
}
