import path from 'node:path';

import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { databaseNow, sleep, waitUntil, within } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { pushDelayed, quantile } from './fixtures/delay-push.js';
import { CHAOS_JOBS, Controller, createChaosApp } from './harness/controller.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 16: delays, back-off and ordering.
//
// The rounding errand does: a delay of d seconds is stored as available_at = floor(database now)
// + ceil(d), both in whole seconds, and a job is claimed once floor(database now) >= available_at.
// So no job starts before available_at × 1000 ms on the database clock (checked exactly), and,
// measured from the instant of the push, a job may start up to just under 1 s before the delay
// asked for (pushed at 12.9 s with delay 2, available at 14 s). A back-off is the same: the
// release sets available_at = floor(now) + ceil(backoff). The ledger's times are the workers'
// Date.now(): the database servers run on this machine, so that is the database clock (checked).
const DELAYED = sized(200, 10_000);
const MAX_DELAY = sized(8, 60);
/** The workers' --sleep: the longest wait between looks at an empty queue. */
const SLEEP_S = 1;
/** Back-offs ≥ 2 s: against whole-second rounding, ±10 % of 1 s could not be met. */
const BACKOFF = sized([2, 3], [10, 20, 30]);
const BACKOFF_JOBS = sized(5, 100);
const BACKOFF_SLEEP_S = 0.5;
const ORDERED = sized(100, 2_000);
/**
 * Added to the plan's lateness windows (p99 ≤ --sleep + 1 s; a retry no later than its back-off
 * + max(10 %, 1 s)): on a loaded 2-core machine a job's own writes take hundreds of ms. The
 * early side has no margin: no job may start before its available_at.
 */
const LOAD_MARGIN_MS = 2_000;
/** Per test: the full sizes run for minutes. */
const TIMEOUT = sized(120_000, 900_000);

const DELAY_JOBS = path.join(ROOT, 'test/reliability/fixtures/delay-jobs.mjs');

