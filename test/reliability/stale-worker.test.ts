import { randomUUID } from 'node:crypto';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { CALL_QUEUED_HANDLER } from '../../src/payload/job-payload.js';
import { jsonEvents, waitUntil, within, workerIdOf } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp } from './harness/controller.js';
import { executions } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 8: stale worker fencing. Worker A is stopped (SIGSTOP) while it runs several jobs,
// for longer than the heartbeat lapse; B sweeps A's jobs back, claims them and runs them; A is
// woken (SIGCONT) while B still holds them. Every way A can finish a job (delete, release, fail;
// from a return, a throw, or an explicit release()/fail()) must change no row, and say so.
const STALE_JOBS = path.join(ROOT, 'test/reliability/fixtures/stale-worker-jobs.mjs');
const HEARTBEAT = { interval: 1, lapse: 3 };
/**
 * How long a stopped worker's jobs may stay reserved: its row expires `lapse` after its last beat
 * (whole seconds on the database clock, so up to one more), and a live worker sweeps on every
 * beat; plus a generous margin for a loaded machine.
 */
const RECOVERY_WINDOW_MS = (HEARTBEAT.lapse + 1 + HEARTBEAT.interval + 10) * 1000;
/** Copies of each way of finishing (CI: one of each, 6 jobs; full: 10 of each, 60 jobs). */
const COPIES = sized(1, 10);

/** How A's attempt ends, and what that asks of errand. */
const KINDS = [
  { kind: 'complete', then: 'complete', maxTries: 3, maxExceptions: null, writes: 'delete' },
  { kind: 'throw-release', then: 'throw', maxTries: 3, maxExceptions: null, writes: 'release' },
  { kind: 'release', then: 'release', maxTries: 3, maxExceptions: null, writes: 'release' },
  { kind: 'fail', then: 'fail', maxTries: 3, maxExceptions: null, writes: 'fail' },
  { kind: 'throw-fail', then: 'throw', maxTries: 3, maxExceptions: 1, writes: 'fail' },
  // One try: B may not run it again, and fails it when it claims it (attempted too many times).
  { kind: 'one-try', then: 'throw', maxTries: 1, maxExceptions: null, writes: 'fail' },
] as const;

/** A's first attempts sleep this long: it is stopped in the middle and wakes long past it. */
const FIRST_MS = 3000;
/** B's attempts sleep this long: A wakes while B still holds every job. */
const LATER_MS = 6000;

