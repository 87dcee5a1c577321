import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { dispatch, dispatchSync } from '../../src/bus/dispatch.js';
import { Queue } from '../../src/bus/queue.js';
import { Job } from '../../src/decorators/job.js';
import { Listener } from '../../src/decorators/listener.js';
import { PayloadError } from '../../src/errors/payload-error.js';
import { JobQueued } from '../../src/events/job-queued.js';
import { Queueable } from '../../src/job/queueable.js';
import { CallQueuedListener } from '../../src/listeners/call-queued-listener.js';
import { dispatchEvent } from '../../src/listeners/event-dispatcher.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events } from '../../src/runtime/current.js';
import { QueueFake } from '../../src/testing/queue-fake.js';
import { assertionFrom } from '../helpers/assertion-from.js';

/*
 * Queue.fake() without a database: the real path goes to the `null` driver, observed through
 * JobQueued. Every assertion is proven both ways: it passes when it should, and throws an
 * AssertionError naming what happened when it should not.
 */

@Job()
class QfShipOrder extends Queueable {
  constructor(readonly orderId: number) {
    super();
  }
  async handle(): Promise<void> {}
}

@Job({ queue: 'mail' })
class QfSendMail extends Queueable {
  constructor(readonly to: string) {
    super();
  }
  async handle(): Promise<void> {}
}

@Job()
class QfAudit extends Queueable {
  async handle(): Promise<void> {}
}

/** A job whose data would not survive the queue: it holds a function. */
@Job()
class QfHoldsAnything extends Queueable {
  constructor(readonly value: unknown) {
    super();
  }
  async handle(): Promise<void> {}
}

let ran = 0;
@Job()
class QfCounted extends Queueable {
  async handle(): Promise<void> {
    ran++;
  }
}

class QfOrderPlaced {
  constructor(readonly orderId: number) {}
}

@Listener({ event: QfOrderPlaced, queued: true, queue: 'listeners' })
class QfEmailCustomer {
  async handle(): Promise<void> {}
}

const queued: JobQueued[] = [];
let unsubscribe: () => void;

beforeAll(async () => {
  await boot({
    default: 'null',
    connections: { null: { driver: 'null' }, other: { driver: 'null' }, sync: { driver: 'sync' } },
  });
  unsubscribe = events.on(JobQueued, (event) => void queued.push(event));
});
afterAll(async () => {
  unsubscribe();
  await shutdown();
});
afterEach(() => {
  Queue.restore();
  Bus.restore();
  queued.length = 0;
});

