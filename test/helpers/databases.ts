import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import knexFactory, { type Knex } from 'knex';
import { afterAll, describe, it } from 'vitest';

import type { DatabaseConnectionConfig, RedisConnectionConfig } from '../../src/config/config-types.js';

/** The SQL engines the database driver is tested on. */
export type DatabaseEngine = 'sqlite' | 'mysql' | 'postgres';

/** Every store the integration suite runs against: the SQL engines and Redis. */
export type TestEngine = DatabaseEngine | 'redis';

const ALL: DatabaseEngine[] = ['sqlite', 'mysql', 'postgres'];

/** Server URLs; override with MYSQL_URL / POSTGRES_URL. */
export const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
export const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The Redis test server; override with REDIS_TEST_URL (REDIS_URL is what errand itself reads). */
export const REDIS_TEST_URL = process.env.REDIS_TEST_URL ?? 'redis://127.0.0.1:6379';

let redisReachability: Promise<string | undefined> | undefined;

/** Undefined when the Redis test server answers PING, else why not. */
export function redisUnreachableReason(): Promise<string | undefined> {
  redisReachability ??= (async () => {
    const { createClient } = await import('redis');
    const client = createClient({ url: REDIS_TEST_URL, socket: { connectTimeout: 3000, reconnectStrategy: false } });
    client.on('error', () => {});
    try {
      await client.connect();
      return (await client.ping()) === 'PONG' ? undefined : 'PING did not answer PONG';
    } catch (error) {
      return `${REDIS_TEST_URL}: ${(error as Error).message || (error as Error).name}`;
    } finally {
      if (client.isOpen) client.destroy();
    }
  })();
  return redisReachability;
}

/**
 * Runs `body` on Redis when TEST_DB selects it (unset, or naming `redis`), as describeEachEngine
 * does for the SQL engines: an unreachable server fails under CI=true and is skipped loudly elsewhere.
 */
export async function describeOnRedis(title: string, body: () => void): Promise<void> {
  if (redisSelected()) await describeIfReachable(title, 'redis', body);
  else skipUnselected(`${title} [redis]`, body);
}

/**
 * Registers `body` skipped, for a suite TEST_DB leaves out: a file whose only suite is left out
 * must still hold one, or vitest fails it as "no test suite found" (`npm run test:sqlite`).
 */
export function skipUnselected(title: string, body: () => void): void {
  // Skipped on purpose: TEST_DB names other stores.
  describe.skip(`${title} (not selected by TEST_DB=${process.env.TEST_DB})`, body);
}

/** A key prefix no other test file or helper uses: `errand-test:<file>:<random>:`. */
export function redisTestPrefix(file: string): string {
  return `errand-test:${file}:${Math.random().toString(36).slice(2, 10)}:`;
}

/** The SQL engines selected by TEST_DB (comma list), default all three. */
export function selectedEngines(): DatabaseEngine[] {
  const wanted = testDb();
  return wanted ? ALL.filter((e) => wanted.includes(e)) : ALL;
}

/** Every engine TEST_DB selects: the SQL ones, then Redis (all four when unset). */
export function selectedTestEngines(): TestEngine[] {
  return redisSelected() ? [...selectedEngines(), 'redis'] : selectedEngines();
}

/** Whether TEST_DB selects Redis (it does when unset). */
export function redisSelected(): boolean {
  return testDb()?.includes('redis') ?? true;
}

