import path from 'node:path';

import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { databaseNow, sleep, waitUntil } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { type CliProcess, countRows, type WorkerApp } from '../helpers/worker-process.js';
import { pushDelayed } from './fixtures/delay-push.js';
import { Controller, createChaosApp } from './harness/controller.js';
import { type Execution, executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 15: clock skew. Two workers whose clocks read 5 minutes slow and 5 minutes fast
// (fixtures/skew-clock.cjs, preloaded in each worker process and its monitor thread) share the
// queue with the database, whose clock is right. errand reads every time it writes or compares
// (available_at, reserved_at, heartbeats and worker expiry) from the database clock, so the skew
// must change nothing: a worker that used its own clock would start delayed jobs 5 minutes early
// (the fast one) or take the slow one's live jobs and workers for 10 minutes dead.
//
// The ledger's times are each worker's own Date.now(): the test subtracts that worker's offset
// to put them back on this machine's clock, which is the database's (the servers run here; checked).
const SKEWS = [-300_000, 300_000];
const JOBS = sized(600, 10_000);
const MAX_DELAY = sized(5, 60);
/** Long jobs: they outlive retryAfter, so only the heartbeat keeps their reservations alive. */
const LONG_JOBS = sized(8, 100);
const LONG_MS = 8_000;
const RETRY_AFTER = 6;
const LAPSE = 15;
/** Per test: the full sizes run for minutes. */
const TIMEOUT = sized(120_000, 900_000);

const SKEW_CLOCK = path.join(ROOT, 'test/reliability/fixtures/skew-clock.cjs');

const describeEachSql = databaseOnly(
  "skews clocks against the database's; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios",
);
await describeEachSql('reliability 15: clock skew', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;
  /** Each worker's clock offset, by pid. */
  const offsets = new Map<number, number>();

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_clock_skew'), {
      overrides: { retryAfter: RETRY_AFTER, heartbeat: { interval: 1, lapse: LAPSE } },
    });
    const skew = Date.now() - (await databaseNow(app.knex, engine)) * 1000;
    expect(skew).toBeGreaterThanOrEqual(-250);
    expect(skew).toBeLessThan(1250);
  });
  afterEach(async () => {
    await controller?.stopAll();
    controller = undefined;
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'queue_workers']) await app.knex(table).delete();
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
  });

  /** One worker per entry of SKEWS, each with its clock offset; resolves once all have announced themselves. */
  async function startSkewedWorkers(args: string[]): Promise<CliProcess[]> {
    controller = new Controller(app, ['queue:work', '--json', ...args]);
    const workers = SKEWS.map((offset) => {
      const [worker] = controller!.start(1, undefined, {
        NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require=${SKEW_CLOCK}`.trim(),
        CLOCK_OFFSET_MS: String(offset),
      });
      offsets.set(worker!.pid, offset);
      return worker!;
    });
    await Promise.all(workers.map((w) => w.waitFor(/"worker_starting"/, 30_000)));
    return workers;
  }

  /** The ledger with each worker's times put back on the machine's (and the database's) clock. */
  async function correctedExecutions(): Promise<Execution[]> {
    const back = (at: number | null, offset: number) => (at === null ? null : at - offset);
    return (await executions(app.knex)).map((run) => {
      const offset = offsets.get(run.worker)!;
      return {
        ...run,
        startedAt: run.startedAt - offset,
        finishedAt: back(run.finishedAt, offset),
        abortedAt: back(run.abortedAt, offset),
      };
    });
  }

  it(
    `${JOBS} jobs delayed 0–${MAX_DELAY} s, workers 5 min slow and 5 min fast: none starts early, none runs twice`,
    async () => {
      const started = Date.now();
      // Which worker claims what is not fixed: either may run them all (the skew check below holds for whichever ran).
      await startSkewedWorkers(['--concurrency=4', '--sleep=1']);
      const jobs = Array.from({ length: JOBS }, (_, i) => ({
        name: 'ChaosJob',
        command: { key: `s${i}`, ms: 0 },
        maxTries: 1,
        delay: Math.round(Math.random() * MAX_DELAY * 100) / 100,
      }));
      const { rows, pushedAt } = await pushDelayed(app.knex, engine, jobs);

      await waitUntil(
        async () => (await countRows(app.knex, 'ledger', (q) => q.whereNotNull('finished_at'))) >= JOBS,
        TIMEOUT - 30_000,
        `${JOBS} jobs to finish`,
        250,
      );
      // A second claim of anything would show within a poll interval more.
      await sleep(1500);
      const runs = await correctedExecutions();
      const summary = summarise(
        jobs.map((job) => job.command.key),
        runs,
        await failedRecords(app.knex),
      );
      recordResult({
        scenario: '15 clock skew ±5 min',
        engine,
        jobs: JOBS,
        executions: summary.executions,
        duplicates: summary.duplicates.length,
        lost: summary.lost.length,
        seconds: (Date.now() - started) / 1000,
      });
      const byId = new Map(rows.map((row) => [row.id, row]));
      const early = runs.filter((run) => run.startedAt < byId.get(run.jobId)!.availableAt * 1000);
      const finishedAt = Date.now();

      expect(controller!.stderr()).toBe('');
      expect(summary.duplicates).toEqual([]);
      expect(summary.lost).toEqual([]);
      expect(runs).toHaveLength(JOBS);
      expect(early).toEqual([]);
      // The skew was in force: each worker's own times, put back by its offset, land in the run.
      expect(runs.filter((run) => run.startedAt < pushedAt - 1000 || run.startedAt > finishedAt)).toEqual([]);
      await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 10_000, 'the finished jobs to be deleted');
      expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    },
    TIMEOUT,
  );

  it(
    `${LONG_JOBS} jobs of ${LONG_MS / 1000} s (retryAfter ${RETRY_AFTER} s, heartbeats on) across skewed workers: each runs once, no reservation or worker is taken for dead`,
    async () => {
      const workers = await startSkewedWorkers(['--concurrency=4', '--sleep=1']);
      const jobs = Array.from({ length: LONG_JOBS }, (_, i) => ({
        name: 'ChaosJob',
        command: { key: `l${i}`, ms: LONG_MS },
        maxTries: 1,
      }));
      await pushDelayed(app.knex, engine, jobs);

      // Mid-run, on the database clock: both workers' rows expire a lapse from now, and every
      // reservation was renewed within the last beats, whatever the workers' clocks say.
      await waitUntil(
        async () => (await countRows(app.knex, 'ledger')) >= Math.min(LONG_JOBS, 8),
        30_000,
        'the long jobs to start',
        100,
      );
      await sleep(RETRY_AFTER * 1000);
      const now = await databaseNow(app.knex, engine);
      const expiries = (
        (await app.knex('queue_workers').select('expires_at')) as Array<{ expires_at: number | string }>
      ).map((row) => Number(row.expires_at) - now);
      const reservedAges = (
        (await app.knex('jobs').whereNotNull('reserved_at').select('reserved_at')) as Array<{
          reserved_at: number | string;
        }>
      ).map((row) => now - Number(row.reserved_at));
      expect(expiries).toHaveLength(SKEWS.length);
      expect(expiries.filter((left) => left < LAPSE - 5 || left > LAPSE)).toEqual([]);
      expect(reservedAges.length).toBeGreaterThan(0);
      expect(reservedAges.filter((age) => age < 0 || age >= RETRY_AFTER - 1)).toEqual([]);

      await waitUntil(
        async () => (await countRows(app.knex, 'ledger', (q) => q.whereNotNull('finished_at'))) >= LONG_JOBS,
        TIMEOUT - 30_000,
        'the long jobs to finish',
        250,
      );
      await sleep(1500);
      const runs = await correctedExecutions();
      const summary = summarise(
        jobs.map((job) => job.command.key),
        runs,
        await failedRecords(app.knex),
      );

      // A lost lease or a sweep of a live worker would be reported on stderr (and re-run or fail jobs).
      expect(controller!.stderr()).toBe('');
      expect(summary.duplicates).toEqual([]);
      expect(summary.lost).toEqual([]);
      expect(summary.overlaps).toEqual([]);
      expect(runs).toHaveLength(LONG_JOBS);
      // Eight 8 s jobs and four slots each: both skewed workers held some.
      for (const worker of workers) expect(runs.some((run) => run.worker === worker.pid)).toBe(true);
      await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 10_000, 'the finished jobs to be deleted');
      expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    },
    TIMEOUT,
  );
});
