// The driver conformance suite: every member of the worker-facing queue contract, called
// directly, on every driver and store that describeEachWorkerQueue knows. A new driver plugs
// into that factory and must pass this file unchanged (docs/drivers.md).
import { randomUUID } from 'node:crypto';

import { expect, it } from 'vitest';

import type { FailedJobRecord, FailedJobStore, StoredFailedJob } from '../../src/contracts/failed-job-store.js';
import type { PushRequest } from '../../src/contracts/queue.js';
import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { WorkerRegistration } from '../../src/contracts/worker-queue.js';
import { eventually } from '../helpers/eventually.js';
import { describeEachWorkerQueue } from '../helpers/worker-queues.js';

const payloadOf = (name: string) => JSON.stringify({ job: name });

/** A failed-job store that is not the queue's own: what `fail` does when the two cannot share a transaction. */
class RecordingFailedJobStore implements FailedJobStore {
  readonly records: FailedJobRecord[] = [];
  async all(): Promise<StoredFailedJob[]> {
    return this.records.map((record, i) => ({ ...record, id: String(i + 1), failedAt: new Date(0) }));
  }
  async count(): Promise<number> {
    return this.records.length;
  }
  async close(): Promise<void> {}
  async find(key: string): Promise<StoredFailedJob | undefined> {
    return (await this.all()).find((record) => record.uuid === key);
  }
  async flush(): Promise<number> {
    return this.records.splice(0).length;
  }
  async forget(): Promise<boolean> {
    return false;
  }
  async log(record: FailedJobRecord): Promise<void> {
    this.records.push(record);
  }
}

const byId = (a: ReservedJob, b: ReservedJob) => a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
const ids = (jobs: readonly ReservedJob[]) => jobs.map((job) => job.id);
/** Claimed jobs without their wait, which depends on the clock (its own test checks it). */
const withoutWait = (jobs: readonly ReservedJob[]) => jobs.map(({ waitMs: _, ...job }) => job);

