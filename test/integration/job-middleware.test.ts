import { randomUUID } from 'node:crypto';

import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { dispatch } from '../../src/bus/dispatch.js';
import { Queue } from '../../src/bus/queue.js';
import type { JobMiddleware as JobMiddlewareContract, NextMiddleware } from '../../src/contracts/job-middleware.js';
import type { RateLimitStore } from '../../src/contracts/rate-limit-store.js';
import { Job } from '../../src/decorators/job.js';
import { JobMiddleware } from '../../src/decorators/job-middleware.js';
import { DatabaseRateLimitStore } from '../../src/drivers/database/database-rate-limit-store.js';
import { dialect } from '../../src/drivers/database/dialect.js';
import { createRateLimitsTable } from '../../src/drivers/database/migrations/0007-create-rate-limits-table.js';
import { rateLimitWindowsInMilliseconds } from '../../src/drivers/database/migrations/0011-rate-limit-windows-in-milliseconds.js';
import { Queueable } from '../../src/job/queueable.js';
import { Limit } from '../../src/middleware/limit.js';
import { rateLimitStore } from '../../src/middleware/rate-limit-store.js';
import { RateLimited } from '../../src/middleware/rate-limited.js';
import { RateLimiter } from '../../src/middleware/rate-limiter.js';
import { ThrottlesExceptions } from '../../src/middleware/throttles-exceptions.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { WorkerOptions } from '../../src/worker/worker-options.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

const executed: string[] = [];
const stamps: string[] = [];

/** Rate limited by its own middleware() with the limiter it names. */
@Job({ name: 'MwLimitedJob', tries: 0 })
class MwLimitedJob extends Queueable {
  constructor(
    public label: string,
    public limiter = 'window',
    public drop = false,
  ) {
    super();
  }
  middleware() {
    const limited = new RateLimited(this.limiter);
    return [this.drop ? limited.dontRelease() : limited];
  }
  async handle() {
    executed.push(this.label);
  }
}

/** No middleware of its own: what it runs through comes from through(). */
@Job({ name: 'MwPlainJob', tries: 0 })
class MwPlainJob extends Queueable {
  constructor(public label: string) {
    super();
  }
  async handle() {
    executed.push(this.label);
  }
}

/** Always throws, behind a circuit breaker shared under one key. */
@Job({ name: 'MwThrottledJob', tries: 0 })
class MwThrottledJob extends Queueable {
  constructor(public label: string) {
    super();
  }
  middleware() {
    return [new ThrottlesExceptions(2, 3600).by('crm')];
  }
  async handle() {
    executed.push(this.label);
    throw new Error(`crm refused ${this.label}`);
  }
}

