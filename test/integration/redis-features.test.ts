import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { Queue } from '../../src/bus/queue.js';
import { Job } from '../../src/decorators/job.js';
import { Listener } from '../../src/decorators/listener.js';
import { Queueable } from '../../src/job/queueable.js';
import { Event } from '../../src/listeners/event.js';
import { dispatchEvent } from '../../src/listeners/event-dispatcher.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { WorkerOptions } from '../../src/worker/worker-options.js';
import {
  BatchedJob,
  busLog,
  CancellingJob,
  GrowingJob,
  RecordCallbackJob,
  StepJob,
} from '../fixtures/jobs/bus-jobs.js';
import { AddToBufferJob, RaisingJob, SlowJob } from '../fixtures/jobs/fixture-jobs.js';
import { recorder } from '../fixtures/jobs/recorder.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { describeOnRedis, freshStore, type TestStore, withRedis } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

// The features of the docs that run through errand's public API (chains, batches, queued
// listeners, release, backoff, tries, timeouts, delays, bulk, after-commit dispatch), proven on a
// redis connection: jobs queue in Redis, failed jobs and batches live in the SQLite database beside
// it (as an application that queues on Redis keeps them), and an in-process worker runs them.

/** Releases itself on its first attempt for `seconds`, then records its attempt. */
@Job({ name: 'RedisReleasingJob', tries: 3 })
class ReleasingJob extends Queueable {
  constructor(
    public label: string,
    public seconds: number,
  ) {
    super();
  }

  async handle() {
    if (this.attempts() === 1) return this.release(this.seconds);
    recorder.handled.push(`${this.label}@${this.attempts()}`);
  }
}

/** Throws on its first attempt; released by its backoff of `[backoff]` seconds. */
@Job({ name: 'RedisBackoffJob', tries: 2 })
class BackoffJob extends Queueable {
  constructor(public label: string) {
    super();
  }

  async handle() {
    recorder.attempts.push(this.attempts());
    if (this.attempts() === 1) throw new Error(`backoff ${this.label}`);
    recorder.handled.push(this.label);
  }
}

/** An event whose queued listener runs on the default (redis) connection's `listeners` queue. */
class ParcelShipped extends Event {
  constructor(public parcel: string) {
    super();
  }
}

@Listener({ event: ParcelShipped, queued: true, queue: 'listeners' })
class TrackParcel {
  handle(event: ParcelShipped) {
    recorder.handled.push(`track ${event.parcel} ${event instanceof ParcelShipped}`);
  }
}
void TrackParcel;

/** An event whose queued listener waits for the transaction it was dispatched in. */
class ParcelPaid extends Event {
  constructor(public parcel: string) {
    super();
  }
}

@Listener({ event: ParcelPaid, queued: true, queue: 'listeners', afterCommit: true })
class InvoiceParcel {
  handle(event: ParcelPaid) {
    recorder.handled.push(`invoice ${event.parcel}`);
  }
}
void InvoiceParcel;

