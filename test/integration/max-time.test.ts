import { afterAll, beforeAll, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { type DatabaseEngine, describeEachEngine, freshDatabase } from '../helpers/databases.js';
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
await describeEachEngine('--max-time on a worker whose slots are all busy', (engine: DatabaseEngine) => {
  let queue: DatabaseQueue;

  beforeAll(async () => {
    await boot({ default: 'database', connections: { database: await freshDatabase(engine, 'max_time') } });
    await runMigrations();
    queue = databaseQueue((await runtime()).queues);
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
      const row = (await queue.knex('jobs').where({ id: next }).first()) as {
        reserved_by: string | null;
        attempts: number | string;
      };
      // Handed back with the attempt the claim counted returned.
      expect(row.reserved_by).toBeNull();
      expect(Number(row.attempts)).toBe(0);
    } finally {
      letFinish();
      queue.unclaim = unclaim;
    }
    expect(await result).toBe(0);
    // The long job finished and was deleted; the next is left, unrun, for another worker.
    expect((await queue.knex('jobs').select('id')).map((r: { id: unknown }) => String(r.id))).toEqual([String(next)]);
  });
});