await describeEachWorkerQueue('the worker queue contract', (subject) => {
  const push = (queue: string, name: string, delay?: PushRequest['delay']) =>
    subject().queue.push({ queue, payload: payloadOf(name), delay });
  const pushMany = async (queue: string, count: number) => {
    const pushed: string[] = [];
    for (let i = 0; i < count; i++) pushed.push(await push(queue, `${queue}-${i}`));
    return pushed;
  };
  const registration = (id: string): WorkerRegistration => ({
    id,
    name: 'conformance',
    connection: subject().queue.connectionName,
    queues: ['default'],
    hostname: 'conformance-host',
    pid: process.pid,
    concurrency: 1,
  });
  const failure = (job: ReservedJob): FailedJobRecord => ({
    uuid: randomUUID(),
    connection: subject().queue.connectionName,
    queue: job.queue,
    payload: job.payload,
    exception: 'Error: failed for good',
  });
  const lapseOf = () => {
    const { heartbeat } = subject().queue.leases;
    if (heartbeat === false) throw new Error('The factory must build queues with heartbeats on.');
    return heartbeat.lapse;
  };

  // Queue: what dispatch uses, and the worker through the jobs it runs.

  it('names its connection and default queue, stores jobs rather than running them, and is reachable from the monitor thread', () => {
    const { queue } = subject();
    expect(queue.connectionName).toBe('database');
    expect(queue.defaultQueue).toBe('default');
    expect(queue.runsJobsInline).toBe(false);
    expect(queue.reachableFromOtherThreads).toBe(true);
  });

  it('sharesStoreWith answers true for itself and false for a store it cannot write in', () => {
    const { queue } = subject();
    expect(queue.sharesStoreWith(queue)).toBe(true);
    expect(queue.sharesStoreWith(new RecordingFailedJobStore())).toBe(false);
    expect(queue.sharesStoreWith({})).toBe(false);
  });

  it('push stores one job that a claim hands back with the same id, queue and payload, its first attempt counted', async () => {
    const { queue } = subject();
    const id = await push('pushed', 'one');
    expect(typeof id).toBe('string');
    expect(withoutWait(await queue.claim('pushed', 5, 'w'))).toEqual([
      { id, queue: 'pushed', payload: payloadOf('one'), attempts: 1, exceptions: 0, reservedBy: 'w' },
    ]);
  });

  it('a claim says how long each job waited since it became available, on the store’s clock', async () => {
    const { queue } = subject();
    const before = await subject().now();
    await push('waited', 'one');
    const [claimed] = await queue.claim('waited', 1, 'w');
    const after = await subject().now();
    expect(Number.isInteger(claimed!.waitMs)).toBe(true);
    expect(claimed!.waitMs).toBeGreaterThanOrEqual(0);
    expect(claimed!.waitMs).toBeLessThanOrEqual((after - before + 1) * 1000);
  });

  it('bulk resolves to the ids in input order, across the chunk boundary and several queues', async () => {
    const { queue, bulkChunk, now } = subject();
    expect(await queue.bulk([])).toEqual([]);
    const past = new Date(((await now()) - 600) * 1000);
    // Two chunks and a bit; rows of one chunk differ in queue and in how their time is given.
    const requests: PushRequest[] = Array.from({ length: bulkChunk * 2 + 3 }, (_, i) => ({
      queue: i % 2 === 0 ? 'bulk-a' : 'bulk-b',
      payload: payloadOf(`bulk-${i}`),
      delay: i % 3 === 0 ? past : undefined,
    }));
    const pushed = await queue.bulk(requests);
    expect(pushed).toHaveLength(requests.length);
    expect(new Set(pushed).size).toBe(requests.length);
    const claimed = [
      ...withoutWait(await queue.claim('bulk-a', requests.length, 'w')),
      ...withoutWait(await queue.claim('bulk-b', requests.length, 'w')),
    ];
    const stored = new Map(claimed.map((job) => [job.id, `${job.queue} ${job.payload}`]));
    expect(pushed.map((id) => stored.get(id))).toEqual(requests.map((r) => `${r.queue} ${r.payload}`));
  });

  it('size counts pending, delayed and reserved jobs of one queue; clear deletes them all, reserved ones too', async () => {
    const { queue, peek } = subject();
    const [reservedId] = await pushMany('sized', 2);
    await push('sized', 'later', 3600);
    const kept = await push('elsewhere', 'kept');
    const [held] = withoutWait(await queue.claim('sized', 1, 'w'));
    expect(held!.id).toBe(reservedId);
    expect(await queue.size('sized')).toBe(3);
    expect(await queue.size('elsewhere')).toBe(1);
    expect(await queue.clear('sized')).toBe(3);
    expect(await queue.size('sized')).toBe(0);
    expect(await peek(kept)).toMatchObject({ queue: 'elsewhere', reservedBy: null });
    // The holder of a cleared job finds nothing to finish.
    expect(await queue.delete(held!)).toBe(false);
  });

  it('stats counts a queue’s jobs by state, and how long its oldest pending job has waited on the store’s clock', async () => {
    const { queue, now } = subject();
    expect(await queue.stats('counted')).toEqual({
      size: 0,
      pending: 0,
      delayed: 0,
      reserved: 0,
      oldestPendingAge: null,
    });
    const before = await now();
    await pushMany('counted', 3);
    await push('counted', 'later', 3600);
    await push('elsewhere', 'not counted');
    withoutWait(await queue.claim('counted', 1, 'w'));
    const stats = await queue.stats('counted');
    const after = await now();
    expect(stats).toMatchObject({ size: 4, pending: 2, delayed: 1, reserved: 1 });
    expect(stats.oldestPendingAge).toBeGreaterThanOrEqual(0);
    expect(stats.oldestPendingAge).toBeLessThanOrEqual(after - before);
  });

  // claim

  it('claim takes the due jobs of one queue in (available_at, id) order, one claim at a time', async () => {
    const { queue, now } = subject();
    const base = await now();
    const at = (secondsAgo: number) => new Date((base - secondsAgo) * 1000);
    const other = await push('other', 'earliest of all', at(1000));
    const late = await push('ordered', 'due now');
    const early = await push('ordered', 'due 100 s ago', at(100));
    const middle = await push('ordered', 'due 50 s ago', at(50));
    const earlyToo = await push('ordered', 'also due 100 s ago', at(100));
    await push('ordered', 'not due for an hour', 3600);
    const order: string[] = [];
    for (let i = 0; i < 4; i++) order.push(...ids(withoutWait(await queue.claim('ordered', 1, 'w'))));
    expect(order).toEqual([early, earlyToo, middle, late]);
    // Only the delayed job is left on this queue, and another queue's jobs are never taken.
    expect(withoutWait(await queue.claim('ordered', 10, 'w'))).toEqual([]);
    expect(ids(withoutWait(await queue.claim('other', 10, 'w')))).toEqual([other]);
  });

  it('claim takes at most `limit` jobs, each job once, across several queues and holders', async () => {
    const { queue } = subject();
    const a = await pushMany('queue-a', 5);
    const b = await pushMany('queue-b', 3);
    const first = withoutWait(await queue.claim('queue-a', 2, 'w1'));
    expect(ids(first.sort(byId))).toEqual(a.slice(0, 2));
    expect(first.every((job) => job.attempts === 1 && job.exceptions === 0 && job.reservedBy === 'w1')).toBe(true);
    expect(ids(withoutWait(await queue.claim('queue-a', 10, 'w2')).sort(byId))).toEqual(a.slice(2));
    expect(withoutWait(await queue.claim('queue-a', 10, 'w3'))).toEqual([]);
    expect(ids(withoutWait(await queue.claim('queue-b', 2, 'w1')).sort(byId))).toEqual(b.slice(0, 2));
    expect(ids(withoutWait(await queue.claim('queue-b', 2, 'w2')))).toEqual(b.slice(2));
  });

  it('concurrent claims never hand one job to two claimers', async () => {
    const { queue, peek } = subject();
    const pushed = await pushMany('contended', 12);
    const claims = await Promise.all(
      ['c1', 'c2', 'c3', 'c4', 'c5', 'c6'].map((token) => queue.claim('contended', 3, token)),
    );
    const claimed = claims.flat();
    expect(claims.every((jobs) => jobs.length <= 3)).toBe(true);
    expect(new Set(ids(claimed)).size).toBe(claimed.length);
    for (const job of claimed) expect(await peek(job.id)).toMatchObject({ reservedBy: job.reservedBy, attempts: 1 });
    // A claimer that skipped rows locked by another leaves them for the next claim.
    const rest = withoutWait(await queue.claim('contended', 12, 'last'));
    expect(new Set([...ids(claimed), ...ids(rest)])).toEqual(new Set(pushed));
  });

  it('a reservation older than retryAfter is claimable again with its attempt counted, and its first holder is fenced off', async () => {
    const { queue, backdateReservation, peek } = subject();
    const { leases } = queue;
    const [young, old] = await pushMany('expiring', 2);
    const [youngJob, oldJob] = withoutWait(await queue.claim('expiring', 2, 'w')).sort(byId);
    // On the store's clock: half of retryAfter is still a live lease; a little more than all of it is not.
    await backdateReservation(young!, leases.retryAfter / 2);
    await backdateReservation(old!, leases.retryAfter + 5);
    const taken = withoutWait(await queue.claim('expiring', 10, 'x'));
    expect(taken).toEqual([{ ...oldJob!, attempts: 2, reservedBy: 'x' }]);
    expect(await queue.delete(oldJob!)).toBe(false);
    expect(await peek(old!)).toMatchObject({ reservedBy: 'x', attempts: 2 });
    expect(await queue.delete(youngJob!)).toBe(true);
  });

  // The finishing writes and the lease fence.

  it('delete removes a job its holder still holds, once', async () => {
    const { queue, peek } = subject();
    const id = await push('deleted', 'one');
    const [job] = withoutWait(await queue.claim('deleted', 1, 'w'));
    expect(await queue.delete(job!)).toBe(true);
    expect(await peek(id)).toBeUndefined();
    expect(await queue.delete(job!)).toBe(false);
  });

  it('release puts the job back, available after the delay on the store’s clock, with its exception count and its attempt kept', async () => {
    const { queue, now, peek } = subject();
    const [delayed, atOnce] = await pushMany('released', 2);
    const [job, other] = withoutWait(await queue.claim('released', 2, 'w')).sort(byId);
    const before = await now();
    expect(await queue.release(job!, 30, 2)).toBe(true);
    const after = await now();
    const stored = await peek(delayed!);
    expect(stored).toMatchObject({ queue: 'released', reservedBy: null, attempts: 1, exceptions: 2 });
    expect(stored!.availableAt).toBeGreaterThanOrEqual(before + 30);
    expect(stored!.availableAt).toBeLessThanOrEqual(after + 30);
    // Released once; the same claim cannot release (or finish) it again.
    expect(await queue.release(job!, 0, 3)).toBe(false);
    expect(await queue.delete(job!)).toBe(false);
    // Without a delay it is due at once, and the next claim counts the next attempt.
    expect(await queue.release(other!, 0, 1)).toBe(true);
    expect(withoutWait(await queue.claim('released', 10, 'w'))).toEqual([
      { ...other!, id: atOnce, attempts: 2, exceptions: 1 },
    ]);
  });

  it('fail records the job in the failed-job store and deletes it, once', async () => {
    const { queue, failer, peek } = subject();
    const id = await push('failing', 'one');
    const [job] = withoutWait(await queue.claim('failing', 1, 'w'));
    const record = failure(job!);
    expect(await queue.fail(job!, record, failer)).toBe(true);
    expect(await peek(id)).toBeUndefined();
    expect(await failer.find(record.uuid)).toMatchObject({
      uuid: record.uuid,
      connection: record.connection,
      queue: 'failing',
      payload: payloadOf('one'),
    });
    expect(await queue.fail(job!, failure(job!), failer)).toBe(false);
    expect(await failer.count()).toBe(1);
  });

  it('fail with a failed-job store elsewhere records there and deletes the job', async () => {
    const { queue, failer, peek } = subject();
    const elsewhere = new RecordingFailedJobStore();
    const id = await push('failing', 'one');
    const [job] = withoutWait(await queue.claim('failing', 1, 'w'));
    const record = failure(job!);
    expect(await queue.fail(job!, record, elsewhere)).toBe(true);
    expect(elsewhere.records).toEqual([record]);
    expect(await peek(id)).toBeUndefined();
    expect(await failer.count()).toBe(0);
  });

  it('delete and fail commit their `within` writes in the same transaction: a throw there undoes the delete and the record', async (context) => {
    const { queue, failer, peek } = subject();
    // Callers pass `within` only for a store the queue shares, and only then is `fail` one transaction.
    if (!queue.sharesStoreWith(failer)) context.skip('this queue keeps failed jobs in another store');
    const [first, second] = await pushMany('within', 2);
    const [deleted, failed] = withoutWait(await queue.claim('within', 2, 'w')).sort(byId);
    const refuse = async () => {
      throw new Error('the batch count could not be written');
    };
    await expect(queue.delete(deleted!, refuse)).rejects.toThrow();
    await expect(queue.fail(failed!, failure(failed!), failer, refuse)).rejects.toThrow();
    expect(await peek(first!)).toMatchObject({ reservedBy: 'w', attempts: 1 });
    expect(await peek(second!)).toMatchObject({ reservedBy: 'w', attempts: 1 });
    expect(await failer.count()).toBe(0);
    let ran = 0;
    const count = async () => {
      ran++;
    };
    expect(await queue.delete(deleted!, count)).toBe(true);
    expect(await queue.fail(failed!, failure(failed!), failer, count)).toBe(true);
    expect(ran).toBe(2);
    expect([await peek(first!), await peek(second!), await failer.count()]).toEqual([undefined, undefined, 1]);
    // A write whose lease is gone runs none of its `within` writes.
    expect(await queue.delete(deleted!, count)).toBe(false);
    expect(ran).toBe(2);
  });

  it('after a sweep takes a dead worker’s jobs back, its delete, release, fail, deleteMany and unclaim return false and change nothing', async () => {
    const { queue, failer, backdateWorker, peek } = subject();
    const pushed = await pushMany('fenced', 4);
    await queue.registerWorker(registration('old'));
    const held = withoutWait(await queue.claim('fenced', 4, 'old')).sort(byId);
    await backdateWorker('old', lapseOf() + 5);
    expect(await queue.sweepDeadWorkers('sweeper')).toEqual({ workers: ['old'], jobs: 4, byQueue: { fenced: 4 } });
    const elsewhere = new RecordingFailedJobStore();
    const staleWrites = async () => {
      const [a, b, c, d] = held;
      expect(await queue.delete(a!)).toBe(false);
      expect(await queue.release(b!, 0, 7)).toBe(false);
      expect(await queue.fail(c!, failure(c!), failer)).toBe(false);
      expect(await queue.deleteMany([d!])).toEqual(new Set());
      expect(await queue.unclaim(held)).toBe(0);
      expect(await queue.reservedJobs('old', pushed)).toEqual([]);
      // With the record kept elsewhere it may be written before the fenced delete (the store keeps one per job); the job stays.
      expect(await queue.fail(a!, failure(a!), elsewhere)).toBe(false);
    };
    const swept = await Promise.all(pushed.map((id) => peek(id)));
    expect(swept.every((job) => job?.reservedBy === null && job.attempts === 1 && job.exceptions === 0)).toBe(true);
    await staleWrites();
    expect(await Promise.all(pushed.map((id) => peek(id)))).toEqual(swept);
    expect(await failer.count()).toBe(0);
    // Claimed by a live worker, the jobs stay fenced against the dead one's writes.
    const again = withoutWait(await queue.claim('fenced', 4, 'new')).sort(byId);
    expect(again).toEqual(held.map((job) => ({ ...job, attempts: 2, reservedBy: 'new' })));
    const claimedAgain = await Promise.all(pushed.map((id) => peek(id)));
    await staleWrites();
    expect(await Promise.all(pushed.map((id) => peek(id)))).toEqual(claimedAgain);
    expect(await failer.count()).toBe(0);
    expect(await queue.deleteMany(again)).toEqual(new Set(pushed));
  });

  it('a write about an earlier claim of a job is fenced off even when the same worker claimed it again', async () => {
    const { queue, backdateWorker, peek } = subject();
    const id = await push('reclaimed', 'one');
    await queue.registerWorker(registration('w'));
    const [earlier] = withoutWait(await queue.claim('reclaimed', 1, 'w'));
    await backdateWorker('w', lapseOf() + 5);
    expect(await queue.sweepDeadWorkers('sweeper')).toEqual({ workers: ['w'], jobs: 1, byQueue: { reclaimed: 1 } });
    await queue.registerWorker(registration('w'));
    const [later] = withoutWait(await queue.claim('reclaimed', 1, 'w'));
    expect(later).toEqual({ ...earlier!, attempts: 2 });
    expect(await queue.release(earlier!, 0, 1)).toBe(false);
    expect(await queue.delete(earlier!)).toBe(false);
    expect(await queue.deleteMany([earlier!])).toEqual(new Set());
    expect(await queue.unclaim([earlier!])).toBe(0);
    expect(await peek(id)).toMatchObject({ reservedBy: 'w', attempts: 2, exceptions: 0 });
    expect(await queue.delete(later!)).toBe(true);
  });

  it('deleteMany deletes the jobs still held, across holders, and resolves to exactly their ids', async () => {
    const { queue, peek } = subject();
    await pushMany('many', 4);
    const [released, b, c] = withoutWait(await queue.claim('many', 3, 'w1')).sort(byId);
    const [d] = withoutWait(await queue.claim('many', 1, 'w2'));
    expect(await queue.release(released!, 0, 0)).toBe(true);
    expect(await queue.deleteMany([released!, b!, c!, d!])).toEqual(new Set([b!.id, c!.id, d!.id]));
    expect(await peek(released!.id)).toMatchObject({ reservedBy: null, attempts: 1 });
    expect(await Promise.all([b, c, d].map((job) => peek(job!.id)))).toEqual([undefined, undefined, undefined]);
    expect(await queue.deleteMany([b!, c!])).toEqual(new Set());
    expect(await queue.deleteMany([])).toEqual(new Set());
  });

  it('unclaim hands held jobs back with their attempt returned, after the delay on the store’s clock, and only jobs still held', async () => {
    const { queue, now, peek } = subject();
    await pushMany('unclaimed', 3);
    const [a, b, c] = withoutWait(await queue.claim('unclaimed', 3, 'w')).sort(byId);
    expect(await queue.unclaim([a!, b!])).toBe(2);
    expect(await peek(a!.id)).toMatchObject({ reservedBy: null, attempts: 0 });
    expect(await queue.unclaim([a!, b!])).toBe(0);
    // The attempt was not counted: the next claim is the first attempt again.
    const reclaimed = withoutWait(await queue.claim('unclaimed', 2, 'v')).sort(byId);
    expect(reclaimed).toEqual([a, b].map((job) => ({ ...job!, reservedBy: 'v' })));
    expect(await queue.unclaim([a!])).toBe(0);
    expect(await peek(a!.id)).toMatchObject({ reservedBy: 'v', attempts: 1 });
    const before = await now();
    expect(await queue.unclaim([c!], 45)).toBe(1);
    const after = await now();
    const stored = await peek(c!.id);
    expect(stored).toMatchObject({ reservedBy: null, attempts: 0 });
    expect(stored!.availableAt).toBeGreaterThanOrEqual(before + 45);
    expect(stored!.availableAt).toBeLessThanOrEqual(after + 45);
    expect(withoutWait(await queue.claim('unclaimed', 10, 'w'))).toEqual([]);
    expect(await queue.unclaim([])).toBe(0);
  });

  it('reservedJobs reads back, payload included, only the jobs still reserved by the token', async () => {
    const { queue } = subject();
    await pushMany('read-back', 3);
    const mine = withoutWait(await queue.claim('read-back', 2, 'w')).sort(byId);
    const [theirs] = withoutWait(await queue.claim('read-back', 1, 'v'));
    const found = await queue.reservedJobs('w', [...ids(mine), theirs!.id, '987654321']);
    expect(found.sort(byId)).toEqual(mine);
    expect(await queue.reservedJobs('w', [])).toEqual([]);
  });

  // Workers: registration, heartbeats and the sweep.

  it('the sweep takes back the jobs of a worker whose heartbeat lapsed, with their attempt counted, and leaves live workers and itself alone', async () => {
    const { queue, backdateWorker, peek } = subject();
    const lapse = lapseOf();
    await pushMany('workers', 3);
    for (const id of ['live', 'dead', 'recent']) await queue.registerWorker(registration(id));
    const [livesJob] = withoutWait(await queue.claim('workers', 1, 'live'));
    const deadsJobs = withoutWait(await queue.claim('workers', 2, 'dead'));
    // On the store's clock: half a lapse ago is alive, a little more than a lapse ago is dead.
    await backdateWorker('dead', lapse + 5);
    await backdateWorker('recent', lapse / 2);
    expect(await queue.sweepDeadWorkers('live')).toEqual({ workers: ['dead'], jobs: 2, byQueue: { workers: 2 } });
    for (const job of deadsJobs) expect(await peek(job.id)).toMatchObject({ reservedBy: null, attempts: 1 });
    expect(await peek(livesJob!.id)).toMatchObject({ reservedBy: 'live' });
    expect(await queue.heartbeat('dead', [])).toBe(false);
    expect(await queue.heartbeat('recent', [])).toBe(true);
    expect(await queue.sweepDeadWorkers('live')).toEqual({ workers: [], jobs: 0, byQueue: {} });
    // Never the sweeper itself: it may have been stopped between its beat and its sweep.
    await backdateWorker('live', lapse + 5);
    expect(await queue.sweepDeadWorkers('live')).toEqual({ workers: [], jobs: 0, byQueue: {} });
    expect(await peek(livesJob!.id)).toMatchObject({ reservedBy: 'live' });
    expect(await queue.sweepDeadWorkers()).toEqual({ workers: ['live'], jobs: 1, byQueue: { workers: 1 } });
    // A worker presumed dead registers again and beats on.
    await queue.registerWorker(registration('dead'));
    expect(await queue.heartbeat('dead', [])).toBe(true);
  });

  it('a heartbeat renews the leases of the listed jobs its worker holds, and only those; without its row it renews nothing', async () => {
    const { queue, backdateReservation, peek } = subject();
    const { leases } = queue;
    await pushMany('beating', 2);
    await queue.registerWorker(registration('w'));
    const [mine] = withoutWait(await queue.claim('beating', 1, 'w'));
    const [theirs] = withoutWait(await queue.claim('beating', 1, 'v'));
    await backdateReservation(mine!.id, leases.retryAfter + 5);
    await backdateReservation(theirs!.id, leases.retryAfter + 5);
    expect(await queue.heartbeat('w', [mine!.id, theirs!.id])).toBe(true);
    expect(withoutWait(await queue.claim('beating', 10, 'x'))).toEqual([{ ...theirs!, attempts: 2, reservedBy: 'x' }]);
    expect(await peek(mine!.id)).toMatchObject({ reservedBy: 'w', attempts: 1 });
    // Deregistered (a clean exit), or swept: a beat finds no row, says so, and renews nothing.
    await queue.deregisterWorker('w');
    await backdateReservation(mine!.id, leases.retryAfter + 5);
    expect(await queue.heartbeat('w', [mine!.id])).toBe(false);
    expect(withoutWait(await queue.claim('beating', 10, 'x'))).toEqual([{ ...mine!, attempts: 2, reservedBy: 'x' }]);
  });

  // Controls, wake-ups, lock waits, close.

  it('controls read back the paused queues of the connection and a restart counter that moves on every request', async () => {
    const { queue } = subject();
    const initial = await queue.controls();
    expect(initial.paused).toEqual([]);
    expect(await queue.pause('b')).toBe(true);
    expect(await queue.pause('a')).toBe(true);
    expect(await queue.pause('a')).toBe(false);
    expect((await queue.controls()).paused).toEqual(['a', 'b']);
    expect(await queue.resume('a')).toBe(true);
    expect(await queue.resume('a')).toBe(false);
    expect((await queue.controls()).paused).toEqual(['b']);
    // The worker remembers the counter it started with and stops when it reads another.
    await queue.requestRestart();
    const once = (await queue.controls()).restart;
    expect(once).not.toBe(initial.restart);
    await queue.requestRestart();
    expect((await queue.controls()).restart).not.toBe(once);
    expect((await queue.controls()).paused).toEqual(['b']);
  });

  // What each store promises: PostgreSQL announces every insert with its queue (NOTIFY from the
  // INSERT itself, so a push from any process counts); SQLite reports writes to its file or WAL
  // from any process, without a queue; MySQL/MariaDB have no channel, and workers poll.
  it('listen hears a push as far as the store promises, and stops', { timeout: 60_000 }, async () => {
    const { queue, wakeUps } = subject();
    const heard: Array<string | undefined> = [];
    const errors: unknown[] = [];
    const stop = await queue.listen(
      ['wake', 'wake-bulk'],
      (name) => heard.push(name),
      (error) => errors.push(error),
    );
    try {
      await queue.push({ queue: 'wake', payload: payloadOf('wake') });
      await queue.bulk(['x', 'y'].map((name) => ({ queue: 'wake-bulk', payload: payloadOf(name) })));
      if (wakeUps === 'queue') {
        await eventually(
          'both inserts are announced',
          async () => heard.includes('wake') && heard.includes('wake-bulk'),
        );
        expect(new Set(heard)).toEqual(new Set(['wake', 'wake-bulk']));
      } else if (wakeUps === 'any') {
        await eventually('a write is reported', async () => heard.length > 0);
        expect(heard.every((name) => name === undefined)).toBe(true);
      } else {
        expect(heard).toEqual([]);
      }
    } finally {
      await stop();
    }
    expect(errors).toEqual([]);
  });

  it('limitLockWaits bounds the lock waits of the queue’s own connection where the store blocks on them, and the queue works on', async () => {
    const { queue, lockWait } = subject();
    await queue.limitLockWaits(250);
    const bound = await lockWait();
    if (bound !== undefined) expect(bound).toBe(250);
    const id = await push('after-limit', 'one');
    expect(ids(withoutWait(await queue.claim('after-limit', 1, 'w')))).toEqual([id]);
  });

  it('close ends the connection: later calls reject', async () => {
    const { queue } = subject();
    await push('closing', 'one');
    await queue.close();
    await expect(queue.size('closing')).rejects.toThrow();
  });
});
