import { describe, expect, it } from 'vitest';
import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { workerGraceSeconds } from '../../src/deploy/worker-args.js';
import { EventBus } from '../../src/events/event-bus.js';
import { JobPopping } from '../../src/events/job-popping.js';
import { WorkerQueuePaused } from '../../src/events/worker-queue-paused.js';
import { WorkerQueueResumed } from '../../src/events/worker-queue-resumed.js';
import { WorkerControls } from '../../src/worker/controls.js';
import { PrefetchBuffer } from '../../src/worker/prefetch-buffer.js';
import { Slots } from '../../src/worker/slots.js';
import { graceSeconds, queuesToWork } from '../../src/worker/worker-options.js';

const job = (id: string, queue: string): ReservedJob => ({
  id,
  queue,
  payload: '{}',
  attempts: 1,
  exceptions: 0,
  reservedBy: 'w',
});

/** A driver whose queues hold the given jobs; it records what was claimed from where and handed back. */
function fakeDriver(queues: Record<string, ReservedJob[]>, failOn?: string) {
  const claims: Array<[string, number]> = [];
  const unclaimed: string[] = [];
  const driver = {
    connectionName: 'test',
    async claim(queue: string, limit: number) {
      claims.push([queue, limit]);
      if (queue === failOn) throw new Error(`claim on ${queue} failed`);
      return (queues[queue] ?? []).splice(0, limit);
    },
    async unclaim(jobs: readonly ReservedJob[]) {
      unclaimed.push(...jobs.map((j) => j.id));
      return jobs.length;
    },
  } as unknown as WorkerQueue;
  return { driver, claims, unclaimed };
}

function buffer(driver: WorkerQueue, queues: string[], reported: unknown[] = [], events = new EventBus()) {
  return new PrefetchBuffer({
    driver,
    events,
    report: (error) => reported.push(error),
    workerId: 'w',
    queues,
    monitor: () => undefined,
    recheck: () => undefined,
  });
}

describe('graceSeconds and queuesToWork', () => {
  it('one grace rule for the worker and the supervisor configs: grace, else timeout, else 60', () => {
    expect(graceSeconds({ grace: 2.5, timeout: 30 })).toBe(2.5);
    expect(graceSeconds({ timeout: 30 })).toBe(30);
    expect(graceSeconds({ timeout: 0 })).toBe(60);
    expect(workerGraceSeconds(['--grace=2.5', '--timeout=30'])).toBe(3);
    expect(workerGraceSeconds(['--timeout=30'])).toBe(30);
    expect(workerGraceSeconds(['--timeout=0'])).toBe(60);
    expect(workerGraceSeconds([])).toBe(60);
    // With a grace given the timeout is not read, as before the rule moved.
    expect(workerGraceSeconds(['--grace=5', '--timeout=soon'])).toBe(5);
  });

  it('works the queues given, else the connection’s default queue', () => {
    expect(queuesToWork(['high', 'low'], 'default')).toEqual(['high', 'low']);
    expect(queuesToWork([], 'default')).toEqual(['default']);
    expect(queuesToWork(undefined, 'emails')).toEqual(['emails']);
  });
});

describe('PrefetchBuffer', () => {
  it('fills from the queues in priority order up to want, skipping the ones asked to skip', async () => {
    const { driver, claims } = fakeDriver({
      high: [job('1', 'high')],
      paused: [job('2', 'paused')],
      low: [job('3', 'low'), job('4', 'low'), job('5', 'low')],
    });
    const popping: string[] = [];
    const events = new EventBus();
    events.on(JobPopping, (event) => void popping.push(event.queue));
    const jobs = buffer(driver, ['high', 'paused', 'low'], [], events);
    expect(await jobs.fill(3, (queue) => queue === 'paused')).toEqual({ claimed: 3 });
    expect(claims).toEqual([
      ['high', 3],
      ['low', 2],
    ]);
    expect(popping).toEqual(['high', 'low']);
    expect(jobs.size).toBe(3);
    expect(jobs.claimFailures).toBe(0);
  });

  it('keeps and counts the jobs claimed before a claim failed, reports it and counts the failure', async () => {
    const { driver } = fakeDriver({ high: [job('1', 'high')] }, 'low');
    const reported: unknown[] = [];
    const jobs = buffer(driver, ['high', 'low'], reported);
    const { claimed, error } = await jobs.fill(5, () => false);
    expect(claimed).toBe(1);
    expect((error as Error).message).toBe('claim on low failed');
    expect(reported).toEqual([error]);
    expect(jobs.size).toBe(1);
    expect(jobs.claimFailures).toBe(1);
    await jobs.fill(5, () => false);
    expect(jobs.claimFailures).toBe(2);
  });

  it('takes the oldest job outside the paused queues, and hands back the jobs asked for', async () => {
    const { driver, unclaimed } = fakeDriver({ a: [job('1', 'a'), job('2', 'a')], b: [job('3', 'b')] });
    const jobs = buffer(driver, ['a', 'b']);
    await jobs.fill(3, () => false);
    expect(jobs.take(new Set(['a']))?.id).toBe('3');
    expect(jobs.take(new Set(['a']))).toBeUndefined();
    jobs.handBack((j) => j.id === '2');
    expect(unclaimed).toEqual(['2']);
    expect(jobs.take(new Set())?.id).toBe('1');
    expect(jobs.take(new Set())).toBeUndefined();
  });
});