await describeOnRedis('the documented features on a redis connection', () => {
  let store: TestStore;
  let knex: Knex;
  const reported: unknown[] = [];
  const work = (options: Partial<WorkerOptions> = {}) =>
    createWorker({ stopWhenEmpty: true, sleep: 0, queues: ['default', 'listeners'], ...options }).run();
  const failedRows = () =>
    knex('failed_jobs').select('connection', 'queue', 'payload', 'exception').orderBy('id') as Promise<
      Array<{ connection: string; queue: string; payload: string; exception: string }>
    >;
  /** Seconds until a waiting job of `queue` becomes available, by the Redis server's clock. */
  const secondsUntilDue = (id: string, queue = 'default') =>
    withRedis(async (client) => {
      const score = Number(await client.sendCommand(['ZSCORE', `${store.redis!.prefix}{${queue}}:waiting`, id]));
      const [s, us] = (await client.sendCommand(['TIME'])) as [string, string];
      return (score - (Number(s) * 1000 + Math.floor(Number(us) / 1000))) / 1000;
    });
  const jobField = (id: string, field: string, queue = 'default') =>
    withRedis(
      async (client) =>
        (await client.sendCommand(['HGET', `${store.redis!.prefix}{${queue}}:job:${id}`, field])) as string | null,
    );

  beforeAll(async () => {
    store = await freshStore('redis', 'redis_features');
    await boot({
      default: 'redis',
      // `later` is the same Redis keys under a connection that waits for commits on its own.
      connections: { database: store.database, redis: store.redis!, later: { ...store.redis!, afterCommit: true } },
      report: (error) => reported.push(error),
    });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues, 'database').knex;
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    recorder.reset();
    busLog.reset();
    reported.length = 0;
    for (const queue of ['default', 'listeners']) await Queue.clear(queue);
    await knex('failed_jobs').delete();
    await knex('job_batches').delete();
  });

  it('runs a chain in order, one link at a time', async () => {
    await Bus.chain([new StepJob('a'), new StepJob('b'), new StepJob('c')]).dispatch();
    expect(await Queue.size()).toBe(1);
    expect(await work()).toBe(0);
    expect(busLog.steps).toEqual(['a', 'b', 'c']);
    expect(await Queue.size()).toBe(0);
    expect(reported).toEqual([]);
  });

  it('stops a chain at a failing link, records it in failed_jobs and runs both catch callbacks', async () => {
    await Bus.chain([new StepJob('a'), new StepJob('b', true), new StepJob('c')])
      .catch('record-chain-catch')
      .catch(new RecordCallbackJob('chain-catch'))
      .dispatch();
    await work();
    expect(busLog.steps).toEqual(['a']);
    expect(busLog.callbacks).toEqual(['chain-catch:step b broke', 'job:chain-catch:step b broke']);
    const failed = await failedRows();
    expect(failed.map((row) => [row.connection, row.queue, JSON.parse(row.payload).displayName])).toEqual([
      ['redis', 'default', 'StepJob'],
    ]);
    expect(failed[0]!.exception).toContain('step b broke');
    expect(await Queue.size()).toBe(0);
  });

  it('runs a batch to its then and finally callbacks, counted in job_batches', async () => {
    const batch = await Bus.batch([new BatchedJob(1), new BatchedJob(2), new BatchedJob(3)])
      .then('record-then')
      .catch('record-catch')
      .finally('record-finally')
      .then(new RecordCallbackJob('then'))
      .dispatch();
    expect(await Queue.size()).toBe(3);
    await work({ concurrency: 1 });
    expect(busLog.steps.sort()).toEqual(['b1', 'b2', 'b3']);
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0', 'finally:pending=0:failed=0', 'job:then:3/3']);
    const done = (await batch.fresh())!;
    expect({ pending: done.pendingJobs, failed: done.failedJobs, finished: done.finished() }).toEqual({
      pending: 0,
      failed: 0,
      finished: true,
    });
  });

  it('counts a failed job of a batch with allowFailures: catch once, finally, no then; without it the batch is cancelled', async () => {
    const lenient = await Bus.batch([new BatchedJob(1, true), new BatchedJob(2), new BatchedJob(3)])
      .allowFailures()
      .then('record-then')
      .catch('record-catch')
      .finally('record-finally')
      .dispatch();
    await work({ concurrency: 1 });
    const kept = (await lenient.fresh())!;
    expect([kept.cancelled(), kept.failedJobs, kept.pendingJobs, kept.failedJobIds.length]).toEqual([false, 1, 1, 1]);
    expect(busLog.steps).toEqual(['b2', 'b3']);
    expect(busLog.callbacks).toEqual(['catch:pending=3:failed=1:batched 1 broke', 'finally:pending=1:failed=1']);
    const [failed] = await failedRows();
    expect(JSON.parse(failed!.payload).uuid).toBe(kept.failedJobIds[0]);

    busLog.reset();
    const strict = await Bus.batch([new BatchedJob(4, true), new BatchedJob(5), new BatchedJob(6)])
      .catch('record-catch')
      .finally('record-finally')
      .dispatch();
    await work({ concurrency: 1 });
    const cancelled = (await strict.fresh())!;
    expect([cancelled.cancelled(), cancelled.finished(), cancelled.failedJobs]).toEqual([true, true, 1]);
    // The jobs after the failure were skipped by SkipIfBatchCancelled, unrun.
    expect(busLog.steps).toEqual([]);
    expect(busLog.callbacks).toEqual(['catch:pending=3:failed=1:batched 4 broke', 'finally:pending=1:failed=1']);
    expect(await failedRows()).toHaveLength(2);
  });

  it('grows a batch and cancels it from inside its jobs', async () => {
    const grown = await Bus.batch([new GrowingJob()]).then('record-then').dispatch();
    await work({ concurrency: 1 });
    expect(busLog.steps).toEqual(['grew', 'b100', 'b101']);
    const done = (await grown.fresh())!;
    expect([done.totalJobs, done.pendingJobs, done.finished()]).toEqual([3, 0, true]);
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0']);

    busLog.reset();
    const cancelled = await Bus.batch([new CancellingJob(), new BatchedJob(1), new BatchedJob(2)])
      .finally('record-finally')
      .dispatch();
    await work({ concurrency: 1 });
    expect(busLog.steps).toEqual(['cancelled']);
    expect((await cancelled.fresh())!.cancelled()).toBe(true);
    expect(await Queue.size()).toBe(0);
  });

  it('runs a chain that holds a batch: the link after it waits for the whole batch', async () => {
    await Bus.chain([new StepJob('before'), Bus.batch([new BatchedJob(1), new BatchedJob(2)]), new StepJob('after')])
      .catch('record-chain-catch')
      .dispatch();
    await work({ concurrency: 1 });
    expect(busLog.steps).toEqual(['before', 'b1', 'b2', 'after']);
    expect(busLog.callbacks).toEqual([]);
    expect(await Queue.size()).toBe(0);
  });

  it('queues a listener on its queue when the event is dispatched, and a worker runs it', async () => {
    await ParcelShipped.dispatch('p-1');
    expect(await Queue.size('listeners')).toBe(1);
    expect(recorder.handled).toEqual([]);
    await work({ queues: ['listeners'] });
    expect(recorder.handled).toEqual(['track p-1 true']);
    expect(await Queue.size('listeners')).toBe(0);
  });

  it('releases a job with a delay: it waits its delay by the server clock, keeps its attempt and runs again once due', async () => {
    const later = (await ReleasingJob.dispatch('later', 3600))!;
    await work();
    expect(await Queue.size()).toBe(1);
    expect(await jobField(later, 'attempts')).toBe('1');
    const wait = await secondsUntilDue(later);
    expect(wait).toBeGreaterThan(3500);
    expect(wait).toBeLessThanOrEqual(3600);
    await Queue.clear();

    const soon = (await ReleasingJob.dispatch('soon', 1))!;
    await work();
    expect(recorder.handled).toEqual([]);
    expect(await jobField(soon, 'attempts')).toBe('1');
    await eventually('the released job ran again', async () => {
      await work();
      return recorder.handled.length > 0;
    });
    expect(recorder.handled).toEqual(['soon@2']);
  });

  it('releases a job that threw by its backoff, counting the exception', async () => {
    const id = (await BackoffJob.dispatch('b').options({ backoff: [1800] }))!;
    await work();
    expect(recorder.attempts).toEqual([1]);
    expect(await jobField(id, 'exceptions')).toBe('1');
    const wait = await secondsUntilDue(id);
    expect(wait).toBeGreaterThan(1700);
    expect(wait).toBeLessThanOrEqual(1800);
    expect(await failedRows()).toEqual([]);
  });

  it('fails a job after its tries, after maxExceptions even with tries left, and past its retryUntil, into failed_jobs', async () => {
    await RaisingJob.dispatch('t');
    await work();
    expect(recorder.attempts).toEqual([1, 2, 3]);
    expect(recorder.failed.map((f) => f.job)).toEqual(['t']);

    recorder.reset();
    await RaisingJob.dispatch('mx').options({ tries: 10, maxExceptions: 2 });
    await work();
    expect(recorder.attempts).toEqual([1, 2]);
    expect(recorder.failed.map((f) => f.job)).toEqual(['mx']);
    const failed = await failedRows();
    expect(failed.map((row) => row.exception.split('\n')[0])).toEqual([
      expect.stringContaining('raising t on attempt 3'),
      expect.stringContaining('raising mx on attempt 2'),
    ]);
    expect(await Queue.size()).toBe(0);

    // retryUntil replaces the tries check: a deadline already past fails the job before it runs.
    recorder.reset();
    await RaisingJob.dispatch('past').options({ retryUntil: new Date(Date.now() - 60_000) });
    await work();
    expect(recorder.attempts).toEqual([]);
    expect((await failedRows())[2]!.exception).toContain('RaisingJob has been attempted too many times');
  });

  it('times a job out: it fails with TimeoutExceededError into failed_jobs', async () => {
    await SlowJob.dispatch(1500);
    await work();
    expect(recorder.failed).toEqual([
      { job: 'slow', message: 'SlowJob has timed out (after 1s).', name: 'TimeoutExceededError' },
    ]);
    const [failed] = await failedRows();
    expect(failed!.exception).toContain('SlowJob has timed out');
    expect(await Queue.size()).toBe(0);
    // The abandoned handler runs on to its end; its signal told it it had been timed out.
    await eventually('the timed-out handler ended', async () => recorder.handled.includes('slow'));
    expect(recorder.aborted).toEqual(['TimeoutExceededError']);
  });

  it('holds a job dispatched with delay() until it is due', async () => {
    const id = (await AddToBufferJob.dispatch('late').delay(7200))!;
    expect(await work()).toBe(0);
    expect(recorder.handled).toEqual([]);
    expect(await Queue.size()).toBe(1);
    const wait = await secondsUntilDue(id);
    expect(wait).toBeGreaterThan(7100);
    expect(wait).toBeLessThanOrEqual(7200);
  });

  it('pushes Queue.bulk in order with distinct ids, on the queue it names', async () => {
    const ids = await Queue.bulk([new AddToBufferJob('a'), new AddToBufferJob('b'), new AddToBufferJob('c')]);
    expect(new Set(ids).size).toBe(3);
    await Queue.bulk([new AddToBufferJob('x'), new AddToBufferJob('y')], { queue: 'listeners' });
    expect([await Queue.size(), await Queue.size('listeners')]).toEqual([3, 2]);
    await work({ queues: ['default'], concurrency: 1 });
    expect(recorder.handled).toEqual(['a', 'b', 'c']);
    expect(await Queue.clear('listeners')).toBe(2);
  });

  it('pushes an afterCommit dispatch inside Bus.withinTransaction only once the transaction commits, and drops it on rollback', async () => {
    await knex.transaction((trx) =>
      Bus.withinTransaction(trx, async () => {
        await expect(AddToBufferJob.dispatch('committed').afterCommit()).resolves.toBeNull();
        expect(await Queue.size()).toBe(0);
      }),
    );
    expect(await Queue.size()).toBe(1);

    await expect(
      knex.transaction((trx) =>
        Bus.withinTransaction(trx, async () => {
          await AddToBufferJob.dispatch('rolled-back').afterCommit();
          throw new Error('roll back');
        }),
      ),
    ).rejects.toThrow('roll back');
    expect(await Queue.size()).toBe(1);
    await work();
    expect(recorder.handled).toEqual(['committed']);
    expect(reported).toEqual([]);
  });

  it('waits for the commit on a redis connection with afterCommit: true, without being told, and drops on rollback', async () => {
    await knex.transaction((trx) =>
      Bus.withinTransaction(trx, async () => {
        await AddToBufferJob.dispatch('connection-kept').onConnection('later');
        expect(await Queue.size('default', 'later')).toBe(0);
      }),
    );
    await expect(
      knex.transaction((trx) =>
        Bus.withinTransaction(trx, async () => {
          await AddToBufferJob.dispatch('connection-dropped').onConnection('later');
          throw new Error('roll back');
        }),
      ),
    ).rejects.toThrow('roll back');
    expect(await Queue.size('default', 'later')).toBe(1);
    await work({ connection: 'later' });
    expect(recorder.handled).toEqual(['connection-kept']);
  });

  it('pushes an afterCommit listener of an event dispatched in a transaction once it commits, and drops it on rollback', async () => {
    await knex.transaction(async (trx) => {
      await dispatchEvent(new ParcelPaid('kept'), { transaction: trx });
      expect(await Queue.size('listeners')).toBe(0);
    });
    await expect(
      knex.transaction(async (trx) => {
        await dispatchEvent(new ParcelPaid('dropped'), { transaction: trx });
        throw new Error('roll back');
      }),
    ).rejects.toThrow('roll back');
    expect(await Queue.size('listeners')).toBe(1);
    await work({ queues: ['listeners'] });
    expect(recorder.handled).toEqual(['invoice kept']);
  });

  it('refuses withTransaction(trx) on a redis connection, naming the connection', async () => {
    await knex.transaction(async (trx) => {
      await expect(AddToBufferJob.dispatch('inside').withTransaction(trx)).rejects.toThrow(
        'Job AddToBufferJob: withTransaction(trx) needs a database queue connection; [redis] is not one.',
      );
    });
    await knex.transaction(async (trx) => {
      await expect(
        Bus.chain([new StepJob('x')])
          .withTransaction(trx)
          .dispatch(),
      ).rejects.toThrow('[redis] is not one.');
    });
    expect(await Queue.size()).toBe(0);
  });
});
