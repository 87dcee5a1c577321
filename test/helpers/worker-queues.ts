import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

import type { ErrandConfig, ResolvedConfig, ResolvedDatabaseConnection } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import type { FailedJobStore } from '../../src/contracts/failed-job-store.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { dialect } from '../../src/drivers/database/dialect.js';
import { migrate } from '../../src/drivers/database/migrations/migrate.js';
import { RedisQueue } from '../../src/drivers/redis/redis-queue.js';
import { QueueManager } from '../../src/runtime/queue-manager.js';
import { databaseOnly, describeOnRedis, freshDatabase, redisTestPrefix } from './databases.js';
import { describeWithRedisServer } from './private-redis.js';
import { type PrivateRedisCluster, startRedisCluster } from './redis-cluster.js';

/** A job as its store holds it, read past the contract so the suite can check what a write did. */
export interface StoredJob {
  readonly queue: string;
  readonly attempts: number;
  readonly exceptions: number;
  /** The lease token holding it; null when it is not reserved. */
  readonly reservedBy: string | null;
  /** When it becomes claimable, on the store's clock (unix seconds). */
  readonly availableAt: number;
}

/**
 * One driver under test, fresh for each test: its queue, the failed-job store it records into,
 * and the few things a contract test must do that no worker does (read the store's clock, look at
 * a job, age a heartbeat or a reservation instead of waiting out a lapse).
 */
export interface WorkerQueueSubject {
  readonly queue: WorkerQueue;
  /** The failed-job store configured beside the queue (`fail` writes in one transaction when the queue shares its store). */
  readonly failer: FailedJobStore;
  /** Requests per statement in `bulk`: a list longer than this is written in chunks. */
  readonly bulkChunk: number;
  /**
   * What `listen` promises: `queue`, a call naming the queue for every push from any process;
   * `any`, a call without a queue (`undefined`) for writes to the store; `none`, no call at all
   * (workers poll).
   */
  readonly wakeUps: 'queue' | 'any' | 'none';
  /** The store's clock, unix seconds: every delay and lapse is measured on it. */
  now(): Promise<number>;
  /** The job as stored; undefined once it is gone. */
  peek(id: string): Promise<StoredJob | undefined>;
  /** As if the worker's last heartbeat (or registration) had come `seconds` earlier. */
  backdateWorker(workerId: string, seconds: number): Promise<void>;
  /** As if the job's reservation (claim or last renewal) had been made `seconds` earlier. */
  backdateReservation(jobId: string, seconds: number): Promise<void>;
  /**
   * How long, in milliseconds, the queue's own connection now waits for another process's lock,
   * on a store where `limitLockWaits` sets it; undefined where it does nothing.
   */
  lockWait(): Promise<number | undefined>;
}

/** Which driver and store a suite runs on. */
export interface DriverUnderTest {
  readonly driver: string;
  readonly store: string;
}

/** Heartbeats every second, presumed dead a minute after the last: tests age workers and leases, they never wait one out. */
const HEARTBEAT = { interval: 1, lapse: 60 };
const RETRY_AFTER = 120;

const describeEachSql = databaseOnly('the database driver on each SQL engine; the redis driver has its describe below');

/**
 * Runs `body` once per driver and store under test (the database driver on each engine TEST_DB
 * selects, the redis driver when TEST_DB selects redis), with `subject()` giving the current
 * test's fresh queue. A new driver adds its own describe here; the suite itself does not change.
 */
export async function describeEachWorkerQueue(
  title: string,
  body: (subject: () => WorkerQueueSubject, under: DriverUnderTest) => void,
): Promise<void> {
  await describeDatabaseQueues(title, body);
  await describeEachRedisQueue(title, body);
}

/**
 * Runs `body` on the redis driver only, on the standalone server and on a cluster of its own, as
 * describeEachWorkerQueue does: for what only Redis has (its key layout, its scripts' limits).
 */
export async function describeEachRedisQueue(
  title: string,
  body: (subject: () => WorkerQueueSubject, under: DriverUnderTest) => void,
): Promise<void> {
  await describeOnRedis(title, () => describeRedisQueue(body, { driver: 'redis', store: 'standalone' }, {}));
  describeOnRedisCluster(title, (connection) =>
    describeRedisQueue(body, { driver: 'redis', store: 'cluster' }, connection),
  );
}

