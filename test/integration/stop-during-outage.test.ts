import { afterAll, beforeAll, expect, it } from 'vitest';

import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import { Job } from '../../src/decorators/job.js';
import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, runtime, shutdown } from '../../src/runtime/errand.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { describeEachEngine, freshDatabase, type TestEngine } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

@Job({ name: 'stopDuringOutage.FlakyJob', tries: 3 })
class FlakyJob extends Queueable {
  async handle() {
    throw new Error('FlakyJob fails, to be released');
  }
}

// A release (or a failure) the database refuses is retried while it is unreachable, so that the
// job is not left reserved. A worker asked to stop twice must not wait for the database: before,
// only the grace running out ended those retries, and a stop of any other kind never did.
await describeEachEngine('a worker stopping while the database refuses its finishing writes', (engine: TestEngine) => {
  const reported: unknown[] = [];
  let queue: DatabaseQueue;

  beforeAll(async () => {
    await boot({ default: 'database', connections: { database: await freshDatabase(engine, 'stop_outage') }, report: (error) => reported.push(error) });
    await runMigrations();
    queue = (await runtime()).queues.database();
  });
  afterAll(() => shutdown());

  it('a second stop request ends the retries at once: run() returns, the refused release is reported, the row waits for its lease', async () => {
    await FlakyJob.dispatch();
    let releases = 0;
    const release = queue.release.bind(queue);
    queue.release = (_job: ReservedJob) => {
      releases++;
      return Promise.reject(new DatabaseUnreachableError('Cannot reach the database of queue connection [database] (test: refused)'));
    };
    try {
      // A grace of an hour: only the second stop can end this run within the test's timeout.
      const worker = createWorker({ grace: 3600, sleep: 0 });
      const running = worker.run();
      await eventually('the release to have been refused twice', async () => releases >= 2);
      worker.stop();
      worker.stop();
      expect(await running).toBe(0);
    } finally {
      queue.release = release;
    }
    expect(reported.map(String)).toContain('DatabaseUnreachableError: Cannot reach the database of queue connection [database] (test: refused)');
    // Nothing lost: the job is still in the table, reserved, for its lease to hand back.
    expect(await queue.knex('jobs').whereNotNull('reserved_at').count({ n: '*' })).toEqual([{ n: engine === 'postgres' ? '1' : 1 }]);
  });
});
