import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { handBackDelaySeconds } from '../../src/worker/monitor/watchdog.js';
import { jsonEvents, sleep, waitUntil, within } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT, runCli } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { CHAOS_JOBS, Controller, createChaosApp, type Exit } from './harness/controller.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenarios 5 and 6: timeouts. A handler that awaits forever is abandoned at its timeout by the
// worker itself (same process, slot freed); one that wedges the event loop is ended by the
// monitor thread's watchdog, and the supervisor starts a fresh worker. Either way the job is
// retried up to its tries and then failed, and never runs in two places at once.
// Nothing here waits for a dead worker's row to lapse (the watchdog hands its jobs back itself), so
// the lapse is long: a worker starved of CPU on a loaded machine is never presumed dead meanwhile.
const HEARTBEAT = { interval: 1, lapse: 10 };
const TIMEOUT_CHAOS_JOBS = path.join(ROOT, 'test/reliability/fixtures/timeout-chaos-jobs.mjs');
/** The watchdog acts this long past a job's deadline (WATCHDOG_GRACE_MS), plus up to a second of a wedged loop. */
const WATCHDOG_GRACE_MS = 5_000;
/** A row the watchdog hands back stays out of reach for more than this (whole seconds: the delay less one). */
const HAND_BACK_MS = (handBackDelaySeconds() - 1) * 1000;
/** Slack for a loaded machine on every upper time bound below (CI runs one file at a time; a laptop may not). */
const MARGIN_MS = 3_000;

/** Exited on SIGALRM: a Node parent sees the signal, a shell sees status 142. */
function endedBySigalrm(exit: Exit): boolean {
  return exit.signal === 'SIGALRM' || exit.code === 142;
}

