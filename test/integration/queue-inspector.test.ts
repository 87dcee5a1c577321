// The inspector conformance suite: what the dashboard reads of a queue connection (queue names,
// capped counts, pages by state from a cursor, one job, workers), on every driver and store
// describeEachWorkerQueue knows. A driver's inspector must pass this file unchanged.
import { expect, it } from 'vitest';

import type { JobFilter, JobState, QueueInspector } from '../../src/contracts/queue-inspector.js';
import type { WorkerRegistration } from '../../src/contracts/worker-queue.js';
import { openQueueInspector } from '../../src/drivers/connect.js';
import { describeEachWorkerQueue } from '../helpers/worker-queues.js';

const payloadOf = (name: string, n = 0) => JSON.stringify({ uuid: `u-${name}-${n}`, displayName: name, job: 'x' });

/** Every job of a filter, page after page; also how many pages it took. */
async function walkAll(
  inspector: QueueInspector,
  filter: Omit<JobFilter, 'cursor'>,
): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  for (;;) {
    const page = await inspector.jobs({ ...filter, cursor });
    pages++;
    expect(page.jobs.length).toBeLessThanOrEqual(filter.limit);
    for (const job of page.jobs) {
      expect(job.state).toBe(filter.state);
      ids.push(job.id);
    }
    if (page.next === null) return { ids, pages };
    expect(pages).toBeLessThan(1000);
    cursor = page.next;
  }
}

