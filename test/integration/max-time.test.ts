import { afterAll, beforeAll, expect, it } from 'vitest';

import { Job } from '../../src/decorators/job.js';
import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, runtime, shutdown } from '../../src/runtime/errand.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { describeEachEngine, freshDatabase, type TestEngine } from '../helpers/databases.js';
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
await describeEachEngine('--max-time on a worker whose slots are all busy', (engine: TestEngine) => {
  let queue: DatabaseQueue;

  beforeAll(async () => {
    await boot({ default: 'database', connections: { database: await freshDatabase(engine, 'max_time') } });
    await runMigrations();
    queue = (await runtime()).queues.database();
  });
  afterAll(() => shutdown());

  it('hands its prefetched job back at its max time while the running job carries on, then exits 0 once that job is done', async () => {
    await LongJob.dispatch();
    const next = await NextJob.dispatch();
    const row = () => queue.knex('jobs').where({ id: next }).first() as Promise<{ reserved_by: string | null; attempts: number | string } | undefined>;

    const worker = createWorker({ concurrency: 1, prefetch: 1, maxTime: 1, sleep: 0 });
    const result = worker.run();
    try {
      // One claim took both: the long job runs in the one slot, the next waits in the buffer.
      await eventually('the long job to run and the next one to be prefetched', async () => running && (await row())?.reserved_by != null);
      // Handed back, with the attempt the claim counted returned, while the long job still runs.
      await eventually('the prefetched job to be handed back', async () => (await row())?.reserved_by === null);
      expect(running).toBe(true);
      expect(Number((await row())!.attempts)).toBe(0);
    } finally {
      letFinish();
    }
    expect(await result).toBe(0);
    // The long job finished and was deleted; the next is left, unrun, for another worker.
    expect((await queue.knex('jobs').select('id')).map((r: { id: unknown }) => String(r.id))).toEqual([String(next)]);
  });
});
