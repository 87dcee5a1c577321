import type { ResolvedConnection } from '../config/config-types.js';
import type { BatchRepository } from '../contracts/batch-repository.js';
import type { FailedJobBrowser, FailedJobStore } from '../contracts/failed-job-store.js';
import type { LockStore } from '../contracts/lock-store.js';
import type { MetricsRepository } from '../contracts/metrics-repository.js';
import type { ModelResolver } from '../contracts/model-resolver.js';
import type { Queue, StoreTransaction } from '../contracts/queue.js';
import type { QueueInspector } from '../contracts/queue-inspector.js';
import type { RateLimitStore } from '../contracts/rate-limit-store.js';
import type { WorkerQueue } from '../contracts/worker-queue.js';
import { ConfigError } from '../errors/config-error.js';
import type { RegisteredModel } from '../models/model-options.js';
import { createKnex } from './database/create-knex.js';
import { DatabaseBatchRepository } from './database/database-batch-repository.js';
import { describeDatabaseError } from './database/database-error.js';
import { DatabaseFailedJobBrowser } from './database/database-failed-job-browser.js';
import { DatabaseFailedJobStore } from './database/database-failed-job-store.js';
import { DatabaseLockStore } from './database/database-lock-store.js';
import { DatabaseMetricsRepository } from './database/database-metrics-repository.js';
import { DatabaseQueue } from './database/database-queue.js';
import { DatabaseQueueInspector } from './database/database-queue-inspector.js';
import { DatabaseRateLimitStore } from './database/database-rate-limit-store.js';
import { KnexModelResolver } from './database/knex-model-resolver.js';
import { migrate } from './database/migrations/migrate.js';
import { knexTransaction } from './database/store-transaction.js';

export { knexConfigOf } from './database/store-transaction.js';

import { NullQueue } from './null/null-queue.js';
import { openRedisClient } from './redis/redis-client.js';
import { RedisLockStore } from './redis/redis-lock-store.js';
import { RedisMetricsRepository } from './redis/redis-metrics-repository.js';
import { RedisQueue } from './redis/redis-queue.js';
import { RedisQueueInspector } from './redis/redis-queue-inspector.js';
import { RedisRateLimitStore } from './redis/redis-rate-limit-store.js';
import { describeRedisServers, redisServerLines } from './redis/server-facts.js';
import { SyncQueue } from './sync/sync-queue.js';

// The one door into src/drivers for the rest of errand: a connection is opened by its
// configuration's driver name, and the stores that live on an opened connection are opened here
// too. Nothing outside src/drivers imports a driver's own files or asks `instanceof` of its
// classes (test/unit/driver-seam.test.ts checks), so a new driver is a folder beside
// database/, sync/ and null/ plus a branch in the functions below.

/**
 * Opens the queue of connection `name`; `runSyncPayload` runs a job inline (the `sync` driver).
 * Opening a database connection makes its pool, which connects on first use.
 */
export function openQueue(
  name: string,
  config: ResolvedConnection,
  runSyncPayload: (payload: string) => Promise<void>,
): Queue {
  switch (config.driver) {
    case 'database':
      return new DatabaseQueue(name, createKnex(config, name), config);
    case 'redis':
      return new RedisQueue(name, openRedisClient(config, name), config);
    case 'sync':
      return new SyncQueue(name, runSyncPayload);
    default:
      return new NullQueue(name);
  }
}

/** The `failed_jobs` table `table` in the store of `queue`. */
export function openFailedJobStore(queue: WorkerQueue, table: string): FailedJobStore {
  const database = databaseOf(queue, 'failed jobs');
  return new DatabaseFailedJobStore(database.knex, table, database.connectionName, database.config);
}

/**
 * What the dashboard reads of the failed_jobs table `table` in the store of `queue`: pages and
 * capped counts served by its indexes.
 */
export function openFailedJobBrowser(queue: WorkerQueue, table: string): FailedJobBrowser {
  const database = databaseOf(queue, 'failed jobs');
  return new DatabaseFailedJobBrowser({ knex: database.knex, table }, database.connectionName, database.config);
}

/**
 * What the dashboard reads of the jobs, queues and workers of `queue`'s connection, without
 * scanning its jobs (it shares the queue's pool or client; closing the queue closes it).
 */
export function openQueueInspector(queue: WorkerQueue): QueueInspector {
  if (queue instanceof DatabaseQueue) return new DatabaseQueueInspector(queue);
  if (queue instanceof RedisQueue) return new RedisQueueInspector(queue.connectionName, queue.client, queue.keys);
  throw new ConfigError(
    `Queue connection [${queue.connectionName}] keeps no jobs for the dashboard to read: only database and redis connections have an inspector.`,
  );
}

/**
 * Where unique jobs and WithoutOverlapping keep their locks in the store of `queue`: the locks
 * table `table` of a database, or the keys under a redis connection's prefix (sharing its client).
 */
export function openLockStore(queue: WorkerQueue, table: string): LockStore {
  if (queue instanceof RedisQueue) return new RedisLockStore(queue.client, queue.config.prefix, queue.connectionName);
  const database = databaseOf(queue, 'locks');
  return new DatabaseLockStore(database.knex, table, database.connectionName, database.config);
}

