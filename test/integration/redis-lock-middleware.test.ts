import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { Queue } from '../../src/bus/queue.js';
import { uniqueKey } from '../../src/bus/unique-lock.js';
import type { LockStore } from '../../src/contracts/lock-store.js';
import type { RateLimitStore } from '../../src/contracts/rate-limit-store.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { Job } from '../../src/decorators/job.js';
import { Model } from '../../src/decorators/model.js';
import { RedisLockStore } from '../../src/drivers/redis/redis-lock-store.js';
import type { RedisQueue } from '../../src/drivers/redis/redis-queue.js';
import { RedisRateLimitStore } from '../../src/drivers/redis/redis-rate-limit-store.js';
import { Queueable } from '../../src/job/queueable.js';
import { Limit } from '../../src/middleware/limit.js';
import { rateLimitStore } from '../../src/middleware/rate-limit-store.js';
import { RateLimited } from '../../src/middleware/rate-limited.js';
import { RateLimiter } from '../../src/middleware/rate-limiter.js';
import { ThrottlesExceptions } from '../../src/middleware/throttles-exceptions.js';
import { WithoutOverlapping } from '../../src/middleware/without-overlapping.js';
import { findModel } from '../../src/models/find-model.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { WorkerOptions } from '../../src/worker/worker-options.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { describeOnRedis, freshDatabase, REDIS_TEST_URL, redisTestPrefix } from '../helpers/databases.js';

// Unique jobs, WithoutOverlapping, RateLimited, ThrottlesExceptions and @Model reads through a
// worker on a redis default connection: locks and counters in Redis, failed jobs and models in
// the SQLite connection beside it.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const executed: string[] = [];
const runs: Array<{ group: string; n: number; attempt: number; started: number; finished: number }> = [];
const uniqueOwners: Array<string | null> = [];

@Model({ table: 'rl_games' })
class RlGame {
  id!: number;
  name!: string;
}

@Job({ name: 'rl.Report', unique: true, uniqueId: (job: RlReport) => job.ref })
class RlReport extends Queueable {
  constructor(public ref: string) {
    super();
  }
  async handle() {
    const store = (await runtime()).queues.locks();
    uniqueOwners.push(await store.owner(uniqueKey('rl.Report', this.ref)));
    executed.push(`report:${this.ref}`);
  }
}

@Job({ name: 'rl.Overlap', tries: 0 })
class RlOverlap extends Queueable {
  constructor(
    public group: string,
    public n: number,
  ) {
    super();
  }
  middleware() {
    return [new WithoutOverlapping(this.group)];
  }
  async handle() {
    // Microseconds on this process's monotonic clock: every worker slot runs in this process.
    const started = Math.round(performance.now() * 1000);
    await sleep(15);
    runs.push({
      group: this.group,
      n: this.n,
      attempt: this.attempts(),
      started,
      finished: Math.round(performance.now() * 1000),
    });
  }
}

@Job({ name: 'rl.Limited', tries: 0 })
class RlLimited extends Queueable {
  constructor(
    public label: string,
    public drop = false,
  ) {
    super();
  }
  middleware() {
    const limited = new RateLimited(this.drop ? 'rl-drop' : 'rl-window');
    return [this.drop ? limited.dontRelease() : limited];
  }
  async handle() {
    executed.push(this.label);
  }
}

@Job({ name: 'rl.Throttled', tries: 0 })
class RlThrottled extends Queueable {
  constructor(
    public label: string,
    public refuse = true,
  ) {
    super();
  }
  middleware() {
    return [new ThrottlesExceptions(2, 3600).by('rl-crm')];
  }
  async handle() {
    executed.push(this.label);
    if (this.refuse) throw new Error(`crm refused ${this.label}`);
  }
}

@Job({ name: 'rl.Greet', tries: 1 })
class RlGreet extends Queueable {
  constructor(public game: RlGame) {
    super();
  }
  async handle() {
    executed.push(`greet:${this.game.name}`);
  }
}

