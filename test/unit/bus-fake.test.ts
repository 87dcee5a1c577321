import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Batch } from '../../src/bus/batch.js';
import { Bus } from '../../src/bus/bus.js';
import { dispatch, dispatchSync } from '../../src/bus/dispatch.js';
import { PendingBatch } from '../../src/bus/pending-batch.js';
import { Queue } from '../../src/bus/queue.js';
import { Job } from '../../src/decorators/job.js';
import { JobQueued } from '../../src/events/job-queued.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events } from '../../src/runtime/current.js';
import { BusFake } from '../../src/testing/bus-fake.js';
import { assertionFrom } from '../helpers/assertion-from.js';

/*
 * Bus.fake() without a database (a faked batch is never stored): the real path goes to the
 * `null` driver, observed through JobQueued, or runs inline through `sync`. Every assertion is
 * proven both ways.
 */

let ran = 0;

@Job()
class BfImport extends Queueable {
  constructor(readonly file: string) {
    super();
  }
  async handle(): Promise<void> {
    ran++;
  }
}

@Job()
class BfIndex extends Queueable {
  async handle(): Promise<void> {
    ran++;
  }
}

@Job()
class BfNotify extends Queueable {
  constructor(readonly who = 'admin') {
    super();
  }
  async handle(): Promise<void> {
    ran++;
  }
}

const queued: JobQueued[] = [];
let unsubscribe: () => void;

beforeAll(async () => {
  await boot({ default: 'null', connections: { null: { driver: 'null' }, sync: { driver: 'sync' } } });
  unsubscribe = events.on(JobQueued, (event) => void queued.push(event));
});
afterAll(async () => {
  unsubscribe();
  await shutdown();
});
afterEach(() => {
  Bus.restore();
  Queue.restore();
  queued.length = 0;
  ran = 0;
});

describe('Bus.fake(): recording', () => {
  it('pushes and runs nothing: dispatch, dispatchSync, chains, batches, bulk', async () => {
    const fake = Bus.fake();
    expect(fake).toBeInstanceOf(BusFake);
    await expect(BfImport.dispatch('a.csv')).resolves.toMatch(/^fake-/);
    await BfIndex.dispatchSync();
    await Bus.chain([new BfImport('b.csv'), new BfIndex()]).dispatch();
    const batch = await Bus.batch([new BfImport('c.csv'), [new BfIndex(), new BfNotify()]])
      .name('nightly')
      .dispatch();
    await Queue.bulk([new BfNotify('ops')]);
    expect(batch).toBeInstanceOf(Batch);
    expect([batch.name, batch.totalJobs, batch.pendingJobs, batch.finished()]).toEqual(['nightly', 2, 2, false]);
    expect(queued).toHaveLength(0);
    expect(ran).toBe(0);
    expect(fake.dispatched(BfImport).map((j) => j.file)).toEqual(['a.csv', 'b.csv']);
    expect(fake.dispatchedSync(BfIndex)).toHaveLength(1);
    expect(fake.dispatched(BfNotify, (j) => j.who === 'ops')).toHaveLength(1);
    expect(fake.batched().map((b) => b.name)).toEqual(['nightly']);
  });

  it('fakes only the listed classes (others are pushed or run as usual); batches are always recorded', async () => {
    const fake = Bus.fake([BfImport]);
    await BfImport.dispatch('a.csv');
    await BfNotify.dispatch();
    await BfIndex.dispatchSync();
    await Bus.batch([new BfNotify()]).dispatch();
    fake.assertDispatched(BfImport);
    fake.assertNotDispatched(BfNotify);
    fake.assertNotDispatched(BfIndex);
    fake.assertBatchCount(1);
    expect(queued.map((e) => e.payload.displayName)).toEqual(['BfNotify']);
    expect(ran).toBe(1);
  });

  it('fakes all but the excepted classes', async () => {
    const fake = Bus.fake({ except: [BfNotify] });
    await BfImport.dispatch('a.csv');
    await BfNotify.dispatch();
    fake.assertDispatched(BfImport);
    fake.assertNotDispatched(BfNotify);
    expect(queued.map((e) => e.payload.displayName)).toEqual(['BfNotify']);
  });

  it('stops after Bus.restore()', async () => {
    const fake = Bus.fake();
    Bus.restore();
    await BfIndex.dispatchSync();
    expect(ran).toBe(1);
    fake.assertNothingDispatched();
  });

  it('is asked before a Queue.fake() installed earlier', async () => {
    const queue = Queue.fake();
    const bus = Bus.fake();
    await BfImport.dispatch('a.csv');
    bus.assertDispatched(BfImport);
    queue.assertNothingPushed();
    Bus.restore();
    await BfImport.dispatch('b.csv');
    queue.assertPushed(BfImport);
  });
});

