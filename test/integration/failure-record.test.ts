// One failure record for a job whether the worker's processor fails it (its handler threw) or its
// watchdog thread does (its handler wedged the event loop): the same uuid rule, and the batch's
// count whether the batch table shares the jobs' connection or not. The watchdog used to count a
// failure only when `batching.connection` named the worker's connection, so with the batches on
// another connection its failures were never counted.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { describeEachEngine, freshStore } from '../helpers/databases.js';
import { dispatchBatch, ProcessPool, TIMEOUT_JOBS, within } from '../helpers/timeout-jobs-kit.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

await describeEachEngine('a failure recorded alike by the processor and the watchdog', (engine) => {
  describe.each(
    engine === 'redis'
      ? [
          ['in the database beside Redis (counted just after)', 'database'],
          ['in another connection to that database (counted just after)', 'batches'],
        ]
      : [
          ['in the jobs’ connection (counted in the failing transaction)', 'database'],
          ['in another connection to the same database (counted just after)', 'batches'],
        ],
  )('with the batch table %s', (_where, batchingConnection) => {
    const pool = new ProcessPool();
    let app: StoreApp;

    beforeAll(async () => {
      app = await createWorkerApp(await freshStore(engine, `failure_record_${batchingConnection}`), {
        bootstrap: [TIMEOUT_JOBS],
        overrides: { heartbeat: { interval: 1, lapse: 3 }, retryAfter: 4 },
        prefix: 'errand-failure-record-',
        config: { connections: { batches: {} }, batching: { connection: batchingConnection } },
      });
    });
    afterAll(async () => {
      await pool.killAll();
      await app?.close();
    });

    it('counts both failures in the batch and records each under its payload’s uuid', async () => {
      const batchId = await dispatchBatch(app, [
        // Fails on the main thread (tries 1), then the next job wedges the loop: the watchdog fails it.
        { job: 'ThrowingJob', args: ['thrown'] },
        { job: 'BlockingOnceJob', args: ['wedged'] },
      ]);
      const worker = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
      const exit = await within(
        worker.exited,
        30_000,
        () => `the watchdog to end the worker\n${worker.stdout()}\n${worker.stderr()}`,
      );
      expect(exit.signal === 'SIGALRM' || exit.code === 142, JSON.stringify(exit) + worker.stderr()).toBe(true);
      expect(worker.stderr()).toMatch(/BlockingOnceJob #\S+ failed/);
      expect(worker.stderr()).not.toContain('not made');

      const failed = (await app.knex('failed_jobs').select('uuid', 'payload')) as Array<{
        uuid: string;
        payload: string;
      }>;
      expect(failed.map((row) => JSON.parse(row.payload).displayName).sort()).toEqual([
        'BlockingOnceJob',
        'ThrowingJob',
      ]);
      for (const row of failed) expect(row.uuid).toBe(JSON.parse(row.payload).uuid);

      const batch = (await app.knex('job_batches').where({ id: batchId }).first()) as Record<string, unknown>;
      expect(Number(batch.failed_jobs)).toBe(2);
      expect((JSON.parse(String(batch.failed_job_ids)) as string[]).sort()).toEqual(
        failed.map((row) => row.uuid).sort(),
      );
      expect(await app.jobCount()).toBe(0);
    });
  });
});
