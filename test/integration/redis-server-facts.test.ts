import { afterAll, beforeAll, expect, it } from 'vitest';

import type { ResolvedRedisConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import { openRedisClient, type RedisClient } from '../../src/drivers/redis/redis-client.js';
import { readServerFacts, refuseEvictingServer } from '../../src/drivers/redis/server-facts.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { describeWithRedisServer, type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';
import { type PrivateRedisCluster, startRedisCluster } from '../helpers/redis-cluster.js';

function connection(config: Record<string, unknown>): ResolvedRedisConnection {
  const resolved = resolveConfig({ connections: { jobs: { driver: 'redis', ...config } } }, { env: {} });
  return resolved.connections.jobs as ResolvedRedisConnection;
}

// Servers of their own: these tests change settings (eviction, persistence) no other file may see.
describeWithRedisServer('what errand reads of a Redis server before trusting it with jobs', () => {
  let durable: PrivateRedis;
  let evicting: PrivateRedis;
  let cluster: PrivateRedisCluster;
  const clients: RedisClient[] = [];
  const open = (config: Record<string, unknown>) => {
    const client = openRedisClient(connection(config), 'jobs');
    clients.push(client);
    return client;
  };

  beforeAll(async () => {
    [durable, evicting, cluster] = await Promise.all([
      startPrivateRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always', '--save', '900 1'] }),
      startPrivateRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] }),
      startRedisCluster(),
    ]);
  });

  afterAll(async () => {
    await Promise.allSettled(clients.map((client) => client.close()));
    await Promise.allSettled([durable?.stop(), evicting?.stop(), cluster?.stop()]);
  });

  it('reads the version, persistence and memory policy of a standalone server', async () => {
    const [facts, ...others] = await readServerFacts(open({ url: durable.url }));
    expect(others).toEqual([]);
    expect(facts).toMatchObject({
      address: `127.0.0.1:${durable.port}`,
      mode: 'standalone',
      aof: true,
      appendfsync: 'always',
      rdbSave: '900 1',
      maxmemoryPolicy: 'noeviction',
      maxmemory: 0,
    });
    expect(facts!.version).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reads every master of a cluster', async () => {
    const facts = await readServerFacts(open({ cluster: { nodes: cluster.urls } }));
    expect(facts.map((f) => f.address).sort()).toEqual(cluster.nodes.map((n) => `127.0.0.1:${n.port}`).sort());
    expect(facts.every((f) => f.mode === 'cluster' && !f.aof && f.rdbSave === '')).toBe(true);
  });

  it('refuses an evicting server, naming the setting, the connection, host:port and allowEviction', async () => {
    const config = connection({ url: evicting.url });
    const error = await refuseEvictingServer(open({ url: evicting.url }), config, 'jobs').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    const message = (error as Error).message;
    for (const part of ['maxmemory-policy allkeys-lru', '[jobs]', `127.0.0.1:${evicting.port}`, 'allowEviction: true'])
      expect(message).toContain(part);
    await expect(
      refuseEvictingServer(open({ url: durable.url }), connection({ url: durable.url }), 'jobs'),
    ).resolves.toBeUndefined();
    const allowed = connection({ url: evicting.url, allowEviction: true });
    await expect(refuseEvictingServer(open({ url: evicting.url }), allowed, 'jobs')).resolves.toBeUndefined();
  });

  it('refuses a cluster when any one master evicts', async () => {
    const last = cluster.nodes[2]!;
    await last.cli(['config', 'set', 'maxmemory-policy', 'volatile-lru']);
    const error = await refuseEvictingServer(
      open({ cluster: { nodes: cluster.urls } }),
      connection({ cluster: { nodes: cluster.urls } }),
      'jobs',
    ).catch((e: unknown) => e);
    expect((error as Error).message).toContain(
      `Redis at 127.0.0.1:${last.port} (connection [jobs]) has maxmemory-policy volatile-lru`,
    );
  });
});