async function describeDatabaseQueues(
  title: string,
  body: (subject: () => WorkerQueueSubject, under: DriverUnderTest) => void,
): Promise<void> {
  await describeEachSql(`${title} [database]`, (engine) => {
    let config: ResolvedConfig;
    let manager: QueueManager | undefined;
    let current: WorkerQueueSubject | undefined;

    beforeAll(async () => {
      const connection = await freshDatabase(engine, 'worker_queue');
      config = resolveConfig({
        default: 'database',
        connections: { database: { ...connection, heartbeat: HEARTBEAT, retryAfter: RETRY_AFTER } },
      });
      const setup = new QueueManager(config, refuseToRun);
      try {
        const queue = databaseQueue(setup);
        await migrate(queue.knex, {
          jobs: [queue.table],
          failed: failedTable(config),
          workers: [queue.config.workersTable],
          controls: [queue.config.controlsTable],
        });
      } finally {
        await setup.closeAll();
      }
    });

    beforeEach(async () => {
      manager = new QueueManager(config, refuseToRun);
      const queue = databaseQueue(manager);
      const { table, workersTable, controlsTable } = queue.config;
      for (const name of [table, failedTable(config), workersTable, controlsTable]) await queue.knex(name).delete();
      current = databaseSubject(queue, manager.failer());
    });

    afterEach(async () => {
      current = undefined;
      await manager?.closeAll();
      manager = undefined;
    });

    afterAll(async () => {
      await manager?.closeAll();
    });

    body(
      () => {
        if (!current) throw new Error('subject() is only available inside a test.');
        return current;
      },
      { driver: 'database', store: engine },
    );
  });
}

function refuseToRun(): Promise<void> {
  throw new Error('The conformance suite never runs jobs.');
}

/** The default connection's queue, opened as errand opens it, with the database driver's own members. */
function databaseQueue(manager: QueueManager): DatabaseQueue {
  const queue = manager.worker();
  if (!(queue instanceof DatabaseQueue)) throw new Error('The database suite needs a database connection.');
  return queue;
}

function failedTable(config: ResolvedConfig): string {
  if (config.failed.driver !== 'database') throw new Error('The suite needs failed jobs kept in the database.');
  return config.failed.table;
}

function databaseSubject(queue: DatabaseQueue, failer: FailedJobStore): WorkerQueueSubject {
  const { knex, engine } = queue;
  const config: ResolvedDatabaseConnection = queue.config;
  const now = dialect.nowSql(engine);
  return {
    queue,
    failer,
    bulkChunk: dialect.maxRowsPerInsert(engine),
    wakeUps: engine === 'postgres' ? 'queue' : engine === 'sqlite' ? 'any' : 'none',
    async now() {
      return Number(dialect.rows<{ now: number | string }>(engine, await knex.raw(`select ${now} as now`))[0]!.now);
    },
    async peek(id) {
      const r = (await knex(queue.table)
        .where({ id })
        .first('queue', 'attempts', 'exceptions', 'reserved_by', 'available_at')) as
        | Record<string, unknown>
        | undefined;
      if (!r) return undefined;
      return {
        queue: String(r.queue),
        attempts: Number(r.attempts),
        exceptions: Number(r.exceptions),
        reservedBy: r.reserved_by === null ? null : String(r.reserved_by),
        availableAt: Number(r.available_at),
      };
    },
    async backdateWorker(workerId, seconds) {
      await knex(config.workersTable)
        .where({ id: workerId })
        .update({
          last_heartbeat_at: knex.raw('last_heartbeat_at - ?', [seconds]),
          expires_at: knex.raw('expires_at - ?', [seconds]),
        });
    },
    async backdateReservation(jobId, seconds) {
      await knex(queue.table)
        .where({ id: jobId })
        .whereNotNull('reserved_at')
        .update({ reserved_at: knex.raw('reserved_at - ?', [seconds]) });
    },
    async lockWait() {
      if (engine !== 'sqlite') return undefined;
      const rows = (await knex.raw('pragma busy_timeout')) as Array<Record<string, number>>;
      return Number(Object.values(rows[0]!)[0]);
    },
  };
}

/**
 * The redis driver under the suite, each test on a key prefix of its own (deleted after it), with
 * failed jobs in an SQLite database as errand keeps them. `connection` adds to the redis
 * connection's options (a cluster's nodes). The connection is named `database` because the suite
 * checks that name, unchanged for every driver.
 */
