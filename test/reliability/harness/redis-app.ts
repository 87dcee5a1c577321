import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import knexFactory, { type Knex } from 'knex';
import { createClient } from 'redis';

import { REDIS_TEST_URL, redisTestPrefix } from '../../helpers/databases.js';
import { runCli } from '../../helpers/run-cli.js';
import type { WorkerApp } from '../../helpers/worker-process.js';
import { CHAOS_JOBS } from './controller.js';
import { createLedger } from './ledger.js';

/** The queue every Redis scenario works. */
export const QUEUE = 'default';

/**
 * A worker app whose default connection is Redis (its own key prefix) and whose failed jobs, like
 * the ledger the fixtures write, live in a SQLite file of its own: the `knex` of WorkerApp is that
 * file's. `config` is what errand.config.mjs exports, for a producer in the test process.
 */
export interface RedisChaosApp extends WorkerApp {
  readonly config: Record<string, unknown>;
  readonly prefix: string;
  readonly probe: RedisProbe;
}

/**
 * Writes errand.config.mjs (`redis` the default connection with `overrides`, `database` a SQLite
 * file holding failed_jobs), runs `errand migrate`, and creates the ledger in the SQLite file.
 * `close()` deletes every key under the app's prefix (never anything else on the server).
 */
export async function createRedisChaosApp(
  name: string,
  options: { url?: string; bootstrap?: string[]; overrides?: Record<string, unknown>; ledgerPool?: number } = {},
): Promise<RedisChaosApp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-reliability-'));
  const url = options.url ?? REDIS_TEST_URL;
  // Own prefix per app: files run side by side on one server, and a rerun never meets old keys.
  const prefix = redisTestPrefix(name);
  const filename = path.join(dir, 'store.sqlite');
  const config = {
    default: 'redis',
    connections: {
      redis: { driver: 'redis', url, prefix, ...options.overrides },
      database: { driver: 'database', client: 'better-sqlite3', connection: { filename } },
    },
    failed: { driver: 'database', connection: 'database' },
    bootstrap: options.bootstrap ?? [CHAOS_JOBS],
  };
  writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
  const migrated = await runCli(['migrate'], dir);
  if (migrated.code !== 0) throw new Error(`errand migrate failed:\n${migrated.stdout}\n${migrated.stderr}`);
  const knexConfig: Knex.Config = {
    client: 'better-sqlite3',
    connection: { filename },
    useNullAsDefault: true,
    pool: { min: 0, max: options.ledgerPool ?? 8 },
  };
  const knex = knexFactory(knexConfig);
  await createLedger(knex);
  const probe = await RedisProbe.open(url, prefix);
  return {
    dir,
    knex,
    config,
    prefix,
    probe,
    env: { LEDGER_KNEX: JSON.stringify(knexConfig) },
    async close() {
      await probe.removeAll().catch(() => undefined);
      await probe.close();
      await knex.destroy();
    },
  };
}

type Client = ReturnType<typeof createClient>;

/**
 * The test's own look at the store, past the driver: the keys src/drivers/redis/redis-keys.ts lays
 * out (`P{q}:waiting`, `:reserved`, `:job:<id>`), read and written with plain commands, so a
 * scenario can see what a write did and plant entries no producer would write.
 */
export class RedisProbe {
  private constructor(
    private readonly client: Client,
    readonly prefix: string,
  ) {}

  static async open(url: string, prefix: string): Promise<RedisProbe> {
    // No reconnect storm in the test's own output when a private server is down on purpose.
    const client = createClient({ url, socket: { reconnectStrategy: () => 200 } });
    client.on('error', () => undefined);
    await client.connect();
    return new RedisProbe(client, prefix);
  }

  /** A key of queue `queue` (`waiting`, `reserved`, `notify`, `job:<id>`). */
  key(queue: string, suffix: string): string {
    return `${this.prefix}{${queue}}:${suffix}`;
  }

  /** Sends one command as is. */
  async send(args: string[]): Promise<unknown> {
    return this.client.sendCommand(args);
  }

  /** The server's clock, epoch ms (every script's clock). */
  async now(): Promise<number> {
    const [seconds, micros] = (await this.send(['TIME'])) as [string, string];
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Waiting ids (ready and delayed alike) and when each is available (server ms). */
  async waiting(queue = QUEUE): Promise<Map<string, number>> {
    return this.scored(this.key(queue, 'waiting'));
  }

  /** Reserved ids and their lease expiry (server ms). */
  async reserved(queue = QUEUE): Promise<Map<string, number>> {
    return this.scored(this.key(queue, 'reserved'));
  }

  /** When worker `id` will be presumed dead (server ms; its beats move it on), or undefined when it is not registered. */
  async presumedDeadAt(id: string): Promise<number | undefined> {
    const score = await this.send(['ZSCORE', `${this.prefix}{@}:workers`, id]);
    return score === null ? undefined : Number(score);
  }

  /** Resolves once worker `id` has beaten since it registered (the first beat comes after its monitor thread starts). */
  async firstBeat(id: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let first: number | undefined;
    for (;;) {
      const at = await this.presumedDeadAt(id);
      if (first !== undefined && at !== undefined && at !== first) return;
      first ??= at;
      if (Date.now() > deadline) throw new Error(`worker ${id} did not beat within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** A job's hash (payload, attempts, exceptions, token …); empty once it is gone. */
  async job(id: string, queue = QUEUE): Promise<Record<string, string>> {
    const flat = (await this.send(['HGETALL', this.key(queue, `job:${id}`)])) as string[] | Record<string, string>;
    if (!Array.isArray(flat)) return flat;
    const hash: Record<string, string> = {};
    for (let i = 0; i < flat.length; i += 2) hash[flat[i]!] = flat[i + 1]!;
    return hash;
  }

  /** Every key under the app's prefix. */
  async keys(): Promise<string[]> {
    const found: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = (await this.send(['SCAN', cursor, 'MATCH', `${this.prefix}*`, 'COUNT', '1000'])) as [
        string,
        string[],
      ];
      found.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    return found.sort();
  }

  /** The job hashes still stored (nothing is kept for a finished job). */
  async jobKeys(queue = QUEUE): Promise<string[]> {
    const marker = this.key(queue, 'job:');
    return (await this.keys()).filter((key) => key.startsWith(marker));
  }

  /** Deletes every key under the app's prefix. */
  async removeAll(): Promise<void> {
    const keys = await this.keys();
    for (let i = 0; i < keys.length; i += 500) await this.send(['DEL', ...keys.slice(i, i + 500)]);
  }

  async close(): Promise<void> {
    await this.client.close().catch(() => this.client.destroy());
  }

  private async scored(key: string): Promise<Map<string, number>> {
    const flat = (await this.send(['ZRANGE', key, '0', '-1', 'WITHSCORES'])) as string[];
    const scored = new Map<string, number>();
    for (let i = 0; i < flat.length; i += 2) scored.set(flat[i]!, Number(flat[i + 1]));
    return scored;
  }
}
