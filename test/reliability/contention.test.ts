import { afterAll, beforeAll, expect, it } from 'vitest';
import { within } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp } from './harness/controller.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 1: no duplicates and no loss under contention. 16 claimers (2 processes × 8 slots) on
// MariaDB and PostgreSQL; SQLite, one writer at a time, runs 1 process × 8 and then 2 processes.
const JOBS = sized(3_000, 100_000);

const describeEachSql = databaseOnly(
  "sized for the SQL engines' claims; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios",
);
await describeEachSql('reliability 1: contention', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_contention'), {
      overrides: { heartbeat: { interval: 1, lapse: 15 } },
    });
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
  });

  const layouts = engine === 'sqlite' ? [1, 2] : [2];
  for (const processes of layouts) {
    it(`${processes} process(es) × 8 slots run each of ${JOBS} jobs exactly once`, async () => {
      for (const table of ['jobs', 'failed_jobs', 'ledger']) await app.knex(table).delete();
      // One try: a second claim of a row would fail it ("attempted too many times") instead of hiding.
      await insertJobsForTest(app.knex, 'jobs', JOBS, (i) => ({
        name: 'ChaosJob',
        command: { key: `k${i}`, ms: 0 },
        maxTries: 1,
      }));
      const started = Date.now();
      controller = new Controller(app, ['queue:work', '--concurrency=8', '--sleep=0.1', '--stop-when-empty']);
      const workers = controller.start(processes);
      const exits = await within(
        Promise.all(workers.map((w) => w.exited)),
        sized(180_000, 3_600_000),
        'the workers to drain the queue',
      );

      const runs = await executions(app.knex);
      const failed = await failedRecords(app.knex);
      const summary = summarise(
        Array.from({ length: JOBS }, (_, i) => `k${i}`),
        runs,
        failed,
      );
      recordResult({
        scenario: `1 contention ${processes}×8`,
        engine,
        jobs: JOBS,
        executions: summary.executions,
        duplicates: summary.duplicates.length,
        lost: summary.lost.length,
        seconds: (Date.now() - started) / 1000,
      });

      // Deadlocks and lock timeouts are retried inside the claim; none may reach a handler or the log.
      expect(controller.stderr()).toBe('');
      expect(exits).toEqual(workers.map(() => ({ code: 0, signal: null })));
      expect(summary.duplicates).toEqual([]);
      expect(summary.lost).toEqual([]);
      expect(runs).toHaveLength(JOBS);
      expect(new Set(runs.map((r) => r.jobId)).size).toBe(JOBS);
      expect(runs.filter((r) => r.attempt !== 1 || r.finishedAt === null)).toEqual([]);
      expect(await countRows(app.knex, 'jobs')).toBe(0);
      expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
      if (processes > 1) expect(new Set(runs.map((r) => r.worker)).size).toBe(processes);
    });
  }
});
