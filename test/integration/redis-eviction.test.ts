import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { resolveConfig } from '../../src/config/resolve-config.js';
import { QueueManager } from '../../src/runtime/queue-manager.js';
import { describeWithRedisServer, type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';
import { runCli } from '../helpers/run-cli.js';

// A server of its own whose memory policy evicts: what no other test file may see on the shared one.
describeWithRedisServer('queue:work on a Redis server that may evict keys', () => {
  let redis: PrivateRedis;
  let dir: string;

  const app = (name: string, options: Record<string, unknown>) => {
    const appDir = path.join(dir, name);
    const config = {
      default: 'redis',
      connections: {
        redis: { driver: 'redis', url: redis.url, prefix: `errand-test:eviction:${name}:`, ...options },
        database: {
          driver: 'database',
          client: 'better-sqlite3',
          connection: { filename: path.join(dir, `${name}.sqlite`) },
        },
      },
    };
    mkdirSync(appDir);
    writeFileSync(path.join(appDir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
    return appDir;
  };

  beforeAll(async () => {
    redis = await startPrivateRedis({ args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] });
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-eviction-'));
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('refuses to start, naming the setting, the connection, host:port and allowEviction', async () => {
    const { code, stdout, stderr } = await runCli(['queue:work', '--stop-when-empty'], app('refused', {}));
    expect(code).not.toBe(0);
    const output = stdout + stderr;
    for (const part of [
      'maxmemory-policy allkeys-lru',
      'connection [redis]',
      `127.0.0.1:${redis.port}`,
      'allowEviction: true',
    ])
      expect(output).toContain(part);
  });

  it('starts with allowEviction: true', async () => {
    const { code, stderr } = await runCli(['queue:work', '--stop-when-empty'], app('allowed', { allowEviction: true }));
    expect(stderr).not.toContain('maxmemory-policy');
    expect(code).toBe(0);
  });

  it('does not refuse dispatching, which a web process could not fix', async () => {
    const config = resolveConfig(
      { connections: { redis: { driver: 'redis', url: redis.url, prefix: 'errand-test:eviction:dispatch:' } } },
      { env: {} },
    );
    const manager = new QueueManager(config, () => Promise.reject(new Error('nothing runs inline here')));
    try {
      const queue = manager.worker('redis');
      await queue.push({ queue: 'default', payload: '{}' });
      expect(await queue.size('default')).toBe(1);
    } finally {
      await manager.closeAll();
    }
  });
});