describe('Bus.fake(): assertions prove both sides', () => {
  it('assertDispatched (queued or sync), with a predicate getting the job and where it went', async () => {
    const fake = Bus.fake();
    expect(assertionFrom(() => fake.assertDispatched(BfImport)).message).toBe(
      'The expected [BfImport] job was not dispatched. No jobs were dispatched.',
    );
    await BfImport.dispatch('a.csv').onQueue('imports');
    await dispatchSync(new BfNotify());
    fake.assertDispatched(BfImport);
    fake.assertDispatched(BfNotify);
    fake.assertDispatched(
      BfImport,
      (job, d) => job.file === 'a.csv' && d.queue === 'imports' && d.connection === 'null',
    );
    const error = assertionFrom(() => fake.assertDispatched(BfImport, (job) => job.file === 'b.csv'));
    expect(error.message).toContain(
      'The expected [BfImport] job was not dispatched: 1 were, none matching the predicate:',
    );
    expect(error.message).toContain("file: 'a.csv'");
    expect(assertionFrom(() => fake.assertDispatched(BfIndex)).message).toBe(
      'The expected [BfIndex] job was not dispatched. Dispatched: BfImport ×1, BfNotify ×1.',
    );
  });

  it('assertDispatchedTimes', async () => {
    const fake = Bus.fake();
    await BfImport.dispatch('a');
    await BfImport.dispatchSync('b');
    fake.assertDispatchedTimes(BfImport, 2);
    expect(assertionFrom(() => fake.assertDispatchedTimes(BfImport, 1)).message).toBe(
      'The expected [BfImport] job was dispatched 2 time(s) instead of 1.',
    );
    fake.assertDispatched(BfImport, 2);
    expect(assertionFrom(() => fake.assertDispatched(BfImport, 3)).message).toBe(
      'The expected [BfImport] job was dispatched 2 time(s) instead of 3.',
    );
  });

  it('assertDispatchedSync', async () => {
    const fake = Bus.fake();
    await BfImport.dispatch('queued.csv');
    expect(assertionFrom(() => fake.assertDispatchedSync(BfImport)).message).toBe(
      'The expected [BfImport] job was not dispatched synchronously. It was queued 1 time(s) instead.',
    );
    expect(assertionFrom(() => fake.assertDispatchedSync(BfIndex)).message).toBe(
      'The expected [BfIndex] job was not dispatched synchronously. Dispatched: BfImport ×1.',
    );
    await BfImport.dispatchSync('now.csv');
    fake.assertDispatchedSync(BfImport);
    fake.assertDispatchedSync(BfImport, (job) => job.file === 'now.csv');
    expect(
      assertionFrom(() => fake.assertDispatchedSync(BfImport, (job) => job.file === 'queued.csv')).message,
    ).toContain('The expected [BfImport] job was not dispatched synchronously: 1 were, none matching the predicate:');
  });

  it('assertNotDispatched', async () => {
    const fake = Bus.fake();
    fake.assertNotDispatched(BfImport);
    await BfImport.dispatchSync('x.csv');
    fake.assertNotDispatched(BfImport, (job) => job.file === 'y.csv');
    const error = assertionFrom(() => fake.assertNotDispatched(BfImport));
    expect(error.message).toContain('The unexpected [BfImport] job was dispatched 1 time(s):');
    expect(error.message).toContain("file: 'x.csv'");
  });

  it('assertDispatchedOnce (queued or sync)', async () => {
    const fake = Bus.fake();
    expect(assertionFrom(() => fake.assertDispatchedOnce(BfImport)).message).toBe(
      'The expected [BfImport] job was not dispatched. No jobs were dispatched.',
    );
    await BfImport.dispatchSync('a.csv');
    fake.assertDispatchedOnce(BfImport);
    await BfImport.dispatch('b.csv');
    fake.assertDispatchedOnce(BfImport, (job) => job.file === 'b.csv');
    const error = assertionFrom(() => fake.assertDispatchedOnce(BfImport));
    expect(error.message).toContain('The expected [BfImport] job was dispatched 2 times instead of once:');
    expect(error.message).toContain("file: 'b.csv'");
  });

  it('assertDispatchedSyncTimes and assertNotDispatchedSync: queued dispatches do not count', async () => {
    const fake = Bus.fake();
    await BfImport.dispatch('queued.csv');
    fake.assertNotDispatchedSync(BfImport);
    fake.assertDispatchedSyncTimes(BfImport, 0);
    await BfImport.dispatchSync('now.csv');
    fake.assertDispatchedSyncTimes(BfImport, 1);
    fake.assertNotDispatchedSync(BfImport, (job) => job.file === 'queued.csv');
    expect(assertionFrom(() => fake.assertDispatchedSyncTimes(BfImport, 2)).message).toBe(
      'The expected [BfImport] job was dispatched synchronously 1 time(s) instead of 2.',
    );
    const error = assertionFrom(() => fake.assertNotDispatchedSync(BfImport));
    expect(error.message).toContain('The unexpected [BfImport] job was dispatched synchronously 1 time(s):');
    expect(error.message).toContain("file: 'now.csv'");
  });

  it('assertDispatchedWithoutChain and assertNothingChained', async () => {
    const fake = Bus.fake();
    await BfImport.dispatch('plain.csv');
    fake.assertNothingChained();
    fake.assertDispatchedWithoutChain(BfImport);
    expect(assertionFrom(() => fake.assertDispatchedWithoutChain(BfIndex)).message).toBe(
      'The expected [BfIndex] job was not queued. Dispatched: BfImport ×1.',
    );
    await Bus.chain([new BfIndex(), new BfNotify()]).dispatch();
    expect(assertionFrom(() => fake.assertDispatchedWithoutChain(BfIndex)).message).toBe(
      'The expected [BfIndex] job was not dispatched without a chain; it was dispatched with: [BfNotify].',
    );
    expect(assertionFrom(() => fake.assertNothingChained()).message).toBe(
      '1 unexpected chain(s) were dispatched: [BfIndex, BfNotify].',
    );
  });

  it('assertNothingDispatched', async () => {
    const fake = Bus.fake();
    fake.assertNothingDispatched();
    await BfIndex.dispatch();
    expect(assertionFrom(() => fake.assertNothingDispatched()).message).toBe(
      '1 unexpected job(s) were dispatched: Dispatched: BfIndex ×1.',
    );
  });

  it('assertChained: classes, instances by value, a batch inside the chain, and dispatch(...).chain()', async () => {
    const fake = Bus.fake();
    expect(assertionFrom(() => fake.assertChained([BfImport, BfIndex])).message).toBe(
      'The expected chain [BfImport, BfIndex] was not dispatched. No chains were dispatched.',
    );
    await Bus.chain([new BfImport('a.csv'), new BfIndex(), Bus.batch([new BfNotify()])]).dispatch();
    await dispatch(new BfNotify('x')).chain([new BfIndex()]);
    fake.assertChained([BfImport, BfIndex, PendingBatch]);
    fake.assertChained([new BfImport('a.csv'), BfIndex, PendingBatch]);
    fake.assertChained([BfNotify, BfIndex]);
    expect(assertionFrom(() => fake.assertChained([BfImport, BfIndex])).message).toBe(
      'The expected chain [BfImport, BfIndex] was not dispatched. Chains dispatched: [BfImport, BfIndex, PendingBatch], [BfNotify, BfIndex].',
    );
    expect(assertionFrom(() => fake.assertChained([new BfImport('b.csv'), BfIndex, PendingBatch])).message).toContain(
      'was not dispatched',
    );
    expect(assertionFrom(() => fake.assertChained([])).message).toBe('assertChained([]) needs at least one job.');
  });

  it('assertBatched: the predicate gets the pending batch (name, jobs, queue, allowFailures)', async () => {
    const fake = Bus.fake();
    expect(assertionFrom(() => fake.assertBatched(() => true)).message).toBe(
      'The expected batch was not dispatched. No batches were dispatched.',
    );
    await Bus.batch([new BfImport('a.csv'), new BfImport('b.csv'), [new BfIndex(), new BfNotify()]])
      .name('import')
      .onQueue('imports')
      .allowFailures()
      .dispatch();
    fake.assertBatched(
      (batch) => batch.name === 'import' && batch.jobs.length === 3 && batch.queue === 'imports' && batch.allowFailures,
    );
    fake.assertBatched((batch) => Array.isArray(batch.jobs[2]) && batch.jobs[0] instanceof BfImport);
    expect(assertionFrom(() => fake.assertBatched((batch) => batch.name === 'export')).message).toBe(
      'The expected batch was not dispatched: 1 were, none matching the predicate: [import] of 3 job(s).',
    );
  });

  it('assertBatchCount and assertNothingBatched', async () => {
    const fake = Bus.fake();
    fake.assertNothingBatched();
    fake.assertBatchCount(0);
    await Bus.batch([new BfIndex()]).dispatch();
    fake.assertBatchCount(1);
    expect(assertionFrom(() => fake.assertBatchCount(2)).message).toBe('1 batch(es) were dispatched instead of 2.');
    expect(assertionFrom(() => fake.assertNothingBatched()).message).toBe(
      '1 unexpected batch(es) were dispatched: (unnamed) of 1 job(s).',
    );
  });
});
