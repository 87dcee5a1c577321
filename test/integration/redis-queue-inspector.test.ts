// What only the redis QueueInspector has to get right, beyond the conformance file
// (queue-inspector.test.ts): the queue registry, keyset cursors over thousands of jobs stored at
// one millisecond, pages merged across queues (on a cluster, across nodes), the bounded window of
// a job-name filter, and workers found from their registrations with the jobs they hold.
import { expect, it } from 'vitest';

import type { InspectedJob, JobFilter, QueueInspector } from '../../src/contracts/queue-inspector.js';
import type { WorkerRegistration } from '../../src/contracts/worker-queue.js';
import { openQueueInspector } from '../../src/drivers/connect.js';
import { NAME_FILTER_WINDOW } from '../../src/drivers/redis/redis-queue-inspector.js';
import { describeEachRedisQueue, type WorkerQueueSubject } from '../helpers/worker-queues.js';

const payloadOf = (name: string, n = 0) => JSON.stringify({ displayName: name, n });

/** Every page of `filter` from the start, each of `limit` jobs at most. */
async function walk(inspector: QueueInspector, filter: Omit<JobFilter, 'cursor'>): Promise<InspectedJob[][]> {
  const pages: InspectedJob[][] = [];
  let cursor: string | undefined;
  do {
    const page = await inspector.jobs({ ...filter, cursor });
    pages.push([...page.jobs]);
    cursor = page.next ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

const registration = (subject: WorkerQueueSubject, id: string, queues: string[]): WorkerRegistration => ({
  id,
  name: 'inspector-test',
  connection: subject.queue.connectionName,
  queues,
  hostname: 'inspector-host',
  pid: process.pid,
  concurrency: 3,
});

await describeEachRedisQueue('the redis queue inspector', (subject) => {
  const inspector = (): QueueInspector => openQueueInspector(subject().queue);

  it('lists queues pushed to while they hold jobs, paused ones and those a registered worker serves', async () => {
    const { queue } = subject();
    await queue.bulk([
      { queue: 'emails', payload: payloadOf('A') },
      { queue: 'reports', payload: payloadOf('A'), delay: 600 },
    ]);
    await queue.pause('frozen');
    await queue.registerWorker(registration(subject(), 'w-1', ['served']));
    // A worker of another connection on the same server and prefix: that connection's to show.
    await queue.registerWorker({ ...registration(subject(), 'w-x', ['theirs']), connection: 'elsewhere' });
    expect(await inspector().queueNames()).toEqual(['emails', 'frozen', 'reports', 'served']);
    expect((await inspector().workers()).map((worker) => worker.id)).toEqual(['w-1']);

    await queue.clear('emails');
    await queue.deregisterWorker('w-1');
    expect(await inspector().queueNames()).toEqual(['frozen', 'reports']);
  });

  it('counts pending, delayed and reserved jobs up to the cap, with the oldest pending age and paused', async () => {
    const { queue } = subject();
    await queue.bulk([
      ...Array.from({ length: 4 }, (_, n) => ({ queue: 'q', payload: payloadOf('A', n) })),
      ...Array.from({ length: 3 }, (_, n) => ({ queue: 'q', payload: payloadOf('A', n), delay: 600 })),
    ]);
    await queue.claim('q', 1, 'w-1');
    const inspect = inspector();
    expect(await inspect.queue('q', 100)).toEqual({
      name: 'q',
      pending: 3,
      delayed: 3,
      reserved: 1,
      capped: false,
      oldestPendingAge: 0,
      paused: false,
    });
    await queue.pause('q');
    expect(await inspect.queue('q', 2)).toMatchObject({
      pending: 2,
      delayed: 2,
      reserved: 1,
      capped: true,
      paused: true,
    });
    expect(await inspect.queue('empty', 2)).toEqual({
      name: 'empty',
      pending: 0,
      delayed: 0,
      reserved: 0,
      capped: false,
      oldestPendingAge: null,
      paused: false,
    });
  });

  it('pages through jobs stored at one millisecond exactly once each, in id order, while some are claimed', async () => {
    const { queue } = subject();
    const pushed = await queue.bulk(
      Array.from({ length: 2500 }, (_, n) => ({ queue: 'bulk', payload: payloadOf('A', n) })),
    );
    const inspect = inspector();
    const first = await inspect.jobs({ state: 'pending', queue: 'bulk', limit: 1000 });
    expect(first.jobs.map((job) => job.id)).toEqual(pushed.slice(0, 1000));
    // The cursor's own job leaves the set: the next page still starts right after it.
    await queue.claim('bulk', 1000, 'w-1');
    const second = await inspect.jobs({ state: 'pending', queue: 'bulk', limit: 1000, cursor: first.next! });
    expect(second.jobs.map((job) => job.id)).toEqual(pushed.slice(1000, 2000));
    const third = await inspect.jobs({ state: 'pending', queue: 'bulk', limit: 1000, cursor: second.next! });
    expect(third.jobs.map((job) => job.id)).toEqual(pushed.slice(2000));
    expect(third.next).toBeNull();

    const reserved = (await walk(inspect, { state: 'reserved', queue: 'bulk', limit: 300 })).flat();
    expect(reserved.map((job) => job.id)).toEqual(pushed.slice(0, 1000));
    expect(reserved[0]).toMatchObject({ state: 'reserved', reservedBy: 'w-1', attempts: 1, name: 'A' });
  });

  it('merges the queues of a page without a queue filter, due first, across slots', async () => {
    const { queue } = subject();
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const expected: string[] = [];
    // Pushed one by one so each job has its own turn; queues spread over a cluster's masters.
    for (let n = 0; n < 18; n++)
      expected.push(await queue.push({ queue: names[n % names.length]!, payload: payloadOf('A', n) }));
    const delayed = await queue.push({ queue: 'a', payload: payloadOf('A'), delay: 600 });
    const inspect = inspector();
    const pages = await walk(inspect, { state: 'pending', limit: 4 });
    expect(pages.map((page) => page.length)).toEqual([4, 4, 4, 4, 2]);
    const listed = pages.flat();
    // Jobs pushed in one millisecond share a score and are listed by id: the push order either way.
    expect(listed.map((job) => job.id)).toEqual(expected);
    expect(listed.map((job) => job.queue)).toEqual(expected.map((_, n) => names[n % names.length]));
    expect((await inspect.jobs({ state: 'delayed', limit: 10 })).jobs.map((job) => job.id)).toEqual([delayed]);
  });

  it('filters by job name within a bounded window, handing back a cursor to go on from', async () => {
    const { queue } = subject();
    const many = NAME_FILTER_WINDOW + 500;
    await queue.bulk(Array.from({ length: many }, (_, n) => ({ queue: 'mixed', payload: payloadOf('ClassA', n) })));
    const wanted = await queue.bulk(
      Array.from({ length: 3 }, (_, n) => ({ queue: 'mixed', payload: payloadOf('ClassB', n) })),
    );
    const inspect = inspector();
    const first = await inspect.jobs({ state: 'pending', queue: 'mixed', job: 'ClassB', limit: 10 });
    expect(first.jobs).toEqual([]);
    expect(first.next).not.toBeNull();
    const second = await inspect.jobs({
      state: 'pending',
      queue: 'mixed',
      job: 'ClassB',
      limit: 10,
      cursor: first.next!,
    });
    expect(second.jobs.map((job) => job.id)).toEqual(wanted);
    expect(second.jobs.map((job) => job.name)).toEqual(['ClassB', 'ClassB', 'ClassB']);
    expect(second.next).toBeNull();

    // The name inside the payload's data is not its job name.
    await queue.push({
      queue: 'mixed',
      payload: JSON.stringify({ displayName: 'ClassA', data: { displayName: 'ClassB' } }),
    });
    const again = await inspect.jobs({
      state: 'pending',
      queue: 'mixed',
      job: 'ClassB',
      limit: 10,
      cursor: first.next!,
    });
    expect(again.jobs.map((job) => job.id)).toEqual(wanted);

    const firstA = await inspect.jobs({ state: 'pending', queue: 'mixed', job: 'ClassA', limit: 2 });
    expect(firstA.jobs.map((job) => job.name)).toEqual(['ClassA', 'ClassA']);
    expect(firstA.next).not.toBeNull();
  });

  it('finds one job by id in any queue, with its state, times and claim', async () => {
    const { queue } = subject();
    const before = await subject().now();
    const [pending, delayed, reserved] = [
      await queue.push({ queue: 'x', payload: payloadOf('A') }),
      await queue.push({ queue: 'y', payload: payloadOf('B'), delay: 60 }),
      await queue.push({ queue: 'z', payload: 'not json' }),
    ];
    await queue.claim('z', 1, 'w-9');
    const after = await subject().now();
    const inspect = inspector();
    expect(await inspect.job(pending)).toMatchObject({
      id: pending,
      queue: 'x',
      state: 'pending',
      name: 'A',
      attempts: 0,
    });
    const late = (await inspect.job(delayed))!;
    expect(late).toMatchObject({ queue: 'y', state: 'delayed', reservedAt: null, reservedBy: null });
    expect(late.createdAt).toBeGreaterThanOrEqual(before);
    expect(late.availableAt).toBeGreaterThanOrEqual(late.createdAt + 60);
    const held = (await inspect.job(reserved))!;
    expect(held).toMatchObject({
      queue: 'z',
      state: 'reserved',
      name: null,
      payload: 'not json',
      reservedBy: 'w-9',
      attempts: 1,
    });
    expect(held.reservedAt).toBeGreaterThanOrEqual(before);
    expect(held.reservedAt).toBeLessThanOrEqual(after);
    expect(await inspect.job('9999999999999')).toBeUndefined();
  });

  it('lists registered workers with the jobs they hold, and a worker whose beat lapsed as lost', async () => {
    const { queue } = subject();
    await queue.bulk(
      Array.from({ length: 3 }, (_, n) => ({ queue: n === 2 ? 'other' : 'work', payload: payloadOf('A', n) })),
    );
    await queue.registerWorker(registration(subject(), 'w-1', ['work', 'other']));
    await queue.registerWorker(registration(subject(), 'w-2', ['work']));
    const held = [...(await queue.claim('work', 2, 'w-1')), ...(await queue.claim('other', 1, 'w-1'))];
    expect(
      await queue.heartbeat(
        'w-1',
        held.map((job) => job.id),
      ),
    ).toBe(true);
    await subject().backdateWorker('w-2', 120);

    const workers = await inspector().workers();
    expect(workers.map((worker) => [worker.id, worker.lost, worker.jobs])).toEqual([
      ['w-1', false, held.map((job) => job.id).sort()],
      ['w-2', true, []],
    ]);
    const [live] = workers;
    expect(live).toMatchObject({
      hostname: 'inspector-host',
      pid: process.pid,
      concurrency: 3,
      queues: ['work', 'other'],
    });
    expect(live!.lastHeartbeatAt).toBeGreaterThanOrEqual(live!.startedAt);
    expect(live!.expiresAt).toBeGreaterThan(await inspector().now());
  });

  it('names a cursor it did not give', async () => {
    await expect(inspector().jobs({ state: 'pending', limit: 5, cursor: 'nonsense' })).rejects.toThrow(/\[nonsense\]/);
  });
});
