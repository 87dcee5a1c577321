import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import knexFactory, { type Knex } from 'knex';

import type { DatabaseConnectionConfig, ErrandConfig } from '../../src/config/config-types.js';
import { REDIS_PREFIX, REDIS_URL, redisVersion } from './redis-server.js';

/** The engines the benchmark measures. */
export type BenchEngine = 'sqlite' | 'mysql' | 'postgres' | 'redis';

export const ENGINES: BenchEngine[] = ['sqlite', 'mysql', 'postgres', 'redis'];

/** The engines that are SQL databases (the raw-SQL floor and the claim-growth scenario run on these). */
export type DatabaseEngine = Exclude<BenchEngine, 'redis'>;

/** Server URLs (override with MYSQL_URL / POSTGRES_URL); the bench works in its own database. */
const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** The database the bench creates and drops (override with ERRAND_BENCH_DATABASE). */
export const BENCH_DATABASE = process.env.ERRAND_BENCH_DATABASE ?? 'errand_bench';

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

/** Knex settings for the engine's bench database (created by `prepareDatabase`). */
export function knexConfig(engine: DatabaseEngine, sqliteFile?: string): Knex.Config {
  if (engine === 'sqlite')
    return { client: 'better-sqlite3', connection: { filename: sqliteFile! }, useNullAsDefault: true };
  return {
    client: engine === 'mysql' ? 'mysql2' : 'pg',
    connection: withDatabase(engine === 'mysql' ? MYSQL_URL : POSTGRES_URL, BENCH_DATABASE),
  };
}

/** errand's connection config for the engine's bench database. */
export function connectionConfig(engine: DatabaseEngine, sqliteFile?: string): DatabaseConnectionConfig {
  const { client, connection } = knexConfig(engine, sqliteFile);
  return {
    driver: 'database',
    client: client as DatabaseConnectionConfig['client'],
    connection: connection as DatabaseConnectionConfig['connection'],
  };
}

/**
 * What a scenario boots errand with: the engine's connection as the default one. On redis the
 * jobs live in Redis and failed jobs in a SQLite file (`sqliteFile`), as an application keeps
 * them in its database.
 */
export function bootConfig(engine: BenchEngine, sqliteFile?: string): ErrandConfig {
  if (engine !== 'redis')
    return { default: 'database', connections: { database: connectionConfig(engine, sqliteFile) } };
  if (!sqliteFile) throw new Error('bench: the redis engine needs --sqlite (the failed jobs file).');
  return {
    default: 'redis',
    connections: {
      redis: { driver: 'redis', url: REDIS_URL, prefix: REDIS_PREFIX },
      database: connectionConfig('sqlite', sqliteFile),
    },
    failed: { driver: 'database', connection: 'database' },
  };
}

/** A new SQLite file in a fresh temporary directory. */
export function sqliteFile(): string {
  return path.join(mkdtempSync(path.join(os.tmpdir(), 'errand-bench-')), 'bench.sqlite');
}

/**
 * Drops and recreates the bench database on a server engine, so every run starts from the same
 * empty state. Undefined when it worked, else why the engine is not available.
 */
export async function prepareDatabase(engine: 'mysql' | 'postgres'): Promise<string | undefined> {
  const admin = knexFactory({
    client: engine === 'mysql' ? 'mysql2' : 'pg',
    connection: engine === 'mysql' ? MYSQL_URL : POSTGRES_URL,
    pool: { min: 0, max: 1 },
    acquireConnectionTimeout: 3000,
  });
  try {
    if (engine === 'mysql') {
      await admin.raw(`drop database if exists ${BENCH_DATABASE}`);
      await admin.raw(`create database ${BENCH_DATABASE}`);
    } else {
      await admin.raw(`drop database if exists ${BENCH_DATABASE} with (force)`);
      await admin.raw(`create database ${BENCH_DATABASE}`);
    }
    return undefined;
  } catch (error) {
    return (error as Error).message;
  } finally {
    await admin.destroy();
  }
}

/**
 * Drops every table of the bench database, so a scenario starts on fresh tables and indexes, as
 * the peers' runners recreate their schemas: dead rows and index bloat left by the scenarios
 * before would otherwise slow this one's claims.
 */
export async function emptyDatabase(knex: Knex, engine: DatabaseEngine): Promise<void> {
  if (engine === 'postgres') {
    await knex.raw('drop schema public cascade');
    await knex.raw('create schema public');
    return;
  }
  const tables =
    engine === 'mysql'
      ? (
          (await knex.raw(
            'select table_name as name from information_schema.tables where table_schema = database()',
          )) as [Array<{ name: string }>]
        )[0]
      : ((await knex.raw("select name from sqlite_master where type = 'table' and name not like 'sqlite_%'")) as Array<{
          name: string;
        }>);
  if (engine === 'mysql') await knex.raw('set foreign_key_checks = 0');
  for (const { name } of tables) await knex.schema.dropTableIfExists(name);
  if (engine === 'mysql') await knex.raw('set foreign_key_checks = 1');
}

/** The server's version string (SQLite's library version), for the report. */
export async function serverVersion(engine: BenchEngine, file?: string): Promise<string> {
  if (engine === 'redis') return redisVersion();
  const knex = knexFactory({ ...knexConfig(engine, file ?? ':memory:'), pool: { min: 0, max: 1 } });
  try {
    if (engine === 'sqlite') return ((await knex.raw('select sqlite_version() as v')) as Array<{ v: string }>)[0]!.v;
    if (engine === 'mysql') return ((await knex.raw('select version() as v')) as Array<Array<{ v: string }>>)[0]![0]!.v;
    return ((await knex.raw('show server_version')) as { rows: Array<{ server_version: string }> }).rows[0]!
      .server_version;
  } catch (error) {
    return `unknown (${(error as Error).message})`;
  } finally {
    await knex.destroy();
  }
}