const describeEachSql = databaseOnly(
  'ages SQL jobs and queue_workers rows; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 8: stale worker fencing', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_stale_worker'), {
      bootstrap: [STALE_JOBS],
      // retryAfter far beyond the test: only the heartbeat sweep hands A's jobs to B.
      overrides: { heartbeat: HEARTBEAT, retryAfter: 120 },
    });
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
  });

  it(`a stopped worker's late delete, release and fail change nothing; the job completes once, by the worker that took it over (${COPIES * KINDS.length} jobs)`, async () => {
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'queue_workers']) await app.knex(table).delete();
    const started = Date.now();
    const jobs = KINDS.flatMap((k) => Array.from({ length: COPIES }, (_, i) => ({ ...k, key: `${k.kind}-${i}` })));
    const now = Math.floor(Date.now() / 1000);
    await app.knex('jobs').insert(
      jobs.map((job) => ({
        queue: 'default',
        payload: JSON.stringify({
          uuid: randomUUID(),
          displayName: 'StaleJob',
          job: CALL_QUEUED_HANDLER,
          maxTries: job.maxTries,
          maxExceptions: job.maxExceptions,
          failOnTimeout: false,
          backoff: null,
          timeout: null,
          retryUntil: null,
          data: {
            commandName: 'StaleJob',
            command: { key: job.key, first: FIRST_MS, later: LATER_MS, then: job.then },
          },
          createdAt: now,
          delay: null,
        }),
        attempts: 0,
        available_at: now - 1,
        created_at: now,
      })),
    );
    const idOf = new Map(
      ((await app.knex('jobs').select('id', 'payload')) as Array<{ id: number | string; payload: string }>).map(
        (row) => [(JSON.parse(row.payload) as { data: { command: { key: string } } }).data.command.key, String(row.id)],
      ),
    );
    const args = ['queue:work', `--concurrency=${jobs.length}`, '--sleep=0.1', '--json'];
    controller = new Controller(app, args);

    // A claims and starts every job, then is stopped in the middle of them.
    const [a] = controller.start(1);
    await waitUntil(async () => (await executions(app.knex)).length === jobs.length, 30_000, 'A to start every job');
    controller.signal(a!, 'SIGSTOP');
    const stoppedAt = Date.now();
    const aId = workerIdOf(a!.stdout())!;
    expect((await executions(app.knex)).filter((run) => run.worker !== a!.pid || run.attempt !== 1)).toEqual([]);

    // B sweeps A's jobs back and claims them: each as attempt 2, except the one-try jobs, which
    // it fails at once (their one try was A's).
    const [b] = controller.start(1);
    const bJobs = jobs.filter((job) => job.kind !== 'one-try');
    await waitUntil(
      async () =>
        (await executions(app.knex)).filter((run) => run.worker === b!.pid).length === bJobs.length &&
        (await countRows(app.knex, 'failed_jobs')) === COPIES,
      RECOVERY_WINDOW_MS + 10_000,
      'B to take over every job of the stopped worker',
    );
    const takenOver = Date.now() - stoppedAt;
    const bId = workerIdOf(b!.stdout())!;
    const rowsNow = async () =>
      (
        (await app
          .knex('jobs')
          .select('id', 'attempts', 'exceptions', 'reserved_by', 'available_at')
          .orderBy('id')) as Array<Record<string, unknown>>
      ).map((row) => ({
        id: String(row.id),
        attempts: Number(row.attempts),
        exceptions: Number(row.exceptions),
        reserved_by: row.reserved_by,
        available_at: Number(row.available_at),
      }));
    const held = await rowsNow();
    expect(held.map((row) => [row.id, row.attempts, row.exceptions, row.reserved_by])).toEqual(
      bJobs.map((job) => [idOf.get(job.key), 2, 0, bId]).sort(byId),
    );

    // A wakes while B runs them. Every handler of A ends now (long overdue), and each of its
    // finishing writes must match no row: one "lease was lost" line per job, nothing changed.
    controller.signal(a!, 'SIGCONT');
    const lost = () =>
      a!.stderr().match(/: the lease was lost \(the job was reclaimed elsewhere\); this worker changed nothing\./g)
        ?.length ?? 0;
    await waitUntil(() => lost() === jobs.length, 15_000, `A to report ${jobs.length} lost leases`).catch(
      (error: Error) => {
        throw new Error(`${error.message}\nA's stderr:\n${a!.stderr()}`);
      },
    );
    expect(await rowsNow()).toEqual(held);
    // The one-try jobs' only failed_jobs rows are B's (attempted too many times), none of A's.
    const failed = (await app.knex('failed_jobs').select('payload', 'exception')) as Array<{
      payload: string;
      exception: string;
    }>;
    expect(failed.map((f) => f.exception.split('\n')[0])).toEqual(
      Array.from({ length: COPIES }, () => 'MaxAttemptsExceededError: StaleJob has been attempted too many times.'),
    );
    expect(
      failed.map((f) => (JSON.parse(f.payload) as { data: { command: { key: string } } }).data.command.key).sort(),
    ).toEqual(
      jobs
        .filter((j) => j.kind === 'one-try')
        .map((j) => j.key)
        .sort(),
    );
    await a!.waitFor(/presumed dead/, 15_000);
    expect(a!.child.exitCode).toBeNull();

    // B finishes them all: each row deleted once, by B.
    await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 30_000, 'B to finish every job');
    await waitUntil(
      () => jsonEvents(b!.stdout()).filter((e) => e.status === 'success').length === bJobs.length,
      5000,
      "B's success lines",
    );
    const aEvents = jsonEvents(a!.stdout());
    const bEvents = jsonEvents(b!.stdout());
    for (const job of jobs) {
      const id = idOf.get(job.key)!;
      // A said nothing about the job after it started it: no success, release or failure line.
      expect(
        aEvents.filter((e) => e.id === id).map((e) => e.status),
        `${job.key}: A's lines`,
      ).toEqual(['starting']);
      expect(
        bEvents.filter((e) => e.id === id).map((e) => [e.status, e.attempts]),
        `${job.key}: B's lines`,
      ).toEqual(
        job.kind === 'one-try'
          ? [
              ['starting', 2],
              ['failed', 2],
            ]
          : [
              ['starting', 2],
              ['success', 2],
            ],
      );
    }
    // The ledger: A's first attempt of every job, and B's second of every job it was allowed to
    // run, finished. A's handler did run on (at-least-once), but its outcome counted nowhere.
    const runs = await executions(app.knex);
    // Outcomes that counted (a success or failure line, printed only once the write landed), per job.
    const counted = new Map(jobs.map((job) => [idOf.get(job.key)!, 0]));
    for (const e of [...aEvents, ...bEvents])
      if ((e.status === 'success' || e.status === 'failed') && counted.has(e.id!))
        counted.set(e.id!, counted.get(e.id!)! + 1);
    for (const job of jobs) {
      const mine = runs
        .filter((run) => run.key === job.key)
        .map((run) => [run.worker, run.attempt, run.finishedAt !== null]);
      const aRun = [a!.pid, 1, job.then !== 'throw'];
      expect(mine, job.key).toEqual(job.kind === 'one-try' ? [aRun] : [aRun, [b!.pid, 2, true]]);
    }
    expect(await countRows(app.knex, 'failed_jobs')).toBe(COPIES);

    // A registered again and works on: with B gone, it runs new jobs.
    await waitUntil(
      async () => (await countRows(app.knex, 'queue_workers', (q) => q.where('id', aId))) === 1,
      10_000,
      'A to register again',
    );
    controller.signal(b!, 'SIGTERM');
    expect(await within(b!.exited, 30_000, 'B to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    await app.knex('jobs').insert(
      [0, 1, 2].map((i) => ({
        queue: 'default',
        payload: JSON.stringify({
          uuid: randomUUID(),
          displayName: 'StaleJob',
          job: CALL_QUEUED_HANDLER,
          maxTries: 1,
          data: { commandName: 'StaleJob', command: { key: `after-${i}`, first: 0, later: 0, then: 'complete' } },
          createdAt: now,
        }),
        attempts: 0,
        available_at: now - 1,
        created_at: now,
      })),
    );
    await waitUntil(
      async () => (await countRows(app.knex, 'jobs')) === 0,
      15_000,
      'A to run new jobs after losing its lease',
    );
    const after = (await executions(app.knex)).filter((run) => run.key.startsWith('after-'));
    expect(after.map((run) => [run.key, run.worker, run.finishedAt !== null]).sort()).toEqual(
      [0, 1, 2].map((i) => [`after-${i}`, a!.pid, true]),
    );
    controller.signal(a!, 'SIGTERM');
    expect(await within(a!.exited, 30_000, 'A to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(COPIES);

    // The only complaints: one lost lease per job, and A's presumed death (said once).
    const complaints = a!
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('[errand]'));
    expect(complaints.filter((line) => !/the lease was lost|was presumed dead/.test(line))).toEqual([]);
    expect(complaints.filter((line) => /was presumed dead/.test(line))).toHaveLength(1);
    expect(b!.stderr()).toBe('');
    console.log(
      `[${engine}] stale worker: its ${jobs.length} jobs were taken over ${takenOver} ms after SIGSTOP (window ${RECOVERY_WINDOW_MS} ms)`,
    );
    recordResult({
      scenario: '8 stale worker',
      engine,
      jobs: jobs.length,
      executions: runs.length,
      duplicates: [...counted.values()].filter((n) => n > 1).length,
      lost: [...counted.values()].filter((n) => n === 0).length,
      seconds: (Date.now() - started) / 1000,
    });
  });
});

function byId(a: unknown[], b: unknown[]): number {
  return Number(a[0]) - Number(b[0]);
}