await describeOnRedis('locks, rate limits and models through a worker on a redis connection', () => {
  const prefix = redisTestPrefix('redis-lock-middleware');
  let knex: Knex;
  let redis: WorkerQueue;
  let locks: LockStore;
  let limits: RateLimitStore;
  const work = (options: Partial<WorkerOptions> = {}) =>
    createWorker({ stopWhenEmpty: true, sleep: 0, ...options }).run();
  const failedRows = () => knex('failed_jobs').select('exception') as Promise<Array<{ exception: string }>>;

  beforeAll(async () => {
    await boot({
      default: 'redis',
      connections: {
        redis: { driver: 'redis', url: REDIS_TEST_URL, prefix },
        app: await freshDatabase('sqlite', 'redis_lock_middleware'),
      },
    });
    // errand migrate with a redis default: the SQLite connection gets failed_jobs and job_batches.
    await runMigrations();
    const app = await runtime();
    expect(app.config.locks).toEqual({ connection: 'redis', table: 'locks' });
    expect(app.config.failed).toEqual({ driver: 'database', connection: 'app', table: 'failed_jobs' });
    knex = databaseQueue(app.queues, 'app').knex;
    redis = app.queues.worker('redis');
    locks = app.queues.locks();
    limits = await rateLimitStore();
    RateLimiter.for('rl-window', () => Limit.perHour(3));
    RateLimiter.for('rl-drop', () => Limit.perHour(2));
    await knex.schema.createTable('rl_games', (t) => {
      t.increments('id');
      t.string('name').notNullable();
    });
  });
  afterAll(async () => {
    // Counters live an hour: remove everything under this file's prefix from the shared server.
    const { client } = redis as RedisQueue;
    for (const key of (await client.command(['KEYS', `${prefix}*`])) as string[])
      await client.command(['DEL', key], key);
    await shutdown();
  });
  beforeEach(async () => {
    executed.length = 0;
    runs.length = 0;
    uniqueOwners.length = 0;
    await knex('failed_jobs').delete();
  });

  it('errand migrate leaves the locks and rate_limits tables out: they live in Redis', async () => {
    expect(locks).toBeInstanceOf(RedisLockStore);
    expect(limits).toBeInstanceOf(RedisRateLimitStore);
    expect(await knex.schema.hasTable('failed_jobs')).toBe(true);
    expect(await knex.schema.hasTable('locks')).toBe(false);
    expect(await knex.schema.hasTable('rate_limits')).toBe(false);
  });

  it('a unique job is queued once, holds its Redis lock while it runs, and frees it when done', async () => {
    const first = await RlReport.dispatch('r1');
    expect(first).not.toBeNull();
    expect(await RlReport.dispatch('r1')).toBeNull();
    expect(await locks.owner(uniqueKey('rl.Report', 'r1'))).not.toBeNull();
    expect(await redis.size('default')).toBe(1);
    expect(await work()).toBe(0);
    expect(executed).toEqual(['report:r1']);
    expect(uniqueOwners[0]).not.toBeNull();
    expect(await locks.isLocked(uniqueKey('rl.Report', 'r1'))).toBe(false);
    expect(await RlReport.dispatch('r1')).not.toBeNull();
    await work();
    expect(executed).toEqual(['report:r1', 'report:r1']);
  });

  it('WithoutOverlapping on 8 concurrent slots never runs two jobs of one key at once, and every job runs', async () => {
    const perGroup = 12;
    for (const group of ['A', 'B']) {
      for (let n = 0; n < perGroup; n++) await RlOverlap.dispatch(group, n);
    }
    expect(await work({ concurrency: 8 })).toBe(0);
    for (const group of ['A', 'B']) {
      const mine = runs.filter((run) => run.group === group).sort((a, b) => a.started - b.started);
      expect(mine.map((run) => run.n).sort((a, b) => a - b)).toEqual(Array.from({ length: perGroup }, (_, n) => n));
      expect(mine.slice(1).filter((run, i) => run.started < mine[i]!.finished)).toEqual([]);
      expect(await locks.isLocked(`errand:overlap:rl.Overlap:${group}`)).toBe(false);
    }
    // The lock was contended: jobs found it held and were released to run later.
    expect(runs.some((run) => run.attempt > 1)).toBe(true);
    expect(await redis.size('default')).toBe(0);
    expect(await failedRows()).toEqual([]);
  });

  it('RateLimited lets 3 of 10 through its window with a concurrent worker and releases the rest, counted once each', async () => {
    await Queue.bulk(Array.from({ length: 10 }, (_, i) => new RlLimited(`job-${i}`)));
    await work({ concurrency: 4 });
    expect(executed).toHaveLength(3);
    expect(await limits.attempts('rate-limited:rl-window:3600s:')).toBe(10);
    expect(await limits.availableIn('rate-limited:rl-window:3600s:')).toBeGreaterThan(0);
    // The other seven wait, delayed until the window ends; none failed.
    const stats = await redis.stats('default');
    expect(stats).toMatchObject({ size: 7, pending: 0, delayed: 7, reserved: 0 });
    expect(await failedRows()).toEqual([]);
    await redis.clear('default');
  });

  it('RateLimited with dontRelease() deletes the jobs over the limit: not run, not failed, not queued', async () => {
    await Queue.bulk(Array.from({ length: 5 }, (_, i) => new RlLimited(`drop-${i}`, true)));
    await work({ concurrency: 3 });
    expect(executed).toHaveLength(2);
    expect(await redis.size('default')).toBe(0);
    expect(await failedRows()).toEqual([]);
    expect(await limits.attempts('rate-limited:rl-drop:3600s:')).toBe(5);
  });

  it('ThrottlesExceptions opens its circuit on the Redis counters, and a success clears them', async () => {
    await RlThrottled.dispatch('a');
    await work();
    // Two exceptions opened the circuit; the third attempt was released untried until the window ends.
    expect(executed).toEqual(['a', 'a']);
    expect(await limits.attempts('throttles-exceptions:rl-crm')).toBe(2);
    expect(await redis.stats('default')).toMatchObject({ size: 1, delayed: 1 });
    expect(await failedRows()).toEqual([]);

    await redis.clear('default');
    await limits.clear('throttles-exceptions:rl-crm');
    await limits.hit('throttles-exceptions:rl-crm', 3600);
    await RlThrottled.dispatch('fine', false);
    await work();
    expect(executed).toEqual(['a', 'a', 'fine']);
    expect(await limits.attempts('throttles-exceptions:rl-crm')).toBe(0);
  });

  it('a @Model without a connection is read from the database connection when the default is redis', async () => {
    const [id] = await knex('rl_games').insert({ name: 'chess' });
    const game = await findModel(RlGame, Number(id));
    expect(game?.name).toBe('chess');
    await RlGreet.dispatch(game!);
    await work();
    expect(executed).toEqual(['greet:chess']);
    expect(await failedRows()).toEqual([]);
  });
});