await describeEachWorkerQueue('the queue inspector contract', (subject) => {
  const inspector = () => openQueueInspector(subject().queue);
  const push = (queue: string, name: string, delay?: number) =>
    subject().queue.push({ queue, payload: payloadOf(name), delay });
  const registration = (id: string, queues: string[]): WorkerRegistration => ({
    id,
    name: 'inspector-suite',
    connection: subject().queue.connectionName,
    queues,
    hostname: 'inspector-host',
    pid: 4242,
    concurrency: 3,
  });

  it('names the queues holding jobs in any state, paused ones and those a worker serves, sorted', async () => {
    await push('beta', 'A');
    await push('alpha', 'A');
    await push('delayed-only', 'A', 600);
    await push('reserved-only', 'A');
    expect(await subject().queue.claim('reserved-only', 1, 'w-names')).toHaveLength(1);
    await subject().queue.pause('paused-empty');
    await subject().queue.registerWorker(registration('w-names', ['served-empty', 'alpha']));
    expect(await inspector().queueNames()).toEqual([
      'alpha',
      'beta',
      'delayed-only',
      'paused-empty',
      'reserved-only',
      'served-empty',
    ]);
  });

  it("counts a queue's pending, delayed and reserved jobs exactly, and says when a count stopped at the cap", async () => {
    for (let i = 0; i < 5; i++) await push('counted', 'A');
    await push('counted', 'A', 600);
    await push('counted', 'A', 600);
    await push('other', 'A');
    expect(await subject().queue.claim('counted', 1, 'w-count')).toHaveLength(1);
    const snapshot = await inspector().queue('counted', 100);
    expect(snapshot).toMatchObject({
      name: 'counted',
      pending: 4,
      delayed: 2,
      reserved: 1,
      capped: false,
      paused: false,
    });
    expect(snapshot.oldestPendingAge).toBeGreaterThanOrEqual(0);
    const capped = await inspector().queue('counted', 3);
    expect(capped).toMatchObject({ pending: 3, delayed: 2, reserved: 1, capped: true });
    await subject().queue.pause('counted');
    expect((await inspector().queue('counted', 100)).paused).toBe(true);
  });

  it('gives no oldest pending age when nothing is pending, and zeros for an unknown queue', async () => {
    await push('later', 'A', 600);
    expect(await inspector().queue('later', 100)).toMatchObject({ pending: 0, delayed: 1, oldestPendingAge: null });
    expect(await inspector().queue('nowhere', 100)).toEqual({
      name: 'nowhere',
      pending: 0,
      delayed: 0,
      reserved: 0,
      capped: false,
      oldestPendingAge: null,
      paused: false,
    });
  });

  it('pages through every job of a state across queues, oldest due first, each once', async () => {
    const pending: string[] = [];
    for (let i = 0; i < 7; i++) pending.push(await push(i % 2 === 0 ? 'even' : 'odd', 'A'));
    const delayed = [await push('even', 'A', 900), await push('odd', 'A', 300), await push('odd', 'A', 600)];
    const all = await walkAll(inspector(), { state: 'pending', limit: 3 });
    expect(all.ids.sort()).toEqual([...pending].sort());
    const later = await walkAll(inspector(), { state: 'delayed', limit: 2 });
    // Due soonest first: 300 s, 600 s, 900 s.
    expect(later.ids).toEqual([delayed[1], delayed[2], delayed[0]]);
    const odd = await walkAll(inspector(), { state: 'pending', queue: 'odd', limit: 2 });
    expect(odd.ids.sort()).toEqual(pending.filter((_, i) => i % 2 === 1).sort());
  });

  it('lists reserved jobs with their holder', async () => {
    await push('held', 'A');
    await push('held', 'B');
    const claimed = await subject().queue.claim('held', 2, 'w-held');
    const page = await inspector().jobs({ state: 'reserved', limit: 10 });
    expect(page.jobs.map((job) => job.id).sort()).toEqual(claimed.map((job) => job.id).sort());
    for (const job of page.jobs) {
      expect(job.reservedBy).toBe('w-held');
      expect(job.reservedAt).not.toBeNull();
      expect(job.attempts).toBe(1);
    }
    expect(page.next).toBeNull();
  });

  it('filters a state by job name, going on from a cursor however many other jobs lie between', async () => {
    const first = await push('named', 'ClassA');
    const others = Array.from({ length: 6000 }, (_, n) => ({ queue: 'named', payload: payloadOf('ClassB', n) }));
    await subject().queue.bulk(others);
    const last = await push('named', 'ClassA');
    for (const queue of [undefined, 'named']) {
      const found = await walkAll(inspector(), { state: 'pending', queue, job: 'ClassA', limit: 10 });
      expect(found.ids).toEqual([first, last]);
    }
    const b = await walkAll(inspector(), { state: 'pending', job: 'ClassB', limit: 1000 });
    expect(b.ids).toHaveLength(6000);
    expect(await walkAll(inspector(), { state: 'pending', job: 'ClassC', limit: 10 })).toMatchObject({ ids: [] });
  });

  it('shows one job with its state, name, attempts and payload, and nothing for an unknown id', async () => {
    const due = await push('shown', 'Shown');
    const later = await push('shown', 'Later', 600);
    const job = await inspector().job(due);
    expect(job).toMatchObject({
      id: due,
      queue: 'shown',
      state: 'pending' satisfies JobState,
      name: 'Shown',
      attempts: 0,
      reservedAt: null,
      reservedBy: null,
      payload: payloadOf('Shown'),
    });
    expect(job!.availableAt).toBeGreaterThanOrEqual(job!.createdAt);
    expect((await inspector().job(later))?.state).toBe('delayed');
    await subject().queue.claim('shown', 1, 'w-shown');
    expect(await inspector().job(due)).toMatchObject({ state: 'reserved', reservedBy: 'w-shown', attempts: 1 });
    expect(await inspector().job('99999999')).toBeUndefined();
    expect(await inspector().job('not-an-id')).toBeUndefined();
  });

  it('lists workers with the jobs they hold, and one whose heartbeat lapsed as lost', async () => {
    await subject().queue.registerWorker(registration('w-live', ['alpha']));
    await subject().queue.registerWorker(registration('w-gone', ['beta']));
    await push('alpha', 'A');
    await push('alpha', 'A');
    const held = await subject().queue.claim('alpha', 2, 'w-live');
    await subject().backdateWorker('w-gone', 3600);
    const workers = await inspector().workers();
    const live = workers.find((worker) => worker.id === 'w-live');
    const gone = workers.find((worker) => worker.id === 'w-gone');
    expect(live).toMatchObject({
      name: 'inspector-suite',
      queues: ['alpha'],
      hostname: 'inspector-host',
      pid: 4242,
      concurrency: 3,
      lost: false,
    });
    expect([...live!.jobs].sort()).toEqual(held.map((job) => job.id).sort());
    expect(gone).toMatchObject({ lost: true, jobs: [] });
    expect(workers).toHaveLength(2);
  });

  it("reads the store's clock", async () => {
    const before = await subject().now();
    const now = await inspector().now();
    expect(now).toBeGreaterThanOrEqual(Math.floor(before));
    expect(now).toBeLessThan(before + 60);
  });

  it('refuses a cursor it did not hand out, naming it', async () => {
    await expect(inspector().jobs({ state: 'pending', limit: 5, cursor: 'garbage' })).rejects.toThrow(/garbage/);
    await expect(inspector().jobs({ state: 'pending', limit: 0 })).rejects.toThrow(RangeError);
  });
});