/** A storable middleware: records its data where it runs (the worker). */
@JobMiddleware({ name: 'MwStampRecorder' })
class MwStampRecorder implements JobMiddlewareContract {
  constructor(public stamp: string) {}
  async handle(job: Queueable, next: NextMiddleware) {
    stamps.push(`${this.stamp}:${(job as MwPlainJob).label}`);
    return next(job);
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const describeEachSql = databaseOnly(
  'reads the rate_limits table and moves rows on the database clock (the Redis rate-limit store has its own suite)',
);
await describeEachSql('job middleware', (engine) => {
  let knex: Knex;
  let store: RateLimitStore;
  const now = () => knex.raw(dialect.nowSql(engine));
  const nowMs = () => knex.raw(dialect.statementNowMsSql(engine));
  const dbNowMs = async () => {
    const rows = (await knex.select(knex.raw(`${dialect.statementNowMsSql(engine)} as now`))) as Array<{
      now: number | string;
    }>;
    return Number(rows[0]!.now);
  };
  const dbNow = async () => {
    const rows = (await knex.select(knex.raw(`${dialect.nowSql(engine)} as now`))) as Array<{ now: number | string }>;
    return Number(rows[0]!.now);
  };
  const work = (options: Partial<WorkerOptions> = {}) =>
    createWorker({ stopWhenEmpty: true, sleep: 0, ...options }).run();
  const jobRows = () =>
    knex('jobs').select('*').orderBy('id') as Promise<Array<Record<string, string | number | null>>>;
  const failedRows = () => knex('failed_jobs').select('exception') as Promise<Array<{ exception: string }>>;
  const limitRow = async (key: string) =>
    (await knex('rate_limits').where('key', key).first()) as
      | { hits: number | string; reset_at_ms: number | string }
      | undefined;

  beforeAll(async () => {
    await boot({ default: 'database', connections: { database: await freshDatabase(engine, 'job_middleware') } });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
    store = await rateLimitStore();
    RateLimiter.for('window', () => Limit.perHour(3));
    RateLimiter.for('drop', () => Limit.perHour(2));
    RateLimiter.for('through', () => Limit.perHour(2));
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    executed.length = 0;
    stamps.length = 0;
    await knex('jobs').delete();
    await knex('failed_jobs').delete();
    await knex('rate_limits').delete();
  });

  it('errand migrate creates the rate_limits table', async () => {
    expect(Object.keys(await knex('rate_limits').columnInfo()).sort()).toEqual(['hits', 'key', 'reset_at_ms']);
  });

  it('rate limits hold over a window: N per window with a concurrent worker, the rest released (not lost) until the window ends', async () => {
    await Queue.bulk(Array.from({ length: 10 }, (_, i) => new MwLimitedJob(`job-${i}`)));
    const perWindow: number[] = [];
    for (let window = 0; window < 6 && executed.length < 10; window++) {
      const before = executed.length;
      await work({ concurrency: 4 });
      perWindow.push(executed.length - before);
      const waiting = await jobRows();
      expect(waiting).toHaveLength(10 - executed.length);
      const limit = await limitRow('rate-limited:window:3600s:');
      if (window === 0) {
        // Every job was counted exactly once, by concurrent hits; the 7 over the limit were put back.
        expect(Number(limit!.hits)).toBe(10);
        for (const row of waiting) {
          expect(row.reserved_at).toBeNull();
          expect(Number(row.attempts)).toBe(1);
          // Released until the window ends (plus 3 s), on the database clock (jobs keep whole seconds).
          expect(Number(row.available_at)).toBeGreaterThanOrEqual(Math.floor(Number(limit!.reset_at_ms) / 1000) + 3);
        }
      }
      expect(await failedRows()).toEqual([]);
      // End the window on the database clock, and make the released jobs due now, instead of waiting an hour.
      await knex('rate_limits').update({ reset_at_ms: nowMs() });
      await knex('jobs').update({ available_at: now() });
    }
    expect(perWindow).toEqual([3, 3, 3, 1]);
    expect([...executed].sort()).toEqual(Array.from({ length: 10 }, (_, i) => `job-${i}`).sort());
    expect(await jobRows()).toEqual([]);
  });

  it('the counter is exact under concurrent hits on one key', async () => {
    const counts = await Promise.all(Array.from({ length: 50 }, () => store.hit('concurrent', 3600)));
    expect([...counts].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await store.attempts('concurrent')).toBe(50);
    expect(Number((await limitRow('concurrent'))!.hits)).toBe(50);
  });

  it('a window ends on the database clock and the next hit starts a new one; keys are exact and long keys fit', async () => {
    expect(await store.hit('short', 1)).toBe(1);
    const resetAt = Number((await limitRow('short'))!.reset_at_ms);
    expect(await store.availableIn('short')).toBeLessThanOrEqual(1);
    while ((await dbNowMs()) < resetAt) await sleep(100);
    expect(await store.attempts('short')).toBe(0);
    expect(await store.availableIn('short')).toBe(0);
    expect(await store.hit('short', 1)).toBe(1);
    expect(Number((await limitRow('short'))!.reset_at_ms)).toBeGreaterThan(resetAt);

    expect(await store.hit('user:Ann', 60)).toBe(1);
    expect(await store.hit('user:ann', 60)).toBe(1);
    expect(await store.hit('user:Ann', 60)).toBe(2);
    const long = `tenant:${'x'.repeat(400)}`;
    expect(await store.hit(long, 60)).toBe(1);
    expect(await store.hit(long, 60)).toBe(2);
    expect(await store.attempts(long)).toBe(2);
    await store.clear(long);
    expect(await store.attempts(long)).toBe(0);
  });

  it('perSecond(2) admits at most 2 hits in the second from the first, even when that hit comes late in a clock second', async () => {
    const limit = Limit.perSecond(2);
    // A round holds only if the third hit returned within a second of the first hit's start: the
    // database clock (this machine's) then read it inside the window. A slow round starts again.
    for (let round = 0; ; round++) {
      const key = `late-start:${round}`;
      // Late in a clock second: a window ending at the next whole second would end within 200 ms.
      await eventually('the clock is late in its second', async () => Date.now() % 1000 > 800);
      const start = Date.now();
      expect(await store.hit(key, limit.decaySeconds)).toBe(1);
      const firstDone = Date.now();
      expect(await store.hit(key, limit.decaySeconds)).toBe(2);
      const nextSecond = (Math.floor(firstDone / 1000) + 1) * 1000;
      await eventually('the clock passes into the next second', async () => Date.now() >= nextSecond);
      const third = await store.hit(key, limit.decaySeconds);
      if (Date.now() - start >= 1000) {
        if (round >= 10) throw new Error('ten rounds in a row took a second or more from the first hit to the third');
        continue;
      }
      // Within the window: counted, and over the limit.
      expect(third).toBe(3);
      expect(third).toBeGreaterThan(limit.maxAttempts);
      expect(await store.attempts(key)).toBe(3);
      // The window does end after its length: a hit sent a second after the first returned
      // reaches the database after the window's end, and starts a new one.
      await eventually('a second passes since the first hit', async () => Date.now() > firstDone + 1000);
      expect(await store.hit(key, limit.decaySeconds)).toBe(1);
      break;
    }
  });

  it('migration 0011 upgrades a rate_limits table made by 0007: open windows carry over in milliseconds, and running it again changes nothing', async () => {
    const table = 'rate_limits_0007';
    await knex.schema.dropTableIfExists(table);
    await createRateLimitsTable.up(knex, table);
    const seconds = await dbNow();
    await knex(table).insert([
      { key: 'open', hits: 5, reset_at: seconds + 60 },
      { key: 'ended', hits: 9, reset_at: seconds - 5 },
    ]);
    await rateLimitWindowsInMilliseconds.up(knex, table);
    await rateLimitWindowsInMilliseconds.up(knex, table);
    expect(Object.keys(await knex(table).columnInfo()).sort()).toEqual(['hits', 'key', 'reset_at_ms']);
    const rows = (await knex(table).select('key', 'reset_at_ms').orderBy('key')) as Array<{
      key: string;
      reset_at_ms: number | string;
    }>;
    expect(rows.map((row) => [String(row.key), Number(row.reset_at_ms)])).toEqual([
      ['ended', (seconds - 5) * 1000],
      ['open', (seconds + 60) * 1000],
    ]);
    const upgraded = new DatabaseRateLimitStore(
      { knex, engine, table },
      (error) => error,
      () => false,
    );
    expect(await upgraded.attempts('open')).toBe(5);
    expect(await upgraded.hit('open', 60)).toBe(6);
    // The window ends at (seconds + 60) s of the database clock, whatever time the steps above took.
    const leftMs = (seconds + 60) * 1000 - (await dbNowMs());
    const availableIn = await upgraded.availableIn('open');
    expect(availableIn).toBeGreaterThanOrEqual(Math.floor(leftMs / 1000));
    expect(availableIn).toBeLessThanOrEqual(60);
    expect(await upgraded.hit('ended', 60)).toBe(1);
    // And back down: whole seconds in `reset_at` again.
    await rateLimitWindowsInMilliseconds.down(knex, table);
    expect(Object.keys(await knex(table).columnInfo()).sort()).toEqual(['hits', 'key', 'reset_at']);
    expect(
      Number(((await knex(table).where('key', 'open').first('reset_at')) as { reset_at: number | string }).reset_at),
    ).toBe(seconds + 60);
    await knex.schema.dropTable(table);
  });

  it('dontRelease() deletes the jobs over the limit: not run, not failed, not queued', async () => {
    await Queue.bulk(Array.from({ length: 5 }, (_, i) => new MwLimitedJob(`drop-${i}`, 'drop', true)));
    await work({ concurrency: 3 });
    expect(executed).toHaveLength(2);
    expect(await jobRows()).toEqual([]);
    expect(await failedRows()).toEqual([]);
    expect(Number((await limitRow('rate-limited:drop:3600s:'))!.hits)).toBe(5);
  });

  it('a limiter no process defined fails the job at once, naming the limiter', async () => {
    await MwLimitedJob.dispatch('orphan', 'never-defined');
    await work();
    expect(executed).toEqual([]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.exception).toContain(
      "ConfigError: Rate limiter [never-defined] is not defined (job MwLimitedJob): define it with RateLimiter.for('never-defined', …)",
    );
  });

  it('through() middleware travels in the payload and runs on the worker', async () => {
    for (let i = 0; i < 4; i++)
      await dispatch(new MwPlainJob(`t-${i}`)).through([new MwStampRecorder('blue'), new RateLimited('through')]);
    const [row] = await jobRows();
    expect(JSON.parse(String(row!.payload)).middleware).toEqual([
      { name: 'MwStampRecorder', data: { stamp: 'blue' } },
      { name: 'errand:RateLimited', data: { limiterName: 'through', shouldRelease: true } },
    ]);
    await work({ concurrency: 2 });
    expect(executed).toHaveLength(2);
    expect(stamps.sort()).toEqual(['blue:t-0', 'blue:t-1', 'blue:t-2', 'blue:t-3']);
    expect(await jobRows()).toHaveLength(2);
  });

  it('a payload naming middleware the worker does not know fails its job with the reason; nothing runs', async () => {
    const payload = {
      uuid: randomUUID(),
      displayName: 'MwPlainJob',
      job: 'errand:CallQueuedHandler@call',
      data: { commandName: 'MwPlainJob', command: { label: 'smuggled' } },
      middleware: [{ name: 'NoSuchMiddleware', data: {} }],
    };
    const nowSeconds = await dbNow();
    await knex('jobs').insert({
      queue: 'default',
      payload: JSON.stringify(payload),
      attempts: 0,
      available_at: nowSeconds - 1,
      created_at: nowSeconds,
    });
    await work();
    expect(executed).toEqual([]);
    const failed = await failedRows();
    expect(failed).toHaveLength(1);
    expect(failed[0]!.exception).toContain(
      'PayloadError: Job MwPlainJob: its payload names unknown middleware [NoSuchMiddleware] (middleware[0])',
    );
  });

  it('ThrottlesExceptions opens its circuit on the shared counters, and a success clears them', async () => {
    await MwThrottledJob.dispatch('a');
    const before = await dbNow();
    await work();
    // Two exceptions opened the circuit; the third attempt was released untried until the window ends.
    expect(executed).toEqual(['a', 'a']);
    expect(Number((await limitRow('throttles-exceptions:crm'))!.hits)).toBe(2);
    const [row] = await jobRows();
    expect(Number(row!.attempts)).toBe(3);
    expect(Number(row!.exceptions)).toBe(0);
    expect(Number(row!.available_at)).toBeGreaterThanOrEqual(before + 3600);
    expect(await failedRows()).toEqual([]);

    await knex('jobs').delete();
    await store.clear('throttles-exceptions:crm');
    await store.hit('throttles-exceptions:crm', 3600);
    await dispatch(new MwPlainJob('fine')).through([new ThrottlesExceptions(2, 3600).by('crm')]);
    await work();
    expect(executed).toEqual(['a', 'a', 'fine']);
    expect(await limitRow('throttles-exceptions:crm')).toBeUndefined();
  });
});
