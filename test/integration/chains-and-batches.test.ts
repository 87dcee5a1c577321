import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { Queue } from '../../src/bus/queue.js';
import { dialect } from '../../src/drivers/database/dialect.js';
import { recordBatchFailure } from '../../src/drivers/database/queries/batches.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import type { WorkerOptions } from '../../src/worker/worker-options.js';
import {
  BatchedJob,
  busLog,
  CancellingJob,
  CountedJob,
  GrowingJob,
  HandsOnJob,
  OtherConnectionJob,
  RecordCallbackJob,
  ReleasingStepJob,
  ReshapingStepJob,
  StepJob,
  SyncStepJob,
} from '../fixtures/jobs/bus-jobs.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';

const describeEachSql = databaseOnly(
  'reads and edits jobs rows and records batch failures through the SQL query itself',
);
await describeEachSql('chains and batches', (engine) => {
  let knex: Knex;
  const reported: unknown[] = [];
  // The worker runs inside the test process, whose RSS (vitest, every engine's pool, the files run
  // before in this fork) can pass the default 256 MB: the worker then stops at once with status 12
  // (memory) before claiming anything. These tests are not about the memory limit.
  const work = (options: Partial<WorkerOptions> = {}) =>
    createWorker({
      stopWhenEmpty: true,
      sleep: 0,
      memory: 4096,
      queues: ['default', 'chain-q', 'batch-q'],
      ...options,
    }).run();
  const jobCount = async () => Number(((await knex('jobs').count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
  const failedNames = async () =>
    ((await knex('failed_jobs').select('payload').orderBy('id')) as Array<{ payload: string }>).map(
      (row) => JSON.parse(row.payload).displayName as string,
    );

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'chains_batches');
    await boot({
      default: 'database',
      connections: { database: connection, other: { ...connection, table: 'other_jobs' }, sync: { driver: 'sync' } },
      report: (error) => reported.push(error),
    });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    busLog.reset();
    reported.length = 0;
    await knex('jobs').delete();
    await knex('failed_jobs').delete();
    await knex('job_batches').delete();
  });

  it('pushes only the first job of a chain and runs the rest in order, each after the one before succeeds', async () => {
    const id = await Bus.chain([new StepJob('a'), new StepJob('b'), new StepJob('c')]).dispatch();
    expect(typeof id).toBe('string');
    expect(await jobCount()).toBe(1);
    const [row] = await knex('jobs').select('payload');
    const payload = JSON.parse(row.payload);
    expect(payload.chained.map((link: { payload: { displayName: string } }) => link.payload.displayName)).toEqual([
      'StepJob',
      'StepJob',
    ]);
    expect(await work()).toBe(0);
    expect(busLog.steps).toEqual(['a', 'b', 'c']);
    expect(await jobCount()).toBe(0);
    expect(reported).toEqual([]);
  });

  it('stops a chain whose middle job fails, and runs its catch callbacks (a function and a job) with the error', async () => {
    await Bus.chain([new StepJob('a'), new StepJob('b', true), new StepJob('c')])
      .catch('record-chain-catch')
      .catch(new RecordCallbackJob('chain-catch'))
      .dispatch();
    await work();
    expect(busLog.steps).toEqual(['a']);
    expect(await failedNames()).toEqual(['StepJob']);
    expect(busLog.callbacks).toEqual(['chain-catch:step b broke', 'job:chain-catch:step b broke']);
    expect(await jobCount()).toBe(0);
  });

  it('moves on only after success, not after a release', async () => {
    await Bus.chain([new ReleasingStepJob('x'), new StepJob('y')]).dispatch();
    await work();
    expect(busLog.steps).toEqual(['x@2', 'y']);
  });

  it('lets a job prepend to and append to its own chain', async () => {
    await Bus.chain([new ReshapingStepJob(), new StepJob('last')]).dispatch();
    await work();
    expect(busLog.steps).toEqual(['reshape', 'prepended', 'last', 'appended']);
  });

  it('sends chained jobs to the chain queue unless they name their own, and delays only the first', async () => {
    await Bus.chain([new StepJob('a'), new StepJob('b')])
      .onQueue('chain-q')
      .dispatch();
    expect((await knex('jobs').select('queue'))[0].queue).toBe('chain-q');
    await work({ queues: ['chain-q'] });
    expect(busLog.steps).toEqual(['a', 'b']);

    busLog.reset();
    await Bus.chain([new StepJob('later')])
      .delay(3600)
      .dispatch();
    expect(await work()).toBe(0);
    expect(busLog.steps).toEqual([]);
    expect(await jobCount()).toBe(1);
  });

  it('chains from a dispatch with .chain(), and runs a chain inline on the sync connection', async () => {
    await StepJob.dispatch('first').chain([new StepJob('second')]);
    await work();
    expect(busLog.steps).toEqual(['first', 'second']);

    busLog.reset();
    await Bus.chain([new StepJob('s1'), new StepJob('s2')])
      .onConnection('sync')
      .dispatch();
    expect(busLog.steps).toEqual(['s1', 's2']);
  });

  it("rethrows a failing job of a sync chain to the caller, as Laravel's sync queue does: the rest of the chain does not run", async () => {
    // A chain on the sync connection.
    const chain = Bus.chain([new StepJob('s1'), new StepJob('s2', true), new StepJob('s3')])
      .onConnection('sync')
      .catch('record-chain-catch');
    await expect(chain.dispatch()).rejects.toThrow('step s2 broke');
    expect(busLog.steps).toEqual(['s1']);
    expect(busLog.callbacks).toEqual(['chain-catch:step s2 broke']);
    // A dispatch with .chain() sent to the sync connection (its chained jobs name the sync connection too).
    busLog.reset();
    await expect(
      StepJob.dispatch('d1')
        .chain([new SyncStepJob('d2', true), new SyncStepJob('d3')])
        .onConnection('sync'),
    ).rejects.toThrow('step d2 broke');
    expect(busLog.steps).toEqual(['d1']);
    // dispatchSync: the job's chain goes on inline when its next job is on the sync connection.
    busLog.reset();
    await expect(HandsOnJob.dispatchSync()).rejects.toThrow('step appended broke');
    expect(busLog.steps).toEqual(['hands-on']);
    expect(await jobCount()).toBe(0);
    expect(reported).toEqual([]);
  });

  it('refuses a chain connection named after an Object.prototype member at dispatch, storing nothing', async () => {
    for (const name of ['constructor', '__proto__', 'toString']) {
      await expect(
        Bus.chain([new StepJob('a'), new StepJob('b')])
          .onConnection(name)
          .dispatch(),
      ).rejects.toThrow(`Queue connection [${name}] is not defined. Defined connections: database, other, sync.`);
    }
    expect(await jobCount()).toBe(0);
  });

  it('reports a stored chain link naming a connection that is an Object.prototype member, instead of dropping it unseen', async () => {
    await Bus.chain([new StepJob('a'), new StepJob('b'), new StepJob('c')]).dispatch();
    const [row] = (await knex('jobs').select('id', 'payload')) as Array<{ id: number | string; payload: string }>;
    const payload = JSON.parse(row!.payload) as { chained: Array<{ connection: string | null }> };
    payload.chained[0]!.connection = 'constructor';
    await knex('jobs')
      .where({ id: row!.id })
      .update({ payload: JSON.stringify(payload) });
    await work();
    expect(busLog.steps).toEqual(['a']);
    expect(reported.map(String).join('\n')).toContain(
      'Queue connection [constructor] is not defined. Defined connections: database, other, sync.',
    );
  });

  it("lists two failed uuids that differ only in case as two, in a batch's failed_job_ids", async () => {
    const id = '00000000-0000-4000-8000-0000000000b1';
    const now = Math.floor(Date.now() / 1000);
    await knex('job_batches').insert({
      id,
      name: 'case',
      total_jobs: 2,
      pending_jobs: 2,
      failed_jobs: 0,
      failed_job_ids: '[]',
      options: null,
      created_at: now,
    });
    const lower = 'abcdef00-0000-4000-8000-000000000001';
    for (const uuid of [lower, lower.toUpperCase(), lower])
      await recordBatchFailure(knex, dialect.engineOfKnex(knex)!, 'job_batches', id, uuid);
    const [row] = (await knex('job_batches').where({ id }).select('failed_job_ids', 'failed_jobs')) as Array<{
      failed_job_ids: string;
      failed_jobs: number | string;
    }>;
    expect(JSON.parse(row!.failed_job_ids)).toEqual([lower, lower.toUpperCase()]);
    expect(Number(row!.failed_jobs)).toBe(3);
  });

  it('refuses closures as callbacks, naming the way to register one', async () => {
    await expect(
      Bus.chain([new StepJob('a')])
        .catch(() => undefined)
        .dispatch(),
    ).rejects.toThrow(/never serialized closures.*Bus\.registerCallback/);
    await expect(
      Bus.batch([new StepJob('a')])
        .then('nobody-registered-this')
        .dispatch(),
    ).rejects.toThrow("Batch .then(): no callback is registered as 'nobody-registered-this'");
    expect(await jobCount()).toBe(0);
    expect(Number(((await knex('job_batches').count({ n: '*' })) as Array<{ n: number }>)[0]!.n)).toBe(0);
  });

  it('runs a batch: progress after each job, then and finally once, counters and state in job_batches', async () => {
    const batch = await Bus.batch([new BatchedJob(1), new BatchedJob(2), new BatchedJob(3)])
      .name('three')
      .onQueue('batch-q')
      .before('record-before')
      .progress('record-progress')
      .then('record-then')
      .then(new RecordCallbackJob('then'))
      .finally('record-finally')
      .dispatch();
    expect(batch.totalJobs).toBe(3);
    expect(batch.pendingJobs).toBe(3);
    expect(batch.name).toBe('three');
    expect(batch.finished()).toBe(false);
    expect((await knex('jobs').select('queue')).map((r) => r.queue)).toEqual(['batch-q', 'batch-q', 'batch-q']);
    await work();
    expect(busLog.steps.sort()).toEqual(['b1', 'b2', 'b3']);
    expect(busLog.callbacks).toEqual([
      'before:pending=0:failed=0',
      'progress:pending=2:failed=0',
      'progress:pending=1:failed=0',
      'progress:pending=0:failed=0',
      'then:pending=0:failed=0',
      'finally:pending=0:failed=0',
      'job:then:3/3',
    ]);
    const done = (await Bus.findBatch(batch.id))!;
    expect(done.pendingJobs).toBe(0);
    expect(done.processedJobs()).toBe(3);
    expect(done.progress()).toBe(100);
    expect(done.finished()).toBe(true);
    expect(done.cancelled()).toBe(false);
    expect(done.toJSON()).toMatchObject({
      id: batch.id,
      name: 'three',
      totalJobs: 3,
      pendingJobs: 0,
      failedJobs: 0,
      progress: 100,
    });
  });

  it('cancels a batch without allowFailures on the first failure: catch once, the rest skipped, finally once, no then', async () => {
    const batch = await Bus.batch([new BatchedJob(1, true), new BatchedJob(2), new BatchedJob(3)])
      .then('record-then')
      .catch('record-catch')
      .finally('record-finally')
      .dispatch();
    await work({ concurrency: 1 });
    const done = (await batch.fresh())!;
    expect(done.cancelled()).toBe(true);
    expect(done.finished()).toBe(true);
    expect(done.failedJobs).toBe(1);
    expect(done.failedJobIds).toHaveLength(1);
    expect(done.hasFailures()).toBe(true);
    // The remaining jobs were deleted unrun by SkipIfBatchCancelled, and still counted.
    expect(busLog.steps).toEqual([]);
    expect(done.pendingJobs).toBe(1);
    expect(busLog.callbacks).toEqual(['catch:pending=3:failed=1:batched 1 broke', 'finally:pending=1:failed=1']);
    expect(await failedNames()).toEqual(['BatchedJob']);
  });

  it('keeps a batch going with allowFailures: progress on failures too, catch once, finally, no then', async () => {
    const batch = await Bus.batch([new BatchedJob(1, true), new BatchedJob(2), new BatchedJob(3, true)])
      .allowFailures()
      .progress('record-progress')
      .then('record-then')
      .catch('record-catch')
      .finally('record-finally')
      .dispatch();
    await work({ concurrency: 1 });
    const done = (await batch.fresh())!;
    expect(done.cancelled()).toBe(false);
    expect(done.failedJobs).toBe(2);
    expect(done.pendingJobs).toBe(2);
    expect(done.finished()).toBe(false);
    expect(busLog.steps).toEqual(['b2']);
    expect(busLog.callbacks.filter((c) => c.startsWith('progress'))).toHaveLength(3);
    expect(busLog.callbacks.filter((c) => c.startsWith('catch'))).toEqual(['catch:pending=3:failed=1:batched 1 broke']);
    expect(busLog.callbacks.filter((c) => c.startsWith('finally'))).toEqual(['finally:pending=2:failed=2']);
    expect(busLog.callbacks.filter((c) => c.startsWith('then'))).toEqual([]);
  });

  it('cancels from inside a batched job: the jobs after it are skipped, the batch ends', async () => {
    const batch = await Bus.batch([new CancellingJob(), new BatchedJob(1), new BatchedJob(2)])
      .finally('record-finally')
      .dispatch();
    await work({ concurrency: 1 });
    const done = (await batch.fresh())!;
    expect(done.cancelled()).toBe(true);
    expect(busLog.steps).toEqual(['cancelled']);
    expect(done.pendingJobs).toBe(0);
    expect(busLog.callbacks).toEqual(['finally:pending=0:failed=0']);
  });

  it('grows from inside: jobs added by a batched job are counted before it finishes, then runs once at the very end', async () => {
    const batch = await Bus.batch([new GrowingJob()]).then('record-then').dispatch();
    await work({ concurrency: 1 });
    const done = (await batch.fresh())!;
    expect(done.totalJobs).toBe(3);
    expect(done.pendingJobs).toBe(0);
    expect(busLog.steps).toEqual(['grew', 'b100', 'b101']);
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0']);
  });

  it('runs chains inside a batch, counting every job of them', async () => {
    const batch = await Bus.batch([[new StepJob('c1'), new StepJob('c2')], new BatchedJob(7)])
      .then('record-then')
      .dispatch();
    expect(batch.totalJobs).toBe(3);
    expect(await jobCount()).toBe(2);
    await work({ concurrency: 1 });
    expect(busLog.steps.indexOf('c1')).toBeLessThan(busLog.steps.indexOf('c2'));
    expect(busLog.steps.sort()).toEqual(['b7', 'c1', 'c2']);
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0']);
  });

  it('runs a chain that holds a batch: the chain goes on once the batch has run, and stops if it was cancelled', async () => {
    await Bus.chain([
      new StepJob('before'),
      Bus.batch([new BatchedJob(1), new BatchedJob(2)]).then('record-then'),
      new StepJob('after'),
    ]).dispatch();
    await work({ concurrency: 1 });
    expect(busLog.steps[0]).toBe('before');
    expect(busLog.steps.slice(1, 3).sort()).toEqual(['b1', 'b2']);
    expect(busLog.steps[3]).toBe('after');
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0']);

    busLog.reset();
    await Bus.chain([Bus.batch([new BatchedJob(1, true)]), new StepJob('never')]).dispatch();
    await work({ concurrency: 1 });
    expect(busLog.steps).toEqual([]);
    expect(await jobCount()).toBe(0);
  });

  it('finishes an empty batch at once, and runs a batch inline on the sync connection', async () => {
    const empty = await Bus.batch([]).then('record-then').finally('record-finally').dispatch();
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0', 'finally:pending=0:failed=0']);
    expect((await empty.fresh()).finished()).toBe(true);

    busLog.reset();
    const inline = await Bus.batch([new BatchedJob(1), new BatchedJob(2)])
      .onConnection('sync')
      .then('record-then')
      .dispatch();
    expect(busLog.steps).toEqual(['b1', 'b2']);
    expect(inline.pendingJobs).toBe(0);
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0']);
  });

  it('stores nothing for a batch under Queue.fake(): no row in jobs or job_batches, the batch and its jobs recorded', async () => {
    const batchCount = async () =>
      Number(((await knex('job_batches').count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);
    const fake = Queue.fake();
    try {
      const batch = await Bus.batch([new BatchedJob(1), [new StepJob('a'), new StepJob('b')]])
        .name('faked')
        .onQueue('batch-q')
        .then('record-then')
        .dispatch();
      expect(batch.id).toMatch(/^fake-/);
      fake.assertBatched((pending) => pending.name === 'faked' && pending.jobs.length === 2);
      fake.assertPushedOn('batch-q', BatchedJob);
      fake.assertPushedWithChain(StepJob, [StepJob]);
    } finally {
      Queue.restore();
    }
    expect(await jobCount()).toBe(0);
    expect(await batchCount()).toBe(0);
    // A fake that takes none of the batch's jobs lets it through to the database.
    const partial = Queue.fake([HandsOnJob]);
    try {
      await Bus.batch([new BatchedJob(2)]).dispatch();
      partial.assertNothingBatched();
    } finally {
      Queue.restore();
    }
    expect([await jobCount(), await batchCount()]).toEqual([1, 1]);
    expect(busLog.callbacks).toEqual([]);
  });

  it('counts a batch spread over two connections before either runs, so it cannot finish early', async () => {
    const split = await Bus.batch([new BatchedJob(7), new OtherConnectionJob('o')])
      .then('record-then')
      .dispatch();
    expect(split.totalJobs).toBe(2);
    await work({ connection: 'database' });
    expect((await split.fresh()).pendingJobs).toBe(1);
    expect(busLog.callbacks).toEqual([]);
    await work({ connection: 'other' });
    expect((await split.fresh()).finished()).toBe(true);
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0']);
  });

  it('names what is wrong in a batch or chain: a hole, an empty chain, a batch in a batch, a class instead of a job', async () => {
    await expect(Bus.batch([[new StepJob('a'), null as never]]).dispatch()).rejects.toThrow(
      'Batch: entry 0[1] is null, not a job.',
    );
    await expect(Bus.batch([[]]).dispatch()).rejects.toThrow('Batch: entry 0 is an empty chain.');
    await expect(Bus.batch([Bus.batch([new StepJob('a')])]).dispatch()).rejects.toThrow(
      'Batch: entry 0 is a batch; a batch holds jobs and chains of jobs, not batches.',
    );
    await expect(Bus.chain([StepJob as never]).dispatch()).rejects.toThrow(
      'Bus.chain: entry 0 is the class or function StepJob, not a job or a batch.',
    );
    expect(await jobCount()).toBe(0);
  });

  it('keeps counters exact with 16 slots finishing 5,000 batched jobs: then and finally run exactly once', async () => {
    const jobs = Array.from({ length: 5000 }, (_, i) => new CountedJob(i));
    const batch = await Bus.batch(jobs).then('record-then').finally('record-finally').catch('record-catch').dispatch();
    expect(batch.totalJobs).toBe(5000);
    // The worker shares this test process, whose RSS (vitest, 5,000 payloads) can pass the default 256 MB limit.
    expect(await work({ concurrency: 16, memory: 2048 })).toBe(0);
    const done = await batch.fresh();
    expect({
      total: done.totalJobs,
      pending: done.pendingJobs,
      failed: done.failedJobs,
      finished: done.finished(),
    }).toEqual({ total: 5000, pending: 0, failed: 0, finished: true });
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=0', 'finally:pending=0:failed=0']);
    if (reported.length || (await jobCount()))
      console.log(reported, await knex('jobs').select('id', 'attempts', 'reserved_by', 'reserved_at', 'available_at'));
    expect(reported).toEqual([]);
    expect(await jobCount()).toBe(0);
  });
});