describe('Queue.fake(): recording', () => {
  it('records every dispatch instead of pushing it, resolving to a fake id', async () => {
    const fake = Queue.fake();
    expect(fake).toBeInstanceOf(QueueFake);
    const id = await QfShipOrder.dispatch(7);
    expect(id).toMatch(/^fake-/);
    await dispatch(new QfSendMail('a@example.com'));
    expect(queued).toHaveLength(0);
    expect(fake.pushed(QfShipOrder)).toEqual([new QfShipOrder(7)]);
    expect(fake.pushedJobs().map((p) => [p.job.constructor.name, p.connection, p.queue])).toEqual([
      ['QfShipOrder', 'null', 'default'],
      ['QfSendMail', 'null', 'mail'],
    ]);
  });

  it('fakes only the listed classes; the others are pushed as usual', async () => {
    const fake = Queue.fake([QfShipOrder]);
    await QfShipOrder.dispatch(1);
    await QfSendMail.dispatch('b@example.com');
    fake.assertPushed(QfShipOrder);
    fake.assertNotPushed(QfSendMail);
    expect(queued.map((e) => e.payload.displayName)).toEqual(['QfSendMail']);
  });

  it('fakes everything except the listed classes', async () => {
    const fake = Queue.fake({ except: [QfShipOrder] });
    await QfShipOrder.dispatch(1);
    await QfSendMail.dispatch('b@example.com');
    fake.assertPushed(QfSendMail);
    fake.assertNotPushed(QfShipOrder);
    expect(queued.map((e) => e.payload.displayName)).toEqual(['QfShipOrder']);
  });

  it('stops recording after Queue.restore(), and a new fake starts empty', async () => {
    const first = Queue.fake();
    await QfShipOrder.dispatch(1);
    Queue.restore();
    await QfShipOrder.dispatch(2);
    expect(queued).toHaveLength(1);
    first.assertCount(1);
    const second = Queue.fake();
    second.assertNothingPushed();
    first.assertCount(1);
  });

  it('lets dispatchSync run: it is not a push', async () => {
    const fake = Queue.fake();
    ran = 0;
    await dispatchSync(new QfCounted());
    expect(ran).toBe(1);
    fake.assertNothingPushed();
  });

  it('records Queue.bulk, with fake ids in input order, and pushes the jobs it does not fake', async () => {
    const fake = Queue.fake([QfShipOrder]);
    const ids = await Queue.bulk([new QfShipOrder(1), new QfSendMail('c@example.com'), new QfShipOrder(2)], {
      queue: 'bulk',
    });
    expect(ids).toHaveLength(3);
    expect(ids[0]).toMatch(/^fake-/);
    expect(ids[1]).not.toMatch(/^fake-/);
    expect(ids[2]).toMatch(/^fake-/);
    fake.assertPushedTimes(QfShipOrder, 2);
    fake.assertPushedOn('bulk', QfShipOrder, (job) => job.orderId === 2);
    expect(queued.map((e) => e.payload.displayName)).toEqual(['QfSendMail']);
  });

  it('records the first job of Bus.chain() with the rest of its chain, on the chain queue', async () => {
    const fake = Queue.fake();
    const id = await Bus.chain([new QfShipOrder(1), new QfSendMail('d@example.com'), new QfAudit()])
      .onQueue('chains')
      .dispatch();
    expect(id).toMatch(/^fake-/);
    fake.assertCount(1);
    fake.assertPushedOn('chains', QfShipOrder);
    fake.assertPushedWithChain(QfShipOrder, [QfSendMail, QfAudit]);
    fake.assertPushedWithChain(QfShipOrder, [new QfSendMail('d@example.com'), QfAudit]);
    expect(queued).toHaveLength(0);
  });

  it('records a dispatch(...).chain([...]) with its chain', async () => {
    const fake = Queue.fake();
    await dispatch(new QfShipOrder(3)).chain([new QfAudit()]);
    fake.assertPushedWithChain(QfShipOrder, [QfAudit], (job) => job.orderId === 3);
  });

  it('records a batch instead of storing it, and its jobs as pushed where they would go (a chain: its first job carrying the rest)', async () => {
    const fake = Queue.fake();
    fake.assertNothingBatched();
    expect(assertionFrom(() => fake.assertBatched(() => true)).message).toBe(
      'The expected batch was not dispatched. No batches were dispatched.',
    );
    const batch = await Bus.batch([new QfShipOrder(1), [new QfAudit(), new QfSendMail('b@example.com')]])
      .name('orders')
      .onQueue('batches')
      .dispatch();
    expect([batch.id.startsWith('fake-'), batch.name, batch.totalJobs]).toEqual([true, 'orders', 2]);
    expect(queued).toHaveLength(0);
    fake.assertBatched((b) => b.name === 'orders' && b.queue === 'batches' && b.jobs.length === 2 && !b.allowFailures);
    fake.assertBatchCount(1);
    fake.assertPushedOn('batches', QfShipOrder);
    fake.assertPushedWithChain(QfAudit, [QfSendMail]);
    expect(fake.batched().map((b) => b.name)).toEqual(['orders']);
    expect(assertionFrom(() => fake.assertNothingBatched()).message).toBe(
      '1 unexpected batch(es) were dispatched: [orders] of 2 job(s).',
    );
    expect(assertionFrom(() => fake.assertBatchCount(2)).message).toBe('1 batch(es) were dispatched instead of 2.');
  });

  it('records a queued listener as a CallQueuedListener naming it', async () => {
    const fake = Queue.fake();
    await dispatchEvent(new QfOrderPlaced(12));
    fake.assertPushedOn(
      'listeners',
      CallQueuedListener,
      (job) => job.listener === QfEmailCustomer.name && job.data.orderId === 12,
    );
    expect(queued).toHaveLength(0);
  });

  it('passes where the job would go to the predicate: queue, connection, delay', async () => {
    const fake = Queue.fake();
    await QfShipOrder.dispatch(5).onConnection('other').onQueue('high').delay(30);
    fake.assertPushed(
      QfShipOrder,
      (job, pushed) =>
        job.orderId === 5 && pushed.connection === 'other' && pushed.queue === 'high' && pushed.delay === 30,
    );
  });
});