export function describeRedisQueue(
  body: (subject: () => WorkerQueueSubject, under: DriverUnderTest) => void,
  under: DriverUnderTest,
  connection: { url?: string; cluster?: { nodes: string[] } },
): void {
  let failedConnection: Awaited<ReturnType<typeof freshDatabase>>;
  let manager: QueueManager | undefined;
  let current: WorkerQueueSubject | undefined;
  let prefix = '';

  const configWith = (keyPrefix: string): ErrandConfig => ({
    default: 'database',
    connections: {
      database: { driver: 'redis', ...connection, prefix: keyPrefix, heartbeat: HEARTBEAT, retryAfter: RETRY_AFTER },
      failed: failedConnection,
    },
    failed: { driver: 'database', connection: 'failed' },
  });

  beforeAll(async () => {
    failedConnection = await freshDatabase('sqlite', 'worker_queue_redis');
    const setup = new QueueManager(resolveConfig(configWith(redisTestPrefix('worker-queue'))), refuseToRun);
    try {
      const failedQueue = setup.worker('failed') as DatabaseQueue;
      await migrate(failedQueue.knex, { jobs: [failedQueue.table], failed: 'failed_jobs' });
    } finally {
      await setup.closeAll();
    }
  });

  beforeEach(async () => {
    prefix = redisTestPrefix('worker-queue');
    manager = new QueueManager(resolveConfig(configWith(prefix)), refuseToRun);
    const queue = manager.worker();
    if (!(queue instanceof RedisQueue)) throw new Error('The redis suite needs a redis connection.');
    await (manager.worker('failed') as DatabaseQueue).knex('failed_jobs').delete();
    current = redisSubject(queue, manager.failer());
  });

  afterEach(async () => {
    current = undefined;
    const ended = manager;
    manager = undefined;
    if (!ended) return;
    // A test may have closed its queue (close ends the connection): tidy up through a new one.
    const tidy = new QueueManager(resolveConfig(configWith(prefix)), refuseToRun);
    try {
      await deleteKeys(tidy.worker() as RedisQueue, prefix);
    } finally {
      await tidy.closeAll();
      await ended.closeAll();
    }
  });

  body(() => {
    if (!current) throw new Error('subject() is only available inside a test.');
    return current;
  }, under);
}

/**
 * The redis suite once more on a local 3-master Redis Cluster of its own (started before the
 * file's tests, stopped after), when TEST_DB selects Redis. `body` gets the connection options that
 * reach it; their seed nodes are filled in once the cluster is up.
 */
function describeOnRedisCluster(title: string, body: (connection: { cluster: { nodes: string[] } }) => void): void {
  describeWithRedisServer(`${title} [redis cluster]`, () => {
    const connection = { cluster: { nodes: [] as string[] } };
    let cluster: PrivateRedisCluster | undefined;
    // Registered before the suite's own hooks, so they run with the nodes known.
    beforeAll(async () => {
      cluster = await startRedisCluster();
      connection.cluster.nodes.push(...cluster.urls);
    });
    afterAll(async () => {
      await cluster?.stop();
    });
    body(connection);
  });
}

/** Every key matching `pattern`: KEYS reads one node, so a cluster is asked node by node. */
async function keysMatching(queue: RedisQueue, pattern: string): Promise<string[]> {
  const replies = await queue.client.commandOnEachNode(['KEYS', pattern]);
  return replies.flatMap(({ reply }) => reply as string[]);
}

/** Deletes every key under `prefix`, each on its own node. */
async function deleteKeys(queue: RedisQueue, prefix: string): Promise<void> {
  const keys = await keysMatching(queue, `${prefix}*`);
  for (const key of keys) await queue.client.command(['DEL', key], key);
}

function redisSubject(queue: RedisQueue, failer: FailedJobStore): WorkerQueueSubject {
  const { client, keys } = queue;
  /** The queue of a job, found by its hash's key: only tests look a job up without its queue. */
  const queueOf = async (id: string): Promise<string | undefined> => {
    const found = await keysMatching(queue, `${keys.prefix}{*}:job:${id}`);
    const key = found[0];
    return key === undefined ? undefined : key.slice(keys.prefix.length + 1, key.lastIndexOf('}:job:'));
  };
  return {
    queue,
    failer,
    bulkChunk: 1000,
    wakeUps: 'queue',
    async now() {
      const [seconds, micros] = (await client.command(['TIME'])) as [string, string];
      return Number(seconds) + Math.floor(Number(micros) / 1000) / 1000;
    },
    async peek(id) {
      const name = await queueOf(id);
      if (name === undefined) return undefined;
      const job = keys.jobPrefix(name) + id;
      const [fields, score] = await Promise.all([
        client.command(['HMGET', job, 'attempts', 'exceptions', 'token'], job),
        client.command(['ZSCORE', keys.waiting(name), id], job),
      ]);
      const [attempts, exceptions, token] = fields as (string | null)[];
      return {
        queue: name,
        attempts: Number(attempts),
        exceptions: Number(exceptions),
        reservedBy: token ?? null,
        availableAt: score === null ? 0 : Number(score) / 1000,
      };
    },
    async backdateWorker(workerId, seconds) {
      await client.command(['ZINCRBY', keys.workers, String(-seconds * 1000), workerId], keys.workers);
    },
    async backdateReservation(jobId, seconds) {
      const name = await queueOf(jobId);
      if (name === undefined) return;
      const reserved = keys.reserved(name);
      if ((await client.command(['ZSCORE', reserved, jobId], reserved)) === null) return;
      await client.command(['ZINCRBY', reserved, String(-seconds * 1000), jobId], reserved);
    },
    async lockWait() {
      return undefined;
    },
  };
}
