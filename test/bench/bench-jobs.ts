import 'reflect-metadata';

import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';

/** What the handlers saw in this process: how many ran, and the window they ran in. */
export const handled = { count: 0, first: 0, last: 0, latencies: [] as number[] };

/** Milliseconds on a clock every process on the machine shares, with sub-millisecond resolution. */
export function clock(): number {
  return performance.timeOrigin + performance.now();
}

/** The job every throughput figure moves: it does nothing, so what is measured is the queue. */
@Job({ name: 'BenchNoop' })
export class BenchNoop extends Queueable {
  constructor(readonly n: number) {
    super();
  }

  async handle(): Promise<void> {
    const now = clock();
    if (handled.count === 0) handled.first = now;
    handled.count++;
    handled.last = now;
  }
}

/** Carries the instant it was dispatched; its handler records how long it took to start. */
@Job({ name: 'BenchPing' })
export class BenchPing extends Queueable {
  constructor(readonly sentAt: number) {
    super();
  }

  async handle(): Promise<void> {
    handled.latencies.push(clock() - this.sentAt);
    handled.count++;
  }
}
