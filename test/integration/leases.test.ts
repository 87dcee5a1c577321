import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { EventBus } from '../../src/events/event-bus.js';
import { shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { JobProcessor } from '../../src/worker/job-processor.js';
import { AddToBufferJob } from '../fixtures/jobs/fixture-jobs.js';
import { recorder } from '../fixtures/jobs/recorder.js';
import { bootDatabaseQueue } from '../helpers/boot-database-queue.js';
import { databaseOnly } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

const registration = (id: string) => ({
  id,
  name: 'test',
  connection: 'database',
  queues: ['default'],
  hostname: 'here',
  pid: 1,
  concurrency: 1,
});

const describeEachSql = databaseOnly(
  'ages jobs and queue_workers rows and holds SQL row locks (the conformance suite covers leases on Redis)',
);
await describeEachSql('leases, heartbeats and controls', (engine) => {
  let knex: Knex;
  let queue: DatabaseQueue;
  const reserved = async () =>
    (await knex('jobs').select('id', 'reserved_by', 'reserved_at', 'attempts').orderBy('id')) as Array<
      Record<string, unknown>
    >;

  beforeAll(async () => {
    ({ queue, knex } = await bootDatabaseQueue(engine, 'leases', { heartbeat: { interval: 1, lapse: 3 } }));
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    await knex('jobs').delete();
    await knex('queue_workers').delete();
    await knex('queue_controls').delete();
  });

  it('a heartbeat renews the leases of the jobs its worker holds, and only those', async () => {
    await Promise.all([AddToBufferJob.dispatch('a'), AddToBufferJob.dispatch('b')]);
    await queue.registerWorker(registration('w1'));
    const [mine] = await queue.claim('default', 1, 'w1');
    const [theirs] = await queue.claim('default', 1, 'w2');
    await knex('jobs').update({ reserved_at: 1000 });
    expect(await queue.heartbeat('w1', [mine!.id, theirs!.id])).toBe(true);
    const rows = await reserved();
    const byId = new Map(rows.map((r) => [String(r.id), Number(r.reserved_at)]));
    expect(byId.get(mine!.id)).toBeGreaterThan(1_700_000_000);
    expect(byId.get(theirs!.id)).toBe(1000);
    // Without its row (presumed dead and swept), a heartbeat reports it and renews nothing.
    await queue.deregisterWorker('w1');
    await knex('jobs').update({ reserved_at: 1000 });
    expect(await queue.heartbeat('w1', [mine!.id])).toBe(false);
    expect(Number((await reserved())[0]!.reserved_at)).toBe(1000);
  });

  it('the sweep hands a lapsed worker’s jobs back with their attempt counted, and leaves live workers alone', async () => {
    await Promise.all([AddToBufferJob.dispatch('a'), AddToBufferJob.dispatch('b'), AddToBufferJob.dispatch('c')]);
    await queue.registerWorker(registration('dead'));
    await queue.registerWorker(registration('alive'));
    await queue.claim('default', 2, 'dead');
    await queue.claim('default', 1, 'alive');
    await knex('queue_workers').where({ id: 'dead' }).update({ expires_at: 1000 });
    // A worker never sweeps itself (it may have been stopped between its beat and its sweep).
    expect(await queue.sweepDeadWorkers('dead')).toEqual({ workers: [], jobs: 0, byQueue: {} });
    const swept = await queue.sweepDeadWorkers('alive');
    expect(swept).toEqual({ workers: ['dead'], jobs: 2, byQueue: { default: 2 } });
    const rows = await reserved();
    expect(rows.filter((r) => r.reserved_by === null).map((r) => Number(r.attempts))).toEqual([1, 1]);
    expect(rows.filter((r) => r.reserved_by === 'alive')).toHaveLength(1);
    expect((await queue.workers()).map((w) => w.id)).toEqual(['alive']);
    // The freed jobs are claimable again, and the claim counts the next attempt.
    const again = await queue.claim('default', 5, 'alive');
    expect(again.map((j) => j.attempts)).toEqual([2, 2]);
  });

  /** Statements of this test database waiting on a row lock held by another connection. */
  const lockWaiters = async (): Promise<number> => {
    if (engine === 'postgres') {
      const result = (await knex.raw(
        "select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'",
      )) as { rows: Array<{ n: number }> };
      return result.rows[0]!.n;
    }
    const [rows] = (await knex.raw(
      "select count(*) as n from information_schema.innodb_trx t join information_schema.processlist p on p.id = t.trx_mysql_thread_id where t.trx_state = 'LOCK WAIT' and p.db = database()",
    )) as [Array<{ n: number }>];
    return Number(rows[0]!.n);
  };

  // SQLite runs one write at a time: the sweep's transaction holds the file's write lock from its
  // delete to its commit, so no heartbeat can land between the verdict and the take-back, and no
  // other connection can hold a row there to interleave them.
  it.skipIf(engine === 'sqlite')(
    'a heartbeat that comes between the sweep’s verdict and its take-back finds its worker presumed dead, never alive with its jobs gone',
    async () => {
      await AddToBufferJob.dispatch('a');
      await queue.registerWorker(registration('late'));
      const [job] = await queue.claim('default', 1, 'late');
      await knex('queue_workers').where({ id: 'late' }).update({ expires_at: 1000 });
      // Another connection holds the job's row, so the sweep stops on it after its verdict.
      const holder = await knex.transaction();
      await holder('jobs').where({ id: job!.id }).forUpdate().select('id');
      const sweep = queue.sweepDeadWorkers('sweeper');
      await eventually('the sweep waits on the held job row', async () => (await lockWaiters()) >= 1);
      // The late worker beats now, between the sweep's statements.
      const beat = queue.heartbeat('late', [job!.id]);
      await eventually('the heartbeat waits as well', async () => (await lockWaiters()) >= 2);
      await holder.commit();
      const [swept, alive] = await Promise.all([sweep, beat]);
      const row = (await reserved())[0]!;
      // The one thing that must never be: a worker told it is alive whose job was freed.
      expect({ alive, reservedBy: row.reserved_by }).toEqual({ alive: false, reservedBy: null });
      expect(swept).toEqual({ workers: ['late'], jobs: 1, byQueue: { default: 1 } });
      expect(await queue.workers()).toEqual([]);
    },
  );

  it.skipIf(engine === 'sqlite')(
    'a heartbeat that lands after the sweep read its candidates keeps the worker’s row and its jobs',
    async () => {
      await AddToBufferJob.dispatch('a');
      await queue.registerWorker(registration('late'));
      await queue.claim('default', 1, 'late');
      await knex('queue_workers').where({ id: 'late' }).update({ expires_at: 1000 });
      // Another connection holds the worker's row and renews it (a heartbeat) while the sweep,
      // which has read the row as expired, waits to judge it.
      const beat = await knex.transaction();
      await beat('queue_workers').where({ id: 'late' }).forUpdate().select('id');
      const sweep = queue.sweepDeadWorkers('sweeper');
      await Promise.race([
        sweep,
        eventually('the sweep waits on the worker row', async () => (await lockWaiters()) >= 1),
      ]);
      await beat('queue_workers').where({ id: 'late' }).update({ expires_at: 4_000_000_000 });
      await beat.commit();
      expect(await sweep).toEqual({ workers: [], jobs: 0, byQueue: {} });
      expect((await reserved())[0]!.reserved_by).toBe('late');
      expect((await queue.workers()).map((w) => w.id)).toEqual(['late']);
    },
  );

  it('batched deletes are fenced on holder and attempt: rows reclaimed elsewhere are left alone', async () => {
    await Promise.all(['a', 'b', 'c'].map((s) => AddToBufferJob.dispatch(s)));
    const jobs = await queue.claim('default', 3, 'w1');
    expect(jobs).toHaveLength(3);
    const [kept, reclaimedByOther, reclaimedBySelf] = jobs as [ReservedJob, ReservedJob, ReservedJob];
    await knex('jobs').where({ id: reclaimedByOther.id }).update({ reserved_by: 'w2', attempts: 2 });
    await knex('jobs').where({ id: reclaimedBySelf.id }).update({ attempts: 2 });
    const deleted = await queue.deleteMany(jobs);
    expect([...deleted]).toEqual([kept.id]);
    expect((await reserved()).map((r) => String(r.id))).toEqual([reclaimedByOther.id, reclaimedBySelf.id]);
    expect(await queue.delete(reclaimedBySelf)).toBe(false);
    expect(await queue.release(reclaimedBySelf, 0, 0)).toBe(false);
  });

  it('unclaim gives prefetched jobs back with the attempt returned', async () => {
    await Promise.all(['a', 'b'].map((s) => AddToBufferJob.dispatch(s)));
    const jobs = await queue.claim('default', 2, 'w1');
    expect(await queue.unclaim(jobs)).toBe(2);
    expect((await reserved()).map((r) => [r.reserved_by, Number(r.attempts)])).toEqual([
      [null, 0],
      [null, 0],
    ]);
    expect(await queue.unclaim(jobs)).toBe(0);
  });

  it('with no heartbeat to renew it, a prefetched job that waited too long to finish within retryAfter goes back unstarted', async () => {
    // Dispatched one after the other and told apart by payload, not by claim order: two concurrent
    // dispatches may take their ids (and seconds) in either order, so the claim's first job was
    // not always 'stale' (this test once failed on MySQL under load for that reason).
    await AddToBufferJob.dispatch('stale');
    await AddToBufferJob.dispatch('fresh');
    const claimed = await queue.claim('default', 2, 'w1');
    expect(claimed).toHaveLength(2);
    const stale = claimed.find((job) => job.payload.includes('stale'));
    const fresh = claimed.find((job) => job.payload.includes('fresh'));
    expect(stale && fresh).toBeTruthy();
    const app = await runtime();
    const processor = new JobProcessor({
      driver: queue,
      failer: app.queues.failer(),
      events: new EventBus(() => undefined),
      container: app.container,
      options: { tries: 1, backoff: 0, timeout: 5 },
      report: () => undefined,
      leaseLimit: 10,
    });
    recorder.handled.length = 0;
    // Claimed 6 s ago: 4 s of its 10 s lease are left, less than its 5 s timeout.
    expect(await processor.process(stale!, undefined, Date.now() - 6000)).toBe('handed-back');
    // Claimed 1 s ago: 9 s left, so it runs.
    expect(await processor.process(fresh!, undefined, Date.now() - 1000)).toBe('deleted');
    expect(recorder.handled).toEqual(['fresh']);
    expect((await reserved()).map((r) => [String(r.id), r.reserved_by, Number(r.attempts)])).toEqual([
      [stale!.id, null, 0],
    ]);
  });

  it('stores restart requests and paused queues per connection', async () => {
    expect(await queue.controls()).toEqual({ restart: 0, paused: [] });
    await queue.requestRestart();
    await queue.requestRestart();
    expect((await queue.controls()).restart).toBe(2);
    expect(await queue.pause('emails')).toBe(true);
    expect(await queue.pause('emails')).toBe(false);
    await knex('queue_controls').insert({ key: 'pause:other:emails', value: 1, updated_at: 0 });
    await knex('queue_controls').insert({ key: 'pause:database_x:nope', value: 1, updated_at: 0 });
    expect(await queue.controls()).toEqual({ restart: 2, paused: ['emails'] });
    expect(await queue.resume('emails')).toBe(true);
    expect(await queue.resume('emails')).toBe(false);
    expect((await queue.controls()).paused).toEqual([]);
  });

  /**
   * What a listener heard while one job was pushed to `emails` (waiting up to 2.5 s for the first
   * word). It is stopped before this returns; the list stays its own, so anything added to it
   * later means stop() did not stop it.
   */
  async function heardWhilePushing(): Promise<Array<string | undefined>> {
    const heard: Array<string | undefined> = [];
    const stop = await queue.listen(
      ['emails'],
      (q) => heard.push(q),
      (error) => heard.push(`error: ${String(error)}`),
    );
    try {
      await AddToBufferJob.dispatch('wake').onQueue('emails');
      for (let i = 0; i < 50 && heard.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    } finally {
      await stop();
    }
    return heard;
  }

  if (engine === 'sqlite') {
    it("SQLite wakes listeners when the database file is written (any queue), so another process's push is seen at once", async () => {
      // Written through this process's connection; the kernel reports it as it would another process's.
      const heard = await heardWhilePushing();
      expect(heard.length).toBeGreaterThan(0);
      expect(heard.every((q) => q === undefined)).toBe(true);
      heard.length = 0;
      await AddToBufferJob.dispatch('after').onQueue('emails');
      await new Promise((r) => setTimeout(r, 200));
      expect(heard).toEqual([]);
    });
  }

  if (engine === 'postgres') {
    it('PostgreSQL wakes listeners when a job is pushed (LISTEN/NOTIFY)', async () => {
      expect(await heardWhilePushing()).toEqual(['emails']);
    });
  }
});
