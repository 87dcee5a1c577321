import path from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { databaseNow, jsonEvents, waitUntil, within, workerIdOf } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { CHAOS_JOBS, Controller, createChaosApp } from './harness/controller.js';
import { type Execution, executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 4: graceful shutdown. SIGTERM while a worker is busy, with grace G (`--grace`, decision
// 0014): no job starts after the signal; jobs that finish within G complete; at G the others'
// signals abort and, giving up, they are released at once (available now, the attempt counted, no
// exception counted); the worker exits 0 within G + 2 s holding nothing; a second worker finishes
// everything. A handler that ignores the abort is released 5 s later (ABORT_GRACE_MS) instead.
const KILL_JOBS = path.join(ROOT, 'test/reliability/fixtures/kill-jobs.mjs');
const GRACE_S = sized(2, 10);
const JOBS = sized(28, 400);
const SLOTS = 8;
/**
 * Each job sleeps 0.3 s to 2G + 0.3 s, the step scaled with G so that the first slots' jobs (the
 * ones in flight at the signal) already straddle the grace: some end within it and some cannot.
 * Retries take 0.1 s.
 */
const sleepMs = (i: number) => 300 + ((i * 373 * (GRACE_S / 2)) % (GRACE_S * 2_000));
/** The stop's bound after the grace (the plan's 2 s), plus a margin for a loaded machine. */
const EXIT_AFTER_GRACE_MS = 2_000 + 2_000;
/** How long after the signal a start may still be written: one already under way when it arrived. */
const START_SLACK_MS = 1_000;
/** Decision 0014: after the grace and the abort, how long a handler that ignores it may keep its job. */
const ABORT_GRACE_MS = 5_000;

type JobRow = {
  id: number | string;
  payload: string;
  attempts: number | string;
  exceptions: number | string;
  reserved_by: string | null;
  reserved_at: unknown;
  available_at: number | string;
};

const describeEachSql = databaseOnly(
  'reads the SQL jobs table; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 4: graceful shutdown', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;
  const keyOf = (row: JobRow) => (JSON.parse(row.payload) as { data: { command: { key: string } } }).data.command.key;
  const jobRows = async () =>
    (await app
      .knex('jobs')
      .select('id', 'payload', 'attempts', 'exceptions', 'reserved_by', 'reserved_at', 'available_at')) as JobRow[];

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_graceful_shutdown'), {
      overrides: { heartbeat: { interval: 1, lapse: 5 } },
      bootstrap: [CHAOS_JOBS, KILL_JOBS],
    });
  });
  beforeEach(async () => {
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'queue_workers']) await app.knex(table).delete();
  });
  afterEach(async () => {
    await controller?.stopAll();
  });
  afterAll(async () => {
    await app?.close();
  });

  /** Starts a second worker that drains the queue; resolves to its exit. */
  async function drain(fleet: Controller) {
    const [second] = fleet.start(1, ['queue:work', `--concurrency=${SLOTS * 2}`, '--sleep=0.1', '--stop-when-empty']);
    return within(second!.exited, sized(60_000, 600_000), 'the second worker to drain the queue');
  }

  it(`SIGTERM with --grace=${GRACE_S} under load: no start after it, the in-flight jobs finish or are released, exit 0, a second worker finishes the rest`, {
    timeout: sized(90_000, 900_000),
  }, async () => {
    const keys = Array.from({ length: JOBS }, (_, i) => `g${i}`);
    const msOf = new Map(keys.map((key, i) => [key, sleepMs(i)]));
    await insertJobsForTest(app.knex, 'jobs', JOBS, (i) => ({
      name: 'PoliteChaosJob',
      command: { key: `g${i}`, ms: sleepMs(i), againMs: 100 },
      maxTries: 10,
    }));
    const began = Date.now();
    controller = new Controller(app, [
      'queue:work',
      `--concurrency=${SLOTS}`,
      `--grace=${GRACE_S}`,
      '--timeout=60',
      '--sleep=0.1',
      '--json',
    ]);
    const fleet = controller;
    const [worker] = fleet.start(1);
    await worker!.waitFor(/"status":"worker_starting"/);
    const id = workerIdOf(worker!.stdout())!;
    // Busy: every slot taken, and half of them turned over once (so the jobs in flight are at all stages).
    await waitUntil(
      () => jsonEvents(worker!.stdout()).filter((e) => e.status === 'starting').length >= SLOTS + SLOTS / 2,
      60_000,
      'the worker to get busy',
    );

    const signalledAt = Date.now();
    fleet.signal(worker!, 'SIGTERM');
    const exit = await within(worker!.exited, (GRACE_S + 30) * 1000, 'the worker to exit after SIGTERM');
    const exitMs = fleet.exitedAt(worker!.pid)! - signalledAt;
    expect(exit).toEqual({ code: 0, signal: null });
    expect(exitMs).toBeLessThanOrEqual(GRACE_S * 1000 + EXIT_AFTER_GRACE_MS);
    // Every handler gave up when asked: none had to be released from under it.
    expect(worker!.stderr()).toBe('');
    expect(jsonEvents(worker!.stdout()).at(-1)).toMatchObject({
      status: 'worker_stopping',
      reason: 'interrupted',
      exit_status: 0,
    });

    const first = (await executions(app.knex)).filter((run) => run.worker === worker!.pid);
    // No job started after the signal.
    expect(first.filter((run) => run.startedAt > signalledAt + START_SLACK_MS)).toEqual([]);
    // In flight at the signal: those whose sleep ended well within the grace finished; those whose
    // sleep ran well past it were aborted at the grace and did not finish.
    const graceEnd = signalledAt + GRACE_S * 1000;
    const inFlight = first.filter((run) => run.finishedAt === null || run.finishedAt > signalledAt);
    const endOf = (run: Execution) => run.startedAt + msOf.get(run.key)!;
    const shouldFinish = inFlight.filter((run) => endOf(run) < graceEnd - 500);
    const shouldAbort = inFlight.filter((run) => endOf(run) > graceEnd + 1_000);
    expect(shouldFinish.length).toBeGreaterThan(0);
    expect(shouldAbort.length).toBeGreaterThan(0);
    expect(shouldFinish.filter((run) => run.finishedAt === null || run.abortedAt !== null)).toEqual([]);
    expect(
      shouldAbort.filter((run) => run.finishedAt !== null || run.abortedAt === null || run.abortedAt < graceEnd - 500),
    ).toEqual([]);
    // The aborted ones were released: available now, unreserved, the attempt counted, no exception counted.
    const left = await jobRows();
    const now = await databaseNow(app.knex, engine);
    const aborted = new Set(inFlight.filter((run) => run.finishedAt === null).map((run) => run.key));
    const released = left.filter((row) => aborted.has(keyOf(row)));
    expect(released.map(keyOf).sort()).toEqual([...aborted].sort());
    for (const row of released) {
      expect({
        key: keyOf(row),
        attempts: Number(row.attempts),
        exceptions: Number(row.exceptions),
        reserved_by: row.reserved_by,
        reserved_at: row.reserved_at,
      }).toEqual({
        key: keyOf(row),
        attempts: 1,
        exceptions: 0,
        reserved_by: null,
        reserved_at: null,
      });
      expect(Number(row.available_at)).toBeLessThanOrEqual(now);
    }
    // Jobs it never started are untouched; nothing is left reserved by it, and it deregistered.
    expect(left.filter((row) => !aborted.has(keyOf(row)) && Number(row.attempts) !== 0)).toEqual([]);
    expect(left.filter((row) => row.reserved_by === id)).toEqual([]);
    expect(await countRows(app.knex, 'queue_workers', (q) => q.where('id', id))).toBe(0);

    // A second worker finishes everything: each job once, the released ones on their second attempt.
    expect(await drain(fleet)).toEqual({ code: 0, signal: null });
    const runs = await executions(app.knex);
    const summary = summarise(keys, runs, await failedRecords(app.knex), (pid) => fleet.exitedAt(pid));
    recordResult({
      scenario: '4 graceful shutdown',
      engine,
      jobs: JOBS,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      seconds: (Date.now() - began) / 1000,
    });
    expect(fleet.stderr()).toBe('');
    expect(summary.lost).toEqual([]);
    expect(summary.duplicates).toEqual([]);
    expect(summary.overlaps).toEqual([]);
    for (const key of aborted)
      expect(runs.filter((run) => run.key === key).map((run) => [run.attempt, run.finishedAt !== null])).toEqual([
        [1, false],
        [2, true],
      ]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
  });

  it('SIGTERM with a handler that ignores the abort: released 5 s after the grace, exit 0, the job finishes elsewhere', {
    timeout: 60_000,
  }, async () => {
    const grace = 1;
    // Long enough to outlast the grace and the 5 s after the abort; their retries return at once.
    const stubbornMs = (grace + 10) * 1000;
    await insertJobsForTest(app.knex, 'jobs', 2, (i) =>
      i === 0
        ? { name: 'StubbornChaosJob', command: { key: 's0', ms: stubbornMs }, maxTries: 10 }
        : { name: 'PoliteChaosJob', command: { key: 's1', ms: stubbornMs }, maxTries: 10 },
    );
    const began = Date.now();
    controller = new Controller(app, [
      'queue:work',
      '--concurrency=2',
      `--grace=${grace}`,
      '--timeout=60',
      '--sleep=0.1',
      '--json',
    ]);
    const fleet = controller;
    const [worker] = fleet.start(1);
    await worker!.waitFor(/"status":"worker_starting"/);
    const id = workerIdOf(worker!.stdout())!;
    await waitUntil(async () => (await executions(app.knex)).length === 2, 30_000, 'both jobs to start');

    const signalledAt = Date.now();
    fleet.signal(worker!, 'SIGTERM');
    expect(await within(worker!.exited, (grace + 30) * 1000, 'the worker to exit after SIGTERM')).toEqual({
      code: 0,
      signal: null,
    });
    const exitMs = fleet.exitedAt(worker!.pid)! - signalledAt;
    // The polite job gave up at the grace; the stubborn one held the exit to the abort grace, then was released.
    expect(exitMs).toBeGreaterThanOrEqual(grace * 1000 + ABORT_GRACE_MS - 500);
    expect(exitMs).toBeLessThanOrEqual(grace * 1000 + ABORT_GRACE_MS + EXIT_AFTER_GRACE_MS);
    expect(worker!.stderr()).toMatch(/ignored the stop signal; they are released for another worker/);
    const left = await jobRows();
    expect(
      left
        .map((row) => ({
          key: keyOf(row),
          attempts: Number(row.attempts),
          exceptions: Number(row.exceptions),
          reserved_by: row.reserved_by,
        }))
        .sort((a, b) => a.key.localeCompare(b.key)),
    ).toEqual([
      { key: 's0', attempts: 1, exceptions: 0, reserved_by: null },
      { key: 's1', attempts: 1, exceptions: 0, reserved_by: null },
    ]);
    expect(await countRows(app.knex, 'queue_workers', (q) => q.where('id', id))).toBe(0);

    // Both finish on a second worker (the stubborn job at once, on its second attempt).
    const [second] = fleet.start(1, ['queue:work', '--concurrency=2', '--sleep=0.1', '--stop-when-empty']);
    expect(await within(second!.exited, 60_000, 'the second worker to drain the queue')).toEqual({
      code: 0,
      signal: null,
    });
    expect(second!.stderr()).toBe('');
    const runs = await executions(app.knex);
    const summary = summarise(['s0', 's1'], runs, await failedRecords(app.knex), (pid) => fleet.exitedAt(pid));
    recordResult({
      scenario: '4 graceful shutdown (stubborn)',
      engine,
      jobs: 2,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      seconds: (Date.now() - began) / 1000,
    });
    expect(summary.lost).toEqual([]);
    expect(summary.duplicates).toEqual([]);
    expect(summary.overlaps).toEqual([]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
  });
});
