import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { jsonEvents, waitUntil, within, workerIdOf } from '../helpers/daemon.js';
import { describeOnRedis } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows } from '../helpers/worker-process.js';
import { Controller } from './harness/controller.js';
import { executions } from './harness/ledger.js';
import { createRedisChaosApp, type RedisChaosApp } from './harness/redis-app.js';
import { recordResult } from './harness/scale.js';

// Redis 2: a stale worker's finishing writes after its lease lapsed change nothing. Worker A is
// stopped (SIGSTOP) while it runs one job of each way of finishing, for longer than its lease;
// B takes the jobs over and runs them; A is woken (SIGCONT) while B still holds them. A's
// delete, release and fail (from a return, a throw, an explicit release()/fail()) are fenced
// scripts: each must find another token on the job, change nothing, and say so.
const STALE_JOBS = path.join(ROOT, 'test/reliability/fixtures/stale-worker-jobs.mjs');
const PRODUCER = path.join(ROOT, 'test/reliability/fixtures/redis-producer.mjs');
const HEARTBEAT = { interval: 1, lapse: 3 };
/** How long a stopped worker's jobs may stay its own: the lapse after its last beat, one interval, a claim, and a margin. */
const RECOVERY_WINDOW_MS = (HEARTBEAT.lapse + HEARTBEAT.interval + 1 + 10) * 1000;

/** How A's attempt ends, and what that asks of errand (as in scenario 8). */
const KINDS = [
  { kind: 'complete', then: 'complete', options: {} },
  { kind: 'throw-release', then: 'throw', options: {} },
  { kind: 'release', then: 'release', options: {} },
  { kind: 'fail', then: 'fail', options: {} },
  { kind: 'throw-fail', then: 'throw', options: { maxExceptions: 1 } },
  // One try: B may not run it again, and fails it when it claims it (attempted too many times).
  { kind: 'one-try', then: 'throw', options: { tries: 1 } },
] as const;

/** A's first attempts sleep this long: it is stopped in the middle and wakes long past it. */
const FIRST_MS = 3000;
/** B's attempts sleep this long: A wakes while B still holds every job. */
const LATER_MS = 6000;

type Produce = (
  config: Record<string, unknown>,
  modules: string[],
  specs: Array<{ name: string; key: string; args?: unknown[]; options?: Record<string, unknown> }>,
) => Promise<string[]>;

