import { afterAll, beforeAll, expect, it } from 'vitest';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

/** What the running job waits for: the test lets it finish once it has seen what it checks. */
let letFinish: () => void = () => undefined;
let running = false;

@Job({ name: 'maxTime.LongJob' })
class LongJob extends Queueable {
  async handle() {
    running = true;
    await new Promise<void>((resolve) => (letFinish = resolve));
    running = false;
  }
}

@Job({ name: 'maxTime.NextJob' })
class NextJob extends Queueable {
  async handle() {}
}

// --max-time is checked whenever the worker's loop turns, and a worker whose every slot is busy
// sleeps until one frees. Its max time must still wake it: it stops claiming and hands back the
// jobs it had prefetched at once, rather than holding them for as long as its longest job runs.
await describeEachEngine('--max-time on a worker whose slots are all busy', (engine) => {
  let queue: WorkerQueue;

  beforeAll(async () => {
    const store = await freshStore(engine, 'max_time');
    await boot({ default: store.default, connections: storeConnections(store) });
    await runMigrations();
    queue = (await runtime()).queues.worker();
  });
  afterAll(() => shutdown());

  it('hands its prefetched job back at its max time while the running job carries on, then exits 0 once that job is done', async () => {
    await LongJob.dispatch();
    const next = await NextJob.dispatch();
    // Records each hand-back: which jobs, and when.
    const handedBack: Array<{ ids: string[]; at: number }> = [];
    const unclaim = queue.unclaim.bind(queue);
    queue.unclaim = async (jobs, delay) => {
      // Recorded once the statement has landed, with the moment it was sent.
      const at = Date.now();
      const count = await unclaim(jobs, delay);
      handedBack.push({ ids: jobs.map((job) => job.id), at });
      return count;
    };
    const MAX_TIME = 3;
    const worker = createWorker({ concurrency: 1, prefetch: 1, maxTime: MAX_TIME, sleep: 0 });
    const startedAt = Date.now();
    const result = worker.run();
    try {
      // One claim takes both: the long job runs in the one slot, the next waits in the buffer
      // until the max time hands it back, while the long job still runs.
      await eventually('the prefetched job to be handed back', async () =>
        handedBack.some((h) => h.ids.includes(String(next))),
      );
      expect(running).toBe(true);
      // Not before the max time (a lower bound: load only makes it later).
      expect(handedBack.find((h) => h.ids.includes(String(next)))!.at - startedAt).toBeGreaterThanOrEqual(
        MAX_TIME * 1000,
      );
      // Handed back, not held: the long job is the one reservation.
      expect(await queue.stats('default')).toMatchObject({ pending: 1, reserved: 1 });
    } finally {
      letFinish();
      queue.unclaim = unclaim;
    }
    expect(await result).toBe(0);
    // The long job finished and was deleted; the next is left, unrun, for another worker, with the
    // attempt its first claim counted returned: claimed again, this is its first attempt.
    expect(await queue.stats('default')).toMatchObject({ size: 1, pending: 1, reserved: 0 });
    const [again] = await queue.claim('default', 1, 'max-time-test');
    expect({ id: again?.id, attempts: again?.attempts }).toEqual({ id: String(next), attempts: 1 });
  });
});
