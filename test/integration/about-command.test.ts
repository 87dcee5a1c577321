import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { describeWithRedisServer, type PrivateRedis, startPrivateRedis } from '../helpers/private-redis.js';
import { runCli } from '../helpers/run-cli.js';

// `errand about` against servers of its own, so the persistence and memory settings it reports are known.
describeWithRedisServer('errand about and the queue:monitor header', () => {
  let dir: string;
  let redis: PrivateRedis;

  beforeAll(async () => {
    redis = await startPrivateRedis({ args: ['--appendonly', 'yes', '--appendfsync', 'always'] });
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-about-'));
    const config = {
      default: 'database',
      connections: {
        database: {
          driver: 'database',
          client: 'better-sqlite3',
          connection: { filename: path.join(dir, 'db.sqlite') },
        },
        cache: { driver: 'redis', url: redis.url, prefix: 'errand-test:about:' },
      },
      locks: { connection: 'cache' },
    };
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
  });

  afterAll(async () => {
    await redis?.stop();
  });

  it('prints versions, where each store lives and what each server says of itself', async () => {
    const { code, stdout, stderr } = await runCli(['about', '--json'], dir);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const about = JSON.parse(stdout);
    expect(about.Environment['Default connection']).toBe('database');
    expect(about.Environment.Config).toBe(path.join(dir, 'errand.config.mjs'));
    expect(about.Stores['Failed jobs']).toBe('[database] failed_jobs');
    expect(about.Stores.Locks).toBe('[cache] keys errand-test:about:lock:*');
    expect(about.Stores['Rate limits']).toBe('[database] rate_limits');
    expect(about['Connection [database]'].Server).toMatch(/^sqlite \d+\.\d+/);
    expect(about['Connection [cache]']).toEqual({
      Driver: 'redis',
      Server: expect.stringMatching(
        new RegExp(`^Redis \\d+\\.\\d+\\.\\d+ \\(standalone\\) at 127\\.0\\.0\\.1:${redis.port}$`),
      ),
      Persistence: 'AOF on (appendfsync always), RDB off',
      Memory: 'maxmemory-policy noeviction, maxmemory 0 (no limit)',
    });
  });

  it('queue:monitor heads its table with the Redis server behind the queues', async () => {
    const { code, stdout, stderr } = await runCli(['queue:monitor', 'cache:default'], dir);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toMatch(
      new RegExp(
        `^  \\[cache\\] Redis \\S+ \\(standalone\\) at 127\\.0\\.0\\.1:${redis.port} · AOF on \\(appendfsync always\\), RDB off · maxmemory-policy noeviction$`,
      ),
    );
    expect(stdout).toContain('[cache] default');
  });
});