const describeEachSql = databaseOnly(
  'reads the SQL jobs table; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 5 and 6: timeouts', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_timeouts'), {
      bootstrap: [CHAOS_JOBS, TIMEOUT_CHAOS_JOBS],
      // retryAfter far beyond the test: no job can come back by its lease lapsing.
      overrides: { heartbeat: HEARTBEAT, retryAfter: 60 },
    });
  });
  beforeEach(async () => {
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'queue_workers']) await app.knex(table).delete();
  });
  afterEach(() => controller?.stopAll());
  afterAll(() => app?.close());

  it('5: a handler that never settles is abandoned at its timeout, its slot runs the next job at once in the same process, and it fails after its tries', async () => {
    const TIMEOUT = 1;
    const TRIES = 3;
    const QUICK = sized(10, 100);
    // The hanging job on the first queue: each retry is claimed before anything on `low`, so the
    // job after each attempt is the next attempt, and after the last one the quick jobs.
    await insertJobsForTest(app.knex, 'jobs', 1, () => ({
      name: 'HangingChaosJob',
      command: { key: 'hang' },
      maxTries: TRIES,
      timeout: TIMEOUT,
    }));
    await insertJobsForTest(app.knex, 'jobs', QUICK, (i) => ({
      name: 'ChaosJob',
      command: { key: `q${i}`, ms: 50 },
      queue: 'low',
      maxTries: 1,
    }));
    const keys = ['hang', ...Array.from({ length: QUICK }, (_, i) => `q${i}`)];

    const started = Date.now();
    // One slot: a job can only start after an attempt of the hanging one if that slot was freed.
    controller = new Controller(app, ['queue:work', '--queue=default,low', '--concurrency=1', '--sleep=0.1', '--json']);
    const [worker] = controller.start(1);
    await waitUntil(
      async () => (await countRows(app.knex, 'jobs')) === 0 && (await countRows(app.knex, 'failed_jobs')) > 0,
      30_000 + QUICK * 200,
      'the hanging job to fail and the quick jobs to run',
      100,
    );
    // The worker still runs and stops cleanly: abandoned handlers hold nothing up.
    expect(worker!.child.exitCode).toBeNull();
    controller.signal(worker!, 'SIGTERM');
    expect(await within(worker!.exited, 20_000, 'the worker to stop')).toEqual({ code: 0, signal: null });

    const runs = await executions(app.knex);
    const failed = await failedRecords(app.knex);
    const summary = summarise(keys, runs, failed);
    recordResult({
      scenario: '5 cooperative timeout',
      engine,
      jobs: keys.length,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      restarts: 0,
      seconds: (Date.now() - started) / 1000,
    });

    // Every execution ran in the one process, which never restarted.
    expect(new Set(runs.map((r) => r.worker))).toEqual(new Set([worker!.pid]));
    expect(controller.exits.filter((e) => !e.expected)).toEqual([]);
    const events = jsonEvents(worker!.stdout());
    expect(events.filter((e) => e.status === 'worker_starting')).toHaveLength(1);

    // `tries` attempts, each aborted at its timeout and never finished.
    const hangs = runs.filter((r) => r.key === 'hang');
    expect(hangs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(hangs.filter((r) => r.finishedAt !== null)).toEqual([]);
    for (const run of hangs) {
      expect(run.abortedAt, `attempt ${run.attempt} aborted`).not.toBeNull();
      // The timer starts just before the handler, which writes its start first.
      expect(run.abortedAt! - run.startedAt).toBeGreaterThanOrEqual(TIMEOUT * 1000 - 250);
      expect(run.abortedAt! - run.startedAt).toBeLessThanOrEqual(TIMEOUT * 1000 + MARGIN_MS);
      // The slot ran the next job within timeout + 1 s of this attempt's start.
      const next = runs.find((r) => r.startedAt > run.startedAt && r !== run);
      expect(next, `a job after attempt ${run.attempt}`).toBeDefined();
      expect(next!.startedAt - run.startedAt).toBeLessThanOrEqual((TIMEOUT + 1) * 1000 + MARGIN_MS);
    }
    // Recorded as timeouts: released twice, then failed with TimeoutExceededError.
    expect(events.filter((e) => e.job === 'HangingChaosJob').map((e) => `${e.status}:${e.attempts}`)).toEqual([
      'starting:1',
      'timed_out:1',
      'released_after_exception:1',
      'starting:2',
      'timed_out:2',
      'released_after_exception:2',
      'starting:3',
      'timed_out:3',
      'failed:3',
    ]);
    expect(events.find((e) => e.job === 'HangingChaosJob' && e.status === 'failed')!.exception).toBe(
      'TimeoutExceededError',
    );
    expect(failed.map((f) => f.key)).toEqual(['hang']);
    expect(failed[0]!.reason).toMatch(/^TimeoutExceededError: HangingChaosJob has timed out/);

    // The quick jobs each ran once, after the hanging job's last attempt.
    expect(summary.lost).toEqual([]);
    expect(summary.duplicates).toEqual([]);
    const quick = runs.filter((r) => r.key !== 'hang');
    expect(quick.filter((r) => r.finishedAt !== null)).toHaveLength(QUICK);
    expect(Math.min(...quick.map((r) => r.startedAt))).toBeGreaterThan(hangs[2]!.startedAt);
    expect(controller.stderr()).toBe('');
  });

  it('6: a handler that wedges the event loop is ended by the watchdog, its worker replaced, it never runs in two places, fails after its tries, and bystanders complete', async () => {
    const TIMEOUT = 1;
    const TRIES = sized(2, 3);
    const BYSTANDERS = sized(20, 200);
    await insertJobsForTest(app.knex, 'jobs', 1, () => ({
      name: 'LateSpinningChaosJob',
      command: { key: 'spin' },
      maxTries: TRIES,
      timeout: TIMEOUT,
    }));
    await insertJobsForTest(app.knex, 'jobs', BYSTANDERS, (i) => ({
      name: 'ChaosJob',
      command: { key: `b${i}`, ms: 500 },
      maxTries: 10,
    }));
    const bystanders = Array.from({ length: BYSTANDERS }, (_, i) => `b${i}`);

    const started = Date.now();
    // Two slots each: the spinning job's worker always holds a bystander when it wedges (the job
    // waits 300 ms before it spins, so the bystander claimed with it has recorded its start).
    controller = new Controller(app, ['queue:work', '--concurrency=2', '--sleep=0.1', '--json']);
    controller.start(2);
    controller.supervise();
    await waitUntil(
      async () => (await countRows(app.knex, 'jobs')) === 0 && (await countRows(app.knex, 'failed_jobs')) > 0,
      TRIES * (TIMEOUT * 1000 + WATCHDOG_GRACE_MS + 10_000) + BYSTANDERS * 500,
      'the spinning job to fail and the bystanders to complete',
      100,
    );
    // A little longer, so a late extra run or restart would show.
    await sleep(1000);
    const restarts = controller.restarts;
    const exits = controller.exits.filter((e) => !e.expected);
    const workerStderr = controller.stderr();
    await controller.stopAll();

    const runs = await executions(app.knex);
    const failed = await failedRecords(app.knex);
    const summary = summarise(['spin', ...bystanders], runs, failed, (pid) => controller!.exitedAt(pid));
    recordResult({
      scenario: '6 watchdog (event-loop blocker)',
      engine,
      jobs: BYSTANDERS + 1,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      restarts,
      seconds: (Date.now() - started) / 1000,
    });

    // `tries` attempts, each in its own process, none finished.
    const spins = runs.filter((r) => r.key === 'spin');
    expect(spins.map((r) => r.attempt)).toEqual(Array.from({ length: TRIES }, (_, i) => i + 1));
    expect(spins.filter((r) => r.finishedAt !== null)).toEqual([]);
    // Each ended its worker through the watchdog (SIGALRM), not before the deadline plus the grace
    // and not long after; those are the only unplanned exits, each replaced once.
    expect(exits.map((e) => e.pid).sort()).toEqual(spins.map((r) => r.worker).sort());
    expect(
      exits.filter((e) => !endedBySigalrm(e)),
      workerStderr,
    ).toEqual([]);
    for (const run of spins) {
      const lived = controller.exitedAt(run.worker)! - run.startedAt;
      expect(lived, `attempt ${run.attempt}`).toBeGreaterThanOrEqual(TIMEOUT * 1000 + WATCHDOG_GRACE_MS - 500);
      expect(lived, `attempt ${run.attempt}`).toBeLessThanOrEqual(
        TIMEOUT * 1000 + WATCHDOG_GRACE_MS + 1000 + MARGIN_MS,
      );
      const printed = workerStderr.split(/^--- /m).find((section) => section.startsWith(`${run.worker}\n`));
      expect(printed, `attempt ${run.attempt}`).toMatch(
        /\[errand\] watchdog: LateSpinningChaosJob #\d+ is [\d.]+ s past its timeout/,
      );
    }
    expect(restarts).toBe(TRIES);
    // Each retry was handed back out of reach until its wedged process was surely gone: the next
    // attempt starts no sooner than the deadline, the grace and the hand-back delay (a lower bound,
    // which load only makes later; the 250 ms allows for the moments between the deadline's timer
    // starting and the handler recording its start).
    for (let i = 1; i < spins.length; i++) {
      expect(spins[i]!.startedAt - spins[i - 1]!.startedAt, `attempt ${i + 1}`).toBeGreaterThanOrEqual(
        TIMEOUT * 1000 + WATCHDOG_GRACE_MS + HAND_BACK_MS - 250,
      );
    }
    // The last attempt was failed by the watchdog that ended it.
    const last = spins.at(-1)!;
    expect(failed.map((f) => f.key)).toEqual(['spin']);
    expect(failed[0]!.reason).toMatch(
      new RegExp(
        `^TimeoutExceededError: LateSpinningChaosJob has timed out: the watchdog ended worker process ${last.worker} `,
      ),
    );

    // Nothing ran in two places at once (an unfinished run lasts until its process exited).
    expect(summary.overlaps).toEqual([]);
    // Every bystander completed. One may have completed twice only as at-least-once allows (a
    // crash between a handler's end and its delete runs it again, docs/workers.md): it had
    // finished in a worker the watchdog ended, just before that worker wedged, so its delete had
    // not landed. Two slots per worker: at most one such neighbour per wedge.
    expect(summary.lost).toEqual([]);
    expect(summary.duplicates.length).toBeLessThanOrEqual(TRIES);
    for (const key of summary.duplicates) {
      const first = runs.find((r) => r.key === key && r.finishedAt !== null)!;
      const spin = spins.find((r) => r.worker === first.worker);
      expect(spin, `${key} ran twice, first in ${first.worker}, which no wedge ended`).toBeDefined();
      expect(first.finishedAt! - spin!.startedAt, key).toBeGreaterThan(-1000);
    }
    // Bystanders caught in a wedged worker were handed back with their attempt returned, so every
    // run of every bystander was its first attempt.
    const others = runs.filter((r) => r.key !== 'spin');
    expect(new Set(others.filter((r) => r.finishedAt !== null).map((r) => r.key)).size).toBe(BYSTANDERS);
    expect(others.filter((r) => r.attempt !== 1)).toEqual([]);
    // At least one bystander was caught: the scenario tested the hand-back.
    expect(others.filter((r) => r.finishedAt === null).length).toBeGreaterThan(0);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
  });

  it('6: with heartbeats off, the worker refuses to start with --timeout at or above retryAfter, naming the option', async () => {
    // The same app with heartbeats off and retryAfter 10 s, as a second config file.
    const source = readFileSync(path.join(app.dir, 'errand.config.mjs'), 'utf8');
    const config = JSON.parse(source.slice('export default '.length, source.lastIndexOf(';'))) as {
      connections: { database: Record<string, unknown> };
    };
    config.connections.database.heartbeat = false;
    config.connections.database.retryAfter = 10;
    const noHeartbeat = path.join(app.dir, 'errand.no-heartbeat.mjs');
    writeFileSync(noHeartbeat, `export default ${JSON.stringify(config)};\n`);

    // The refusals, and a start just below the limit (stopping at once on the empty queue), side by side.
    const run = (timeout: number) =>
      runCli(['--config', noHeartbeat, 'queue:work', `--timeout=${timeout}`, '--stop-when-empty'], app.dir, app.env);
    const [fits, ...refused] = await Promise.all([9, 10, 30, 0].map(run));
    for (const result of refused) {
      expect(result.code, result.stdout + result.stderr).not.toBe(0);
      expect(result.stderr).toContain('--timeout');
      expect(result.stderr).toContain('retryAfter (10 s)');
      expect(result.stdout).not.toContain('Processing jobs');
    }
    expect(fits.stderr).toBe('');
    expect(fits.code).toBe(0);
  });
});