/**
 * The lock store to take a unique job's lock in when its push joins `transaction` (the
 * application's own: `withTransaction(trx)`, or `afterCommit` in it): the same table inside that
 * transaction when the store lives in the transaction's database, so the lock is kept on commit
 * and freed with the job on rollback (and on SQLite, whose transaction holds the only connection,
 * a lock taken beside it could not even start); else `store` itself.
 */
export function lockStoreWithin(store: LockStore, transaction: StoreTransaction | undefined): LockStore {
  if (transaction && store instanceof DatabaseLockStore && store.opensOn(knexTransaction(transaction)))
    return store.within(knexTransaction(transaction));
  return store;
}

/** The batches table `table` in the store of `queue`. */
export function openBatchRepository(queue: WorkerQueue, table: string): BatchRepository {
  const database = databaseOf(queue, 'batches');
  return new DatabaseBatchRepository(database.knex, table, database.connectionName, database.config);
}

/**
 * The rate-limit counters of RateLimited and ThrottlesExceptions in the store of `queue`: the
 * table `table` of a database, or keys under a redis connection's prefix (sharing its client).
 */
export function openRateLimitStore(queue: WorkerQueue, table: string): RateLimitStore {
  if (queue instanceof RedisQueue)
    return new RedisRateLimitStore(queue.client, queue.config.prefix, queue.connectionName);
  const database = databaseOf(queue, 'rate limits');
  const limits = { knex: database.knex, engine: database.engine, table };
  return new DatabaseRateLimitStore(limits, (error) =>
    describeDatabaseError(error, database.connectionName, database.config, table),
  );
}

/**
 * The per-minute rollup of finished attempts (`metrics` in the config) in the store of `queue`,
 * where its workers write it: the table `metrics.table` of a database (migration 0013), or hashes
 * under a redis connection's prefix expiring `metrics.retention` hours after their period
 * (sharing its client). Closing it leaves the queue's connection open.
 */
export function openMetricsRepository(
  queue: WorkerQueue,
  metrics: { readonly table: string; readonly retention: number },
): MetricsRepository {
  if (queue instanceof RedisQueue)
    return new RedisMetricsRepository(queue.client, queue.keys, metrics.retention * 3600);
  const database = databaseOf(queue, 'the metrics rollup');
  return new DatabaseMetricsRepository(database.knex, metrics.table, database.connectionName, database.config);
}

/** Where errand's own tables beside the queue's (jobs, workers, controls) live in its store, by name. */
export interface StoreTables {
  failed?: string;
  locks?: string;
  batches?: string;
  rateLimits?: string;
  /** The metrics rollup of this connection's workers (`metrics.table`). */
  metrics?: string;
}

/**
 * Creates or updates errand's tables in the store of `queue`: its own, and `tables` where they
 * live in the same store. Resolves to the steps that ran now (empty when up to date).
 */
export async function migrateStore(queue: WorkerQueue, tables: StoreTables): Promise<string[]> {
  // Redis keys need no schema: nothing to create, and errand's tables live on a database connection.
  if (queue instanceof RedisQueue) return [];
  const database = databaseOf(queue, 'migrations');
  try {
    const { workersTable, controlsTable } = database.config;
    return await migrate(database.knex, {
      jobs: [database.table],
      failed: tables.failed,
      workers: [workersTable],
      controls: [controlsTable],
      locks: tables.locks,
      batches: tables.batches,
      rateLimits: tables.rateLimits,
      metrics: tables.metrics ? [tables.metrics] : undefined,
    });
  } catch (error) {
    throw describeDatabaseError(error, database.connectionName, database.config, database.table);
  }
}

/**
 * The resolver of `@Model` classes: each model is read through the store of the queue
 * `queueFor` gives for its connection (null: the model names none).
 */
export function modelResolver(
  queueFor: (connection: string | null, model: RegisteredModel) => Promise<WorkerQueue>,
): ModelResolver {
  return new KnexModelResolver(
    async (connection, model) => databaseOf(await queueFor(connection, model), 'models').knex,
  );
}

/** A label and its value, as `errand about` prints them. */
export type StoreFact = readonly [label: string, value: string];

/**
 * What the server behind `queue` says of itself, for `errand about`: its engine and version, and
 * for Redis its persistence and memory policy. Rejects when the server cannot be reached.
 */
export async function describeStore(queue: WorkerQueue): Promise<StoreFact[]> {
  if (queue instanceof DatabaseQueue) {
    const server = await queue.server();
    return [
      ['Server', `${server.engine} ${server.version}`],
      ['Jobs table', queue.table],
    ];
  }
  if (queue instanceof RedisQueue) return describeRedisServers(queue.client);
  return [];
}

/**
 * What a queue's server says of itself in a line per server, where that decides whether its jobs
 * survive a restart or memory pressure (Redis: version, persistence, memory policy, for each master
 * of a cluster); none for a database, whose durability is not a setting errand can read.
 */
export async function serverSummary(queue: WorkerQueue): Promise<string[]> {
  return queue instanceof RedisQueue ? redisServerLines(queue.client) : [];
}

/** The database queue behind `queue`, for a store that only a database keeps. */
function databaseOf(queue: WorkerQueue, what: string): DatabaseQueue {
  if (queue instanceof DatabaseQueue) return queue;
  throw new ConfigError(
    `Queue connection [${queue.connectionName}] does not keep its jobs in a database; errand keeps ${what} in a database.`,
  );
}