function testDb(): string[] | undefined {
  return process.env.TEST_DB?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function adminConfig(engine: Exclude<DatabaseEngine, 'sqlite'>): Knex.Config {
  return {
    client: engine === 'mysql' ? 'mysql2' : 'pg',
    connection: engine === 'mysql' ? MYSQL_URL : POSTGRES_URL,
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 3000,
  };
}

const reachability = new Map<TestEngine, Promise<string | undefined>>();

/** Undefined when the engine answers, else why not. */
export function unreachableReason(engine: TestEngine): Promise<string | undefined> {
  if (engine === 'sqlite') return Promise.resolve(undefined);
  if (engine === 'redis') return redisUnreachableReason();
  let pending = reachability.get(engine);
  if (!pending) {
    pending = (async () => {
      const knex = knexFactory(adminConfig(engine));
      try {
        await knex.raw('select 1');
        return undefined;
      } catch (error) {
        return (error as Error).message;
      } finally {
        await knex.destroy();
      }
    })();
    reachability.set(engine, pending);
  }
  return pending;
}

/**
 * A fresh, empty database for one test file on one engine, as errand connection config. Each file
 * gets its own database, so files can run in parallel without sharing tables.
 */
export async function freshDatabase(engine: DatabaseEngine, name: string): Promise<DatabaseConnectionConfig> {
  // ERRAND_TEST_DB_PREFIX keeps two checkouts testing at once on one server out of each other's tables.
  const prefix = process.env.ERRAND_TEST_DB_PREFIX ?? '';
  const dbName = `errand_${`${prefix}${name}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}`;
  if (engine === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-test-'));
    return {
      driver: 'database',
      client: 'better-sqlite3',
      connection: { filename: path.join(dir, `${dbName}.sqlite`) },
    };
  }
  const admin = knexFactory(adminConfig(engine));
  try {
    if (engine === 'mysql') {
      await admin.raw(`drop database if exists ${dbName}`);
      await admin.raw(`create database ${dbName}`);
      const url = new URL(MYSQL_URL);
      url.pathname = `/${dbName}`;
      return { driver: 'database', client: 'mysql2', connection: url.toString() };
    }
    await admin.raw(`drop database if exists ${dbName} with (force)`);
    await admin.raw(`create database ${dbName}`);
    const url = new URL(POSTGRES_URL);
    url.pathname = `/${dbName}`;
    return { driver: 'database', client: 'pg', connection: url.toString() };
  } finally {
    await admin.destroy();
  }
}

/**
 * The connections an engine-generic suite boots on. Jobs queue on the default connection:
 * `database` on a SQL engine, `redis` on Redis. The connection named `database` is always a
 * database (on Redis, a SQLite file beside it), which is where failed jobs, batches, models and a
 * suite's own tables (its ledger) live, as they do for an application that queues on Redis.
 */
export interface TestStore {
  readonly engine: TestEngine;
  /** The default connection's name: where jobs queue. */
  readonly default: 'database' | 'redis';
  /** The `database` connection. */
  readonly database: DatabaseConnectionConfig;
  /** The `redis` connection, on the redis engine: its own key prefix, so files never share keys. */
  readonly redis?: RedisConnectionConfig;
}

/** `store`'s connections as an errand config's `connections`. */
export function storeConnections(store: TestStore): {
  database: DatabaseConnectionConfig;
  redis?: RedisConnectionConfig;
} {
  return store.redis ? { database: store.database, redis: store.redis } : { database: store.database };
}

/** The key prefixes the redis stores of this file were given, dropped after its redis suites. */
const redisPrefixes: string[] = [];

/**
 * A fresh store for one test file on `engine`: a fresh database (see freshDatabase), and on the
 * redis engine a redis connection under a key prefix no other file or run uses, beside a fresh
 * SQLite database.
 */
export async function freshStore(engine: TestEngine, name: string): Promise<TestStore> {
  if (engine !== 'redis') return { engine, default: 'database', database: await freshDatabase(engine, name) };
  const prefix = redisTestPrefix(name);
  redisPrefixes.push(prefix);
  return {
    engine,
    default: 'redis',
    database: await freshDatabase('sqlite', name),
    redis: { driver: 'redis', url: REDIS_TEST_URL, prefix },
  };
}

/**
 * Runs `use` on a node-redis client of REDIS_TEST_URL that connects once (no reconnecting: a test
 * helper must fail, not wait), then closes it. The `redis` package is loaded here only, so a run
 * that selects no redis engine never needs it.
 */
export async function withRedis<T>(use: (client: RedisTestClient) => Promise<T>): Promise<T> {
  const { createClient } = await import('redis');
  const client = createClient({ url: REDIS_TEST_URL, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  // node-redis emits connection errors as events too; the rejected connect() already reports them.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client as unknown as RedisTestClient);
  } finally {
    client.destroy();
  }
}

/** The few node-redis commands the test helpers use. */
export interface RedisTestClient {
  sendCommand(args: string[]): Promise<unknown>;
}

/** Deletes every key under `prefix` (SCAN, never FLUSHALL: other files and checkouts share the server). */
export async function dropRedisKeys(prefix: string): Promise<void> {
  await withRedis(async (client) => {
    let cursor = '0';
    do {
      const [next, keys] = (await client.sendCommand(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [
        string,
        string[],
      ];
      if (keys.length > 0) await client.sendCommand(['UNLINK', ...keys]);
      cursor = next;
    } while (cursor !== '0');
  });
}

/** How many workers are registered on a redis connection (its connection-wide workers set). */
export async function redisWorkerCount(connection: RedisConnectionConfig): Promise<number> {
  return withRedis(async (client) => Number(await client.sendCommand(['ZCARD', `${connection.prefix}{@}:workers`])));
}

const warned = new Set<TestEngine>();

/**
 * Runs `body` once per selected engine, Redis included: such a suite goes through errand's public
 * API and CLI, and reads only what lives in the `database` connection (see TestStore). A suite
 * that reads or writes the jobs' own SQL tables runs through `databaseOnly(reason)` instead. An
 * engine that cannot be reached fails the run under CI=true; elsewhere its suite is skipped with
 * one loud line saying how to enable it.
 */
export async function describeEachEngine(title: string, body: (engine: TestEngine) => void): Promise<void> {
  for (const engine of selectedTestEngines()) await describeIfReachable(title, engine, () => body(engine));
}

/**
 * describeEachEngine for a suite that runs on the SQL engines only, `because` it reads or writes
 * the jobs' own tables (or what else only a database has): written where the suite opts out, and
 * listed as a skipped test of the redis engine, so a run on Redis shows what it leaves out and why.
 */
export function databaseOnly(
  because: string,
): (title: string, body: (engine: DatabaseEngine) => void) => Promise<void> {
  return async (title, body) => {
    for (const engine of selectedEngines()) await describeIfReachable(title, engine, () => body(engine));
    if (redisSelected())
      describe(`${title} [redis]`, () => it.skip(`runs on the SQL engines only: ${because}`, () => undefined));
  };
}

async function describeIfReachable(title: string, engine: TestEngine, body: () => void): Promise<void> {
  const reason = await unreachableReason(engine);
  if (!reason) {
    describe(`${title} [${engine}]`, () => {
      // Registered first, so it runs after the suite's own afterAll hooks (they run in reverse).
      if (engine === 'redis') afterAll(dropRedisPrefixes);
      body();
    });
    return;
  }
  if (process.env.CI === 'true') {
    describe(`${title} [${engine}]`, () => {
      it(`reaches the ${engine} server`, () => {
        throw new Error(`CI=true and the ${engine} test server is unreachable: ${reason}`);
      });
    });
    return;
  }
  if (!warned.has(engine)) {
    const start =
      engine === 'redis'
        ? 'start it with `redis-server --daemonize yes --bind 127.0.0.1` or set REDIS_TEST_URL'
        : 'start the server (see README "Running the tests") or set MYSQL_URL / POSTGRES_URL';
    console.warn(
      `\n!!! ${engine} is unreachable (${reason}); its integration suites are SKIPPED: ${start}; CI=true makes this a failure.\n`,
    );
    warned.add(engine);
  }
  // Skipped on purpose, with the reason printed above: no server to test against on this machine.
  describe.skip(`${title} [${engine}] (server unreachable: reason printed above)`, body);
}

async function dropRedisPrefixes(): Promise<void> {
  for (const prefix of redisPrefixes.splice(0)) await dropRedisKeys(prefix);
}
