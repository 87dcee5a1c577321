import { afterAll, beforeAll, expect, it } from 'vitest';

import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import { Job } from '../../src/decorators/job.js';
import type { DatabaseQueue } from '../../src/drivers/database/database-queue.js';
import { DatabaseUnreachableError } from '../../src/errors/database-unreachable-error.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { DRAIN_PATIENCE_MS } from '../../src/worker/finisher.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';

@Job({ name: 'stopDuringOutage.FlakyJob', tries: 3 })
class FlakyJob extends Queueable {
  async handle() {
    throw new Error('FlakyJob fails, to be released');
  }
}

// A release (or a failure) the database refuses is retried while it is unreachable, so that the
// job is not left reserved. A worker asked to stop twice must not wait for the database: before,
// only the grace running out ended those retries, and a stop of any other kind never did. Now a
// stop of another kind gives them up after a patience of its own.
const describeEachSql = databaseOnly('makes the database refuse the finishing writes and reads reserved jobs rows');
await describeEachSql('a worker stopping while the database refuses its finishing writes', (engine) => {
  const reported: unknown[] = [];
  let queue: DatabaseQueue;

  beforeAll(async () => {
    await boot({
      default: 'database',
      connections: { database: await freshDatabase(engine, 'stop_outage') },
      report: (error) => reported.push(error),
    });
    await runMigrations();
    queue = databaseQueue((await runtime()).queues);
  });
  afterAll(() => shutdown());

  const REFUSAL = 'DatabaseUnreachableError: Cannot reach the database of queue connection [database] (test: refused)';

  /**
   * Dispatches a job that throws, with every release of it refused as by an unreachable database;
   * runs `stopping` (which runs a worker and stops it) and checks what every such stop must leave:
   * the refusal reported, and the job still reserved, for its lease to hand back (nothing lost).
   */
  async function whileReleasesAreRefused(stopping: (releases: () => number) => Promise<void>): Promise<void> {
    await queue.knex('jobs').delete();
    reported.length = 0;
    await FlakyJob.dispatch();
    let releases = 0;
    const release = queue.release.bind(queue);
    queue.release = (_job: ReservedJob) => {
      releases++;
      return Promise.reject(new DatabaseUnreachableError(REFUSAL.slice('DatabaseUnreachableError: '.length)));
    };
    try {
      await stopping(() => releases);
    } finally {
      queue.release = release;
    }
    expect(reported.map(String)).toContain(REFUSAL);
    expect(await queue.knex('jobs').whereNotNull('reserved_at').count({ n: '*' })).toEqual([
      { n: engine === 'postgres' ? '1' : 1 },
    ]);
  }

  it('a stop of another kind (--max-time) gives the retries up after its patience: run() returns, the refused release is reported, the row waits for its lease', async () => {
    await whileReleasesAreRefused(async (releases) => {
      // No signal and no second stop: only the worker's own patience (DRAIN_PATIENCE_MS) ends the
      // release's retries; without it run() never returns and the test times out.
      const MAX_TIME = 3;
      const worker = createWorker({ maxTime: MAX_TIME, sleep: 0 });
      const startedAt = Date.now();
      expect(await worker.run()).toBe(0);
      // It did not give up before its patience, counted from its max time, ran out (a lower
      // bound: load only makes it later; 50 ms for timers that fire a little early by Date.now()).
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(MAX_TIME * 1000 + DRAIN_PATIENCE_MS - 50);
      // Tried at first, retried while stopping, and once more on giving up.
      expect(releases()).toBeGreaterThanOrEqual(3);
    });
  });

  it('a second stop request ends the retries at once: run() returns, the refused release is reported, the row waits for its lease', async () => {
    await whileReleasesAreRefused(async (releases) => {
      // A grace of an hour: only the second stop can end this run within the test's timeout.
      const worker = createWorker({ grace: 3600, sleep: 0 });
      const running = worker.run();
      await eventually('the release to have been refused twice', async () => releases() >= 2);
      worker.stop();
      worker.stop();
      expect(await running).toBe(0);
    });
  });
});