const describeEachSql = databaseOnly(
  'reads the SQL jobs table and the database clock; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 16: delays, back-off and ordering', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_delays'), {
      bootstrap: [CHAOS_JOBS, DELAY_JOBS],
      overrides: { heartbeat: { interval: 1, lapse: 15 } },
    });
    // The ledger's times (this machine's clock) stand for the database clock: they must agree.
    const skew = Date.now() - (await databaseNow(app.knex, engine)) * 1000;
    expect(skew).toBeGreaterThanOrEqual(-250);
    expect(skew).toBeLessThan(1250);
  });
  afterEach(async () => {
    await controller?.stopAll();
    controller = undefined;
    for (const table of ['jobs', 'failed_jobs', 'ledger']) await app.knex(table).delete();
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
  });

  /** Starts `count` workers and waits until each has announced itself. */
  async function startWorkers(count: number, args: string[]): Promise<Controller> {
    controller = new Controller(app, ['queue:work', '--json', ...args]);
    const workers = controller.start(count);
    await Promise.all(workers.map((w) => w.waitFor(/"worker_starting"/, 30_000)));
    return controller;
  }

  it(
    `${DELAYED} jobs delayed 0–${MAX_DELAY} s: none starts before available_at, p99 lateness ≤ --sleep + 1 s (+ load margin)`,
    async () => {
      const started = Date.now();
      const workers = await startWorkers(2, ['--concurrency=4', `--sleep=${SLEEP_S}`]);
      // Fractional delays, so the rounding up is exercised too.
      const jobs = Array.from({ length: DELAYED }, (_, i) => ({
        name: 'ChaosJob',
        command: { key: `d${i}`, ms: 0 },
        maxTries: 1,
        delay: Math.round(Math.random() * MAX_DELAY * 100) / 100,
      }));
      const { rows, pushedAt, committedAt } = await pushDelayed(app.knex, engine, jobs);
      // The rounding: created_at and available_at come from one reading of the database clock.
      expect(rows.filter((row) => row.availableAt - row.createdAt !== Math.ceil(row.delay))).toEqual([]);

      await waitUntil(
        async () => (await countRows(app.knex, 'ledger', (q) => q.whereNotNull('finished_at'))) >= DELAYED,
        (MAX_DELAY + 60) * 1000,
        `${DELAYED} delayed jobs to finish`,
        250,
      );
      // Anything claimed twice would show up within a poll interval more.
      await sleep(SLEEP_S * 1000);
      const runs = await executions(app.knex);
      const summary = summarise(
        jobs.map((job) => job.command.key),
        runs,
        await failedRecords(app.knex),
      );
      const byId = new Map(rows.map((row) => [row.id, row]));
      const early = runs.filter((run) => run.startedAt < byId.get(run.jobId)!.availableAt * 1000);
      // Against the delay asked for, from the instant before the push: never a whole second early.
      const beforeDelay = runs.filter(
        (run) => run.startedAt <= pushedAt + (Math.ceil(byId.get(run.jobId)!.delay) - 1) * 1000,
      );
      // Late: from when the job became claimable (due, and committed) to its start.
      const lateness = runs.map(
        (run) => run.startedAt - Math.max(byId.get(run.jobId)!.availableAt * 1000, committedAt),
      );
      const p99 = quantile(lateness, 0.99);
      recordResult({
        scenario: '16 delays',
        engine,
        jobs: DELAYED,
        executions: summary.executions,
        duplicates: summary.duplicates.length,
        lost: summary.lost.length,
        seconds: (Date.now() - started) / 1000,
      });

      expect(workers.stderr()).toBe('');
      expect(early).toEqual([]);
      expect(beforeDelay).toEqual([]);
      expect(summary.duplicates).toEqual([]);
      expect(summary.lost).toEqual([]);
      expect(runs).toHaveLength(DELAYED);
      expect(
        p99,
        `p99 lateness ${p99} ms (median ${quantile(lateness, 0.5)} ms, max ${Math.max(...lateness)} ms)`,
      ).toBeLessThanOrEqual(SLEEP_S * 1000 + 1000 + LOAD_MARGIN_MS);
      await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 10_000, 'the finished jobs to be deleted');
      expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    },
    TIMEOUT,
  );

  it(
    `retries follow the back-off schedule [${BACKOFF.join(', ')}] s within max(10 %, 1 s)`,
    async () => {
      const workers = await startWorkers(1, ['--concurrency=4', `--sleep=${BACKOFF_SLEEP_S}`]);
      const tries = BACKOFF.length + 1;
      const jobs = Array.from({ length: BACKOFF_JOBS }, (_, i) => ({
        name: 'BackoffChaosJob',
        command: { key: `b${i}`, succeedOn: tries },
        maxTries: tries,
        backoff: BACKOFF.join(','),
      }));
      await pushDelayed(app.knex, engine, jobs);
      const total = BACKOFF.reduce((a, b) => a + b, 0);
      await waitUntil(
        async () => (await countRows(app.knex, 'ledger', (q) => q.whereNotNull('finished_at'))) >= BACKOFF_JOBS,
        (total + 60) * 1000,
        'the back-off jobs to succeed',
        250,
      );

      const runs = await executions(app.knex);
      const deviations: Array<{ key: string; attempt: number; backoff: number; gapMs: number }> = [];
      const early: typeof deviations = [];
      for (const job of jobs) {
        const attempts = runs.filter((run) => run.key === job.command.key).sort((a, b) => a.attempt - b.attempt);
        expect(attempts.map((run) => run.attempt)).toEqual(Array.from({ length: tries }, (_, i) => i + 1));
        for (let k = 1; k < attempts.length; k++) {
          const backoff = BACKOFF[k - 1]!;
          const previous = attempts[k - 1]!.startedAt;
          const gapMs = attempts[k]!.startedAt - previous;
          const entry = { key: job.command.key, attempt: k + 1, backoff, gapMs };
          // Exact, on the database clock: released after it started, so available_at ≥ floor(start) + backoff.
          if (attempts[k]!.startedAt < (Math.floor(previous / 1000) + backoff) * 1000) early.push(entry);
          // ±max(10 %, 1 s): the rounding to whole seconds can take up to 1 s off a back-off.
          const tolerance = Math.max(0.1 * backoff, 1) * 1000;
          if (gapMs < backoff * 1000 - tolerance || gapMs > backoff * 1000 + tolerance + LOAD_MARGIN_MS)
            deviations.push(entry);
        }
      }
      expect(workers.stderr()).toBe('');
      expect(early).toEqual([]);
      expect(deviations).toEqual([]);
      expect(runs).toHaveLength(BACKOFF_JOBS * tries);
      // The last attempt's delete may still be on its way when its ledger row says finished.
      await waitUntil(
        async () => (await countRows(app.knex, 'jobs')) === 0,
        10_000,
        'the succeeded jobs to be deleted',
      );
      expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    },
    TIMEOUT,
  );

  it(
    `one worker (concurrency 1) on one queue runs ${ORDERED} equal jobs in id order`,
    async () => {
      await insertJobsForTest(app.knex, 'jobs', ORDERED, (i) => ({
        name: 'ChaosJob',
        command: { key: `o${i}`, ms: 0 },
        maxTries: 1,
      }));
      const ids = ((await app.knex('jobs').select('id')) as Array<{ id: number | string }>)
        .map((row) => Number(row.id))
        .sort((a, b) => a - b);
      controller = new Controller(app, ['queue:work', '--concurrency=1', '--sleep=0.1', '--stop-when-empty']);
      const [worker] = controller.start(1);
      const exit = await within(worker!.exited, TIMEOUT - 10_000, 'the worker to drain the queue');

      const runs = await executions(app.knex);
      expect(controller.stderr()).toBe('');
      expect(exit).toEqual({ code: 0, signal: null });
      // The ledger's ids are its insertion order, and one slot starts a job only after the last returned.
      expect(runs.map((run) => Number(run.jobId))).toEqual(ids);
      expect(runs.every((run, i) => i === 0 || run.startedAt >= runs[i - 1]!.finishedAt!)).toBe(true);
    },
    TIMEOUT,
  );
});