await describeOnRedis('reliability Redis 2: stale worker fencing', () => {
  let app: RedisChaosApp;
  let controller: Controller | undefined;
  let produce: Produce;
  let stopProducing: () => Promise<void>;

  beforeAll(async () => {
    app = await createRedisChaosApp('rel-stale-worker', {
      bootstrap: [STALE_JOBS],
      // retryAfter far beyond the test: only the heartbeat's lease hands A's jobs to B.
      overrides: { heartbeat: HEARTBEAT, retryAfter: 120, blockFor: 1 },
    });
    ({ produce, stopProducing } = (await import(PRODUCER)) as { produce: Produce; stopProducing: () => Promise<void> });
  });
  afterAll(async () => {
    await controller?.stopAll();
    await stopProducing?.();
    await app?.close();
  });

  it('a stopped worker’s late delete, release and fail change nothing; each job completes once, by the worker that took it over', async () => {
    const started = Date.now();
    const args = ['queue:work', `--concurrency=${KINDS.length}`, '--sleep=0.1', '--json'];
    controller = new Controller(app, args);
    const [a] = controller.start(1);
    await a!.waitFor(/"status":"worker_starting"/);
    const ids = await produce(
      app.config,
      [STALE_JOBS],
      KINDS.map((k) => ({ name: 'StaleJob', key: k.kind, args: [FIRST_MS, LATER_MS, k.then], options: k.options })),
    );
    const idOf = new Map(KINDS.map((k, i) => [k.kind as string, ids[i]!]));

    // A claims and starts every job, then is stopped in the middle of them.
    await waitUntil(async () => (await executions(app.knex)).length === KINDS.length, 30_000, 'A to start every job');
    controller.signal(a!, 'SIGSTOP');
    const stoppedAt = Date.now();
    const aId = workerIdOf(a!.stdout())!;

    // B takes A's jobs over once A's leases lapse: each as attempt 2, except the one-try job,
    // which it fails at once (its one try was A's).
    const [b] = controller.start(1);
    const bKinds = KINDS.filter((k) => k.kind !== 'one-try');
    await waitUntil(
      async () =>
        (await executions(app.knex)).filter((run) => run.worker === b!.pid).length === bKinds.length &&
        (await countRows(app.knex, 'failed_jobs')) === 1,
      RECOVERY_WINDOW_MS + 10_000,
      'B to take over every job of the stopped worker',
    );
    const takenOver = Date.now() - stoppedAt;
    const bId = workerIdOf(b!.stdout())!;
    expect(bId).not.toBe(aId);
    /** What the store holds of each job B runs: its hash without the lease expiry B's beats move. */
    const storeNow = async () => {
      const reserved = await app.probe.reserved();
      return Promise.all(
        bKinds.map(async (k) => {
          const id = idOf.get(k.kind)!;
          const { attempts, exceptions, token, payload } = await app.probe.job(id);
          return { kind: k.kind, reserved: reserved.has(id), attempts, exceptions, token, payload };
        }),
      );
    };
    const held = await storeNow();
    expect(held.map((job) => [job.kind, job.reserved, job.attempts, job.token])).toEqual(
      bKinds.map((k) => [k.kind, true, '2', bId]),
    );
    expect(await app.probe.waiting()).toEqual(new Map());

    // A wakes while B runs them. Each of its handlers ends now (long overdue), and each finishing
    // write must find B's token: one "lease was lost" line per job, nothing changed.
    controller.signal(a!, 'SIGCONT');
    const lost = () =>
      a!.stderr().match(/: the lease was lost \(the job was reclaimed elsewhere\); this worker changed nothing\./g)
        ?.length ?? 0;
    await waitUntil(() => lost() === KINDS.length, 15_000, `A to report ${KINDS.length} lost leases`).catch(
      (error: Error) => {
        throw new Error(`${error.message}\nA's stderr:\n${a!.stderr()}`);
      },
    );
    expect(await storeNow()).toEqual(held);
    expect(await app.probe.waiting()).toEqual(new Map());
    // The one-try job's only failed_jobs row is B's (attempted too many times), none of A's.
    const failed = (await app.knex('failed_jobs').select('payload', 'exception')) as Array<{
      payload: string;
      exception: string;
    }>;
    expect(failed.map((f) => f.exception.split('\n')[0])).toEqual([
      'MaxAttemptsExceededError: StaleJob has been attempted too many times.',
    ]);
    expect((JSON.parse(failed[0]!.payload) as { data: { command: { key: string } } }).data.command.key).toBe('one-try');
    expect(a!.child.exitCode).toBeNull();

    // B finishes them all: each job deleted once, by B; nothing of them left in the store.
    await waitUntil(
      () => jsonEvents(b!.stdout()).filter((e) => e.status === 'success').length === bKinds.length,
      30_000,
      "B's success lines",
    );
    await waitUntil(async () => (await app.probe.jobKeys()).length === 0, 10_000, 'the store to hold no job');
    const aEvents = jsonEvents(a!.stdout());
    const bEvents = jsonEvents(b!.stdout());
    for (const k of KINDS) {
      const id = idOf.get(k.kind)!;
      // A said nothing about the job after it started it: no success, release or failure line.
      expect(
        aEvents.filter((e) => e.id === id).map((e) => e.status),
        `${k.kind}: A's lines`,
      ).toEqual(['starting']);
      expect(
        bEvents.filter((e) => e.id === id).map((e) => [e.status, e.attempts]),
        `${k.kind}: B's lines`,
      ).toEqual(
        k.kind === 'one-try'
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
    // The ledger: A's first attempt of every job, B's second of each it may run, finished.
    const runs = await executions(app.knex);
    for (const k of KINDS) {
      const mine = runs
        .filter((run) => run.key === k.kind)
        .map((run) => [run.worker, run.attempt, run.finishedAt !== null]);
      const aRun = [a!.pid, 1, k.then !== 'throw'];
      expect(mine, k.kind).toEqual(k.kind === 'one-try' ? [aRun] : [aRun, [b!.pid, 2, true]]);
    }
    expect(await countRows(app.knex, 'failed_jobs')).toBe(1);

    // A works on: with B gone, it runs new jobs.
    controller.signal(b!, 'SIGTERM');
    expect(await within(b!.exited, 30_000, 'B to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    const afterIds = await produce(
      app.config,
      [STALE_JOBS],
      [0, 1, 2].map((i) => ({ name: 'StaleJob', key: `after-${i}`, args: [0, 0, 'complete'], options: { tries: 1 } })),
    );
    await waitUntil(
      () => jsonEvents(a!.stdout()).filter((e) => e.status === 'success' && afterIds.includes(e.id!)).length === 3,
      15_000,
      'A to run new jobs after losing its leases',
    );
    controller.signal(a!, 'SIGTERM');
    expect(await within(a!.exited, 30_000, 'A to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await app.probe.jobKeys()).toEqual([]);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(1);

    // A's only complaints: one lost lease per job, and its presumed death if the sweep said so.
    const complaints = a!
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('[errand]'));
    expect(complaints.filter((line) => !/the lease was lost|was presumed dead/.test(line))).toEqual([]);
    expect(b!.stderr()).toBe('');
    console.log(
      `[redis] stale worker: its ${KINDS.length} jobs were taken over ${takenOver} ms after SIGSTOP (window ${RECOVERY_WINDOW_MS} ms)`,
    );
    recordResult({
      scenario: 'R2 stale worker',
      engine: 'redis',
      jobs: KINDS.length + 3,
      executions: (await executions(app.knex)).length,
      duplicates: 0,
      lost: 0,
      seconds: (Date.now() - started) / 1000,
    });
  });
});
