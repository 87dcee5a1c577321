// The depth sampler shares the worker's own pool: one sample must not put a query per queue on it
// at once, however many queues a store has.
import { describe, expect, it } from 'vitest';

import type { FailedJobBrowser } from '../../src/contracts/failed-job-store.js';
import type { QueueInspector, QueueSnapshot } from '../../src/contracts/queue-inspector.js';
import { QUERIES_AT_ONCE, readConnectionDepth, readFailedDepth } from '../../src/metrics/depth-reading.js';

/** Counts the calls under way and the most at once. */
class InFlight {
  running = 0;
  most = 0;
  async run<T>(value: T): Promise<T> {
    this.running += 1;
    this.most = Math.max(this.most, this.running);
    // A few turns of the event loop, so the others have every chance to start meanwhile.
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
    this.running -= 1;
    return value;
  }
}

const names = Array.from({ length: 25 }, (_, i) => `q${i}`);

describe('reading a store for the depth gauges', () => {
  it(`counts at most ${QUERIES_AT_ONCE} queues at a time, every queue once, in order`, async () => {
    const gauge = new InFlight();
    const inspector = {
      queueNames: async () => names,
      workers: async () => [],
      queue: (name: string) =>
        gauge.run<QueueSnapshot>({
          name,
          pending: 1,
          delayed: 0,
          reserved: 0,
          capped: false,
          oldestPendingAge: null,
          paused: false,
        }),
    } as unknown as QueueInspector;
    const depth = await readConnectionDepth(inspector, 10);
    expect(depth.queues.map((queue) => queue.name)).toEqual(names);
    expect(gauge.most).toBe(QUERIES_AT_ONCE);
  });

  it(`counts the failed jobs of at most ${QUERIES_AT_ONCE} queues at a time`, async () => {
    const gauge = new InFlight();
    const browser = {
      queues: async () => names.map((queue) => ({ connection: 'database', queue })),
      countUpTo: (filter: { queue: string }) => gauge.run({ count: Number(filter.queue.slice(1)), capped: false }),
    } as unknown as FailedJobBrowser;
    const failed = await readFailedDepth(browser, new Set(['database']), 100);
    expect(failed.map(({ count }) => count)).toEqual(names.map((_, i) => i));
    expect(gauge.most).toBe(QUERIES_AT_ONCE);
  });
});