describe('WorkerControls', () => {
  it('takes the first controls as the restart baseline, then asks for a restart when the counter moves', async () => {
    const { driver } = fakeDriver({});
    let wakes = 0;
    const controls = new WorkerControls({
      connectionName: 'test',
      queues: ['default'],
      events: new EventBus(),
      buffer: buffer(driver, ['default']),
      wake: () => void wakes++,
    });
    await controls.apply({ restart: 4, paused: [] });
    expect(controls.restartRequested).toBe(false);
    await controls.apply({ restart: 4, paused: [] });
    expect(controls.restartRequested).toBe(false);
    await controls.apply({ restart: 5, paused: [] });
    expect(controls.restartRequested).toBe(true);
    expect(wakes).toBe(1);
  });

  it('announces a pause and a resume of its own queues once, and hands back the paused queue’s buffered jobs', async () => {
    const { driver, unclaimed } = fakeDriver({ mail: [job('1', 'mail')], sms: [job('2', 'sms')] });
    const jobs = buffer(driver, ['mail', 'sms']);
    await jobs.fill(2, () => false);
    const heard: string[] = [];
    const events = new EventBus();
    events.on(WorkerQueuePaused, (event) => void heard.push(`paused ${event.queue}`));
    events.on(WorkerQueueResumed, (event) => void heard.push(`resumed ${event.queue}`));
    const controls = new WorkerControls({
      connectionName: 'test',
      queues: ['mail', 'sms'],
      events,
      buffer: jobs,
      wake: () => undefined,
    });
    await controls.apply({ restart: 0, paused: ['mail', 'other'] });
    await controls.apply({ restart: 0, paused: ['mail'] });
    expect([...controls.pausedQueues]).toEqual(['mail']);
    expect(unclaimed).toEqual(['1']);
    expect(jobs.size).toBe(1);
    await controls.apply({ restart: 0, paused: [] });
    expect(heard).toEqual(['paused mail', 'resumed mail']);
  });
});

describe('Slots', () => {
  it('frees a slot when the handler is done, counts jobs that ran, and not one handed back', async () => {
    const { driver } = fakeDriver({});
    const outcomes = new Map<string, 'handed-back' | undefined>([
      ['1', undefined],
      ['2', 'handed-back'],
    ]);
    /** For each job: ends its handler, then lands its finishing write. */
    const steps = new Map<string, Array<() => void>>();
    const step = (id: string) => new Promise<void>((resolve) => steps.get(id)!.push(resolve));
    let freed = 0;
    const slots = new Slots({
      concurrency: 1,
      rest: 0,
      driver,
      report: () => undefined,
      buffer: { claimedAt: () => undefined, forget: () => undefined },
      processor: {
        process: async (reserved, free) => {
          await step(reserved.id);
          free?.();
          await step(reserved.id);
          return outcomes.get(reserved.id) as never;
        },
      },
      freed: () => void freed++,
      settled: () => undefined,
    });
    const next = async (id: string) => {
      steps.get(id)!.shift()!();
      for (let i = 0; i < 5; i++) await Promise.resolve();
    };
    steps.set('1', []);
    steps.set('2', []);
    slots.start(job('1', 'a'));
    expect(slots.hasRoom).toBe(false);
    await next('1');
    // The handler is done; its finishing write is not: the slot is free, the job still running.
    expect(freed).toBe(1);
    expect(slots.hasRoom).toBe(true);
    expect(slots.jobs).toBe(1);
    slots.start(job('2', 'a'));
    await next('2');
    await next('1');
    await next('2');
    await slots.settle();
    expect(slots.jobs).toBe(0);
    expect(slots.processed).toBe(1);
    expect(freed).toBe(2);
  });
});