describe('Queue.fake(): assertions prove both sides', () => {
  it('assertPushed', async () => {
    const fake = Queue.fake();
    expect(assertionFrom(() => fake.assertPushed(QfShipOrder)).message).toBe(
      'The expected [QfShipOrder] job was not pushed. No jobs were pushed.',
    );
    await QfShipOrder.dispatch(1);
    await QfSendMail.dispatch('x');
    fake.assertPushed(QfShipOrder);
    fake.assertPushed(QfShipOrder, (job) => job.orderId === 1);
    const error = assertionFrom(() => fake.assertPushed(QfShipOrder, (job) => job.orderId === 2));
    expect(error.message).toContain(
      'The expected [QfShipOrder] job was not pushed: 1 were, none matching the predicate:',
    );
    expect(error.message).toContain('orderId: 1');
    expect(assertionFrom(() => fake.assertPushed(QfAudit)).message).toBe(
      'The expected [QfAudit] job was not pushed. Pushed: QfShipOrder ×1, QfSendMail ×1.',
    );
  });

  it('assertPushedOn', async () => {
    const fake = Queue.fake();
    expect(assertionFrom(() => fake.assertPushedOn('mail', QfSendMail)).message).toBe(
      'The expected [QfSendMail] job was not pushed on queue [mail]. No jobs were pushed.',
    );
    await QfSendMail.dispatch('x');
    await QfSendMail.dispatch('y').onQueue('bulk-mail');
    fake.assertPushedOn('mail', QfSendMail);
    fake.assertPushedOn('bulk-mail', QfSendMail, (job) => job.to === 'y');
    expect(assertionFrom(() => fake.assertPushedOn('other', QfSendMail)).message).toBe(
      'The expected [QfSendMail] job was not pushed on queue [other]; it was pushed on: [mail], [bulk-mail].',
    );
    expect(assertionFrom(() => fake.assertPushedOn('mail', QfSendMail, (job) => job.to === 'y')).message).toContain(
      'it was pushed on: [bulk-mail]',
    );
  });

  it('assertPushedTimes', async () => {
    const fake = Queue.fake();
    fake.assertPushedTimes(QfShipOrder, 0);
    await QfShipOrder.dispatch(1);
    await QfShipOrder.dispatch(2);
    fake.assertPushedTimes(QfShipOrder, 2);
    expect(assertionFrom(() => fake.assertPushedTimes(QfShipOrder, 3)).message).toBe(
      'The expected [QfShipOrder] job was pushed 2 time(s) instead of 3.',
    );
    // Laravel's shape: a count where the predicate goes.
    fake.assertPushed(QfShipOrder, 2);
    expect(assertionFrom(() => fake.assertPushed(QfShipOrder, 1)).message).toBe(
      'The expected [QfShipOrder] job was pushed 2 time(s) instead of 1.',
    );
  });

  it('assertNotPushed', async () => {
    const fake = Queue.fake();
    fake.assertNotPushed(QfShipOrder);
    await QfShipOrder.dispatch(1);
    fake.assertNotPushed(QfSendMail);
    fake.assertNotPushed(QfShipOrder, (job) => job.orderId === 2);
    const error = assertionFrom(() => fake.assertNotPushed(QfShipOrder));
    expect(error.message).toContain('The unexpected [QfShipOrder] job was pushed 1 time(s):');
    expect(error.message).toContain('orderId: 1');
  });

  it('assertNothingPushed', async () => {
    const fake = Queue.fake();
    fake.assertNothingPushed();
    await QfShipOrder.dispatch(1);
    expect(assertionFrom(() => fake.assertNothingPushed()).message).toBe(
      '1 unexpected job(s) were pushed: Pushed: QfShipOrder ×1.',
    );
  });

  it('assertCount', async () => {
    const fake = Queue.fake();
    fake.assertCount(0);
    await QfShipOrder.dispatch(1);
    await QfAudit.dispatch();
    fake.assertCount(2);
    expect(assertionFrom(() => fake.assertCount(1)).message).toBe(
      '2 job(s) were pushed instead of 1. Pushed: QfShipOrder ×1, QfAudit ×1.',
    );
  });

  it('assertPushedWithChain', async () => {
    const fake = Queue.fake();
    expect(assertionFrom(() => fake.assertPushedWithChain(QfShipOrder, [QfAudit])).message).toBe(
      'The expected [QfShipOrder] job was not pushed. No jobs were pushed.',
    );
    await Bus.chain([new QfShipOrder(1), new QfSendMail('z'), new QfAudit()]).dispatch();
    fake.assertPushedWithChain(QfShipOrder, [QfSendMail, QfAudit]);
    expect(assertionFrom(() => fake.assertPushedWithChain(QfShipOrder, [QfAudit, QfSendMail])).message).toBe(
      'The expected [QfShipOrder] job was not pushed with the chain [QfAudit, QfSendMail]; it was pushed with: [QfSendMail, QfAudit].',
    );
    expect(assertionFrom(() => fake.assertPushedWithChain(QfShipOrder, [QfSendMail])).message).toContain(
      'was not pushed with the chain [QfSendMail]',
    );
    const byValue = assertionFrom(() => fake.assertPushedWithChain(QfShipOrder, [new QfSendMail('other'), QfAudit]));
    expect(byValue.message).toContain("to: 'z'");
  });

  it('assertPushedOnce', async () => {
    const fake = Queue.fake();
    expect(assertionFrom(() => fake.assertPushedOnce(QfShipOrder)).message).toBe(
      'The expected [QfShipOrder] job was not pushed. No jobs were pushed.',
    );
    await QfShipOrder.dispatch(1);
    fake.assertPushedOnce(QfShipOrder);
    await QfShipOrder.dispatch(2);
    fake.assertPushedOnce(QfShipOrder, (job) => job.orderId === 2);
    const error = assertionFrom(() => fake.assertPushedOnce(QfShipOrder));
    expect(error.message).toContain('The expected [QfShipOrder] job was pushed 2 times instead of once:');
    expect(error.message).toContain('orderId: 2');
  });

  it('assertPushedWithoutChain', async () => {
    const fake = Queue.fake();
    await Bus.chain([new QfShipOrder(1), new QfAudit()]).dispatch();
    expect(assertionFrom(() => fake.assertPushedWithoutChain(QfShipOrder)).message).toBe(
      'The expected [QfShipOrder] job was not pushed without a chain; it was pushed with: [QfAudit].',
    );
    expect(assertionFrom(() => fake.assertPushedWithoutChain(QfSendMail)).message).toBe(
      'The expected [QfSendMail] job was not pushed. Pushed: QfShipOrder ×1.',
    );
    await QfShipOrder.dispatch(2);
    fake.assertPushedWithoutChain(QfShipOrder);
    expect(() => fake.assertPushedWithoutChain(QfShipOrder, (job) => job.orderId === 1)).toThrow(
      'was not pushed without a chain',
    );
  });

  it('pushed() returns the recorded instances, narrowed by a predicate', async () => {
    const fake = Queue.fake();
    expect(fake.pushed(QfShipOrder)).toEqual([]);
    const job = new QfShipOrder(9);
    await dispatch(job);
    await QfShipOrder.dispatch(10);
    expect(fake.pushed(QfShipOrder)[0]).toBe(job);
    expect(fake.pushed(QfShipOrder, (j) => j.orderId === 10).map((j) => j.orderId)).toEqual([10]);
  });
});

describe('Queue.fake({ serializeAndRestore: true })', () => {
  it('records the copy a worker would get', async () => {
    const fake = Queue.fake({ serializeAndRestore: true });
    const job = new QfShipOrder(4);
    await dispatch(job);
    const [recorded] = fake.pushed(QfShipOrder);
    expect(recorded).not.toBe(job);
    expect(recorded).toEqual(job);
  });

  it('makes a dispatch whose data would not survive the queue reject; without it the same dispatch is recorded', async () => {
    Queue.fake();
    await expect(QfHoldsAnything.dispatch(() => 1)).resolves.toMatch(/^fake-/);
    const fake = Queue.fake({ serializeAndRestore: true });
    await expect(QfHoldsAnything.dispatch(() => 1)).rejects.toThrow(PayloadError);
    await expect(Queue.bulk([new QfHoldsAnything(() => 1)])).rejects.toThrow(PayloadError);
    await expect(Bus.chain([new QfAudit(), new QfHoldsAnything(() => 1)]).dispatch()).rejects.toThrow(PayloadError);
    fake.assertNothingPushed();
  });
});
