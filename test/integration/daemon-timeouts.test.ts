import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { runCli } from '../helpers/run-cli.js';
import {
  dbNow,
  dispatchJobs,
  isRunning,
  jobRow,
  jsonLines,
  ledgerOf,
  sleep,
  TIMEOUT_JOBS,
  timeoutJobsSuite,
  waitUntil,
  within,
  workerIdOf,
} from '../helpers/timeout-jobs-kit.js';
import { countRows, createWorkerApp, type WorkerApp } from '../helpers/worker-process.js';

/** The watchdog's grace past a job's deadline (WATCHDOG_GRACE_MS) in seconds. */
const WATCHDOG_GRACE = 5;

/** Exited on SIGALRM: a Node parent sees the signal, a shell sees status 142. */
function endedBySigalrm(exit: { code: number | null; signal: NodeJS.Signals | null }): boolean {
  return exit.signal === 'SIGALRM' || exit.code === 142;
}

const describeEachSql = databaseOnly(
  'follows the watchdog through jobs rows (reserved_by, available_at on the database clock) and queue_workers rows',
);
await describeEachSql('queue:work timeouts and watchdog', (engine) => {
  let app: WorkerApp;
  const pool = timeoutJobsSuite(
    engine,
    'daemon_timeouts',
    { heartbeat: { interval: 1, lapse: 3 }, retryAfter: 4 },
    (made) => (app = made),
  );

  it('abandons a handler that never settles at its timeout, retries it, fails it, and the same process carries on', async () => {
    const [hangId] = await dispatchJobs(app, [
      { job: 'HangingJob', args: ['hang'] },
      // On a lower-priority queue, so it can only run once both attempts of the hanging job are over.
      { job: 'QuickJob', args: ['after-hang'], queue: 'low' },
    ]);
    const worker = pool.start(['queue:work', '--queue=default,low', '--stop-when-empty', '--sleep=0', '--json'], app);
    const exit = await within(
      worker.exited,
      30_000,
      () => `the worker to exit\n${worker.stdout()}\n${worker.stderr()}`,
    );
    expect(exit, worker.stderr()).toEqual({ code: 0, signal: null });

    const lines = jsonLines(worker.stdout());
    const starting = lines.filter((line) => line.status === 'worker_starting');
    expect(starting).toHaveLength(1);
    expect(starting[0]!.pid).toBe(worker.pid);
    const hang = lines.filter((line) => line.job === 'HangingJob').map((line) => [line.status, line.attempts]);
    expect(hang).toEqual([
      ['starting', 1],
      ['timed_out', 1],
      ['released_after_exception', 1],
      ['starting', 2],
      ['timed_out', 2],
      ['failed', 2],
    ]);
    const failedLine = lines.find((line) => line.job === 'HangingJob' && line.status === 'failed')!;
    expect(failedLine.exception).toBe('TimeoutExceededError');
    // The following job ran after both attempts, in the same process.
    const statuses = lines.map((line) => `${String(line.job ?? '')}:${String(line.status)}`);
    expect(statuses.indexOf('QuickJob:success')).toBeGreaterThan(statuses.indexOf('HangingJob:failed'));
    expect(lines.at(-1)).toMatchObject({ status: 'worker_stopping', reason: 'empty', exit_status: 0 });

    expect((await ledgerOf(app.knex, 'hang')).map((row) => [row.attempt, row.pid])).toEqual([
      [1, worker.pid],
      [2, worker.pid],
    ]);
    expect((await ledgerOf(app.knex, 'after-hang')).map((row) => row.pid)).toEqual([worker.pid]);
    const failed = (await app.knex('failed_jobs').select('exception', 'payload')) as Array<{
      exception: string;
      payload: string;
    }>;
    expect(failed).toHaveLength(1);
    expect(failed[0]!.exception).toMatch(/^TimeoutExceededError: HangingJob has timed out/);
    expect(await jobRow(app.knex, hangId!)).toBeUndefined();
    expect(await countRows(app.knex, 'jobs')).toBe(0);
  });

  it('kills a worker whose job wedges the event loop with SIGALRM, records the attempt, gives bystanders back, and fails the job once out of tries', async () => {
    const [blockId, byId] = await dispatchJobs(app, [
      { job: 'BlockingJob', args: ['block'] },
      { job: 'SlowJob', args: ['bystander', 3000] },
    ]);

    // First run: attempt 1 of the blocker, with the bystander running beside it.
    const first = pool.start(['queue:work', '--concurrency=2', '--sleep=0.5', '--json'], app);
    await first.waitFor(/"job":"BlockingJob"[^}]*"status":"starting"/, 20_000);
    const blockedAt = Date.now();
    const exit1 = await within(
      first.exited,
      (1 + WATCHDOG_GRACE + 15) * 1000,
      () => `the watchdog to end the first worker\n${first.stdout()}\n${first.stderr()}`,
    );
    expect(endedBySigalrm(exit1), JSON.stringify(exit1) + first.stderr()).toBe(true);
    // Not before the job's deadline plus the grace.
    expect(Date.now() - blockedAt).toBeGreaterThanOrEqual((1 + WATCHDOG_GRACE) * 1000 - 500);
    expect(first.stderr()).toMatch(
      new RegExp(`\\[errand\\] watchdog: BlockingJob #${blockId} is [\\d.]+ s past its timeout`),
    );
    expect(first.stderr()).toContain(`BlockingJob #${blockId} released`);
    const firstWorker = workerIdOf(first);

    const blocker1 = (await app.knex('jobs').where({ id: blockId }).first()) as Record<string, unknown>;
    expect(blocker1, 'the blocker row must still exist').toBeDefined();
    expect(Number(blocker1.attempts)).toBe(1);
    expect(Number(blocker1.exceptions)).toBe(1);
    expect(blocker1.reserved_by).toBeNull();
    expect(blocker1.reserved_at).toBeNull();
    const bystander1 = await jobRow(app.knex, byId!);
    expect(bystander1).toMatchObject({ attempts: 0, reserved_by: null, reserved_at: null });
    expect(await countRows(app.knex, 'queue_workers', (q) => q.where({ id: firstWorker }))).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);

    // Second run: attempt 2, the last try: killed again, and this time the job is failed.
    const second = pool.start(['queue:work', '--concurrency=2', '--sleep=0.5', '--json'], app);
    const exit2 = await within(
      second.exited,
      30_000,
      () => `the watchdog to end the second worker\n${second.stdout()}\n${second.stderr()}`,
    );
    expect(endedBySigalrm(exit2), JSON.stringify(exit2) + second.stderr()).toBe(true);
    expect(second.stderr()).toContain(`BlockingJob #${blockId} failed`);
    expect((await ledgerOf(app.knex, 'block')).map((row) => [row.attempt, row.pid])).toEqual([
      [1, first.pid],
      [2, second.pid],
    ]);
    expect(await jobRow(app.knex, blockId!)).toBeUndefined();
    const failed = (await app.knex('failed_jobs').select('exception', 'payload')) as Array<{
      exception: string;
      payload: string;
    }>;
    expect(failed).toHaveLength(1);
    expect(JSON.parse(failed[0]!.payload).displayName).toBe('BlockingJob');
    expect(failed[0]!.exception).toMatch(
      new RegExp(`^TimeoutExceededError: BlockingJob has timed out: the watchdog ended worker process ${second.pid} `),
    );
    expect(await countRows(app.knex, 'queue_workers', (q) => q.where({ id: workerIdOf(second) }))).toBe(0);

    // The bystander was never charged an attempt, and a healthy worker completes it.
    const bystander2 = await jobRow(app.knex, byId!);
    expect(bystander2).toMatchObject({ attempts: 0, reserved_by: null });
    await waitUntil(
      async () => (await dbNow(app.knex, engine)) >= bystander2!.available_at,
      'the bystander to be due',
      5000,
    );
    const third = pool.start(['queue:work', '--stop-when-empty', '--sleep=0', '--json'], app);
    expect(await within(third.exited, 30_000, () => 'the third worker to drain the queue'), third.stderr()).toEqual({
      code: 0,
      signal: null,
    });
    expect((await ledgerOf(app.knex, 'bystander')).map((row) => [row.attempt, row.pid])).toEqual([[1, third.pid]]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(1);
  });

  it('fails a single-try job that wedges the event loop on its first attempt', async () => {
    const [id] = await dispatchJobs(app, [{ job: 'BlockingOnceJob', args: ['block-once'] }]);
    const worker = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    const exit = await within(
      worker.exited,
      30_000,
      () => `the watchdog to end the worker\n${worker.stdout()}\n${worker.stderr()}`,
    );
    expect(endedBySigalrm(exit), JSON.stringify(exit) + worker.stderr()).toBe(true);
    expect(worker.stderr()).toMatch(/\[errand\] watchdog: /);
    expect(worker.stderr()).toContain(`BlockingOnceJob #${id} failed`);
    expect(await jobRow(app.knex, id!)).toBeUndefined();
    const failed = (await app.knex('failed_jobs').select('exception')) as Array<{ exception: string }>;
    expect(failed.map((row) => row.exception.split(' because ')[0])).toEqual([
      `TimeoutExceededError: BlockingOnceJob has timed out: the watchdog ended worker process ${worker.pid}`,
    ]);
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
  });

  it('ends with SIGKILL a wedged worker that listens for SIGALRM, after handing its job back', async () => {
    const [id] = await dispatchJobs(app, [{ job: 'DeafBlockingJob', args: ['deaf'] }]);
    const worker = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    const exit = await within(
      worker.exited,
      30_000,
      () => `the watchdog to end the worker\n${worker.stdout()}\n${worker.stderr()}`,
    );
    // A Node parent sees the signal; a shell in between reports 128 + 9.
    expect(exit.signal === 'SIGKILL' || exit.code === 137, JSON.stringify(exit) + worker.stderr()).toBe(true);
    expect(worker.stderr()).toContain(`DeafBlockingJob #${id} released`);
    expect(await jobRow(app.knex, id!)).toMatchObject({ attempts: 1, exceptions: 1, reserved_by: null });
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
    await app.knex('jobs').delete();
  });

  it('keeps the lease of a job running longer than retryAfter while its worker heartbeats', async () => {
    const a = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    await a.waitFor(/"status":"worker_starting"/);
    // Runs until the test says go (at most 25 s, below its 30 s timeout).
    const [longId] = await dispatchJobs(app, [{ job: 'LongJob', args: ['long', 25_000] }]);
    await a.waitFor(/"job":"LongJob"[^}]*"status":"starting"/);
    const startedAt = Date.now();
    const b = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    await b.waitFor(/"status":"worker_starting"/);

    // Past retryAfter (4 s) since A claimed it: without renewal the job would be claimable now.
    await sleep(Math.max(0, startedAt + 5000 - Date.now()));
    expect(await isRunning(a)).toBe(true);
    expect(await jobRow(app.knex, longId!)).toMatchObject({ attempts: 1, reserved_by: workerIdOf(a) });
    // B is claiming meanwhile: it takes a job pushed now (A's only slot is busy), just not the long one.
    await dispatchJobs(app, [{ job: 'QuickJob', args: ['probe'] }]);
    await waitUntil(
      async () => (await ledgerOf(app.knex, 'probe')).length > 0,
      'B to run the probe job',
      15_000,
      () => b.stdout() + b.stderr(),
    );
    expect((await ledgerOf(app.knex, 'probe')).map((row) => row.pid)).toEqual([b.pid]);

    // About twice retryAfter in all, then let it finish.
    await sleep(Math.max(0, startedAt + 8000 - Date.now()));
    expect(await ledgerOf(app.knex, 'long')).toEqual([]);
    await app.knex('ledger').insert({ job_key: 'long:go', pid: 0, attempt: 0 });
    await a.waitFor(/"job":"LongJob"[^}]*"status":"success"/, 20_000);
    // A little longer, so a late reclaim by B would show.
    await sleep(1500);
    a.child.kill('SIGTERM');
    b.child.kill('SIGTERM');
    expect(await within(a.exited, 15_000, () => 'A to stop')).toEqual({ code: 0, signal: null });
    expect(await within(b.exited, 15_000, () => 'B to stop')).toEqual({ code: 0, signal: null });

    expect((await ledgerOf(app.knex, 'long:start')).map((row) => [row.attempt, row.pid])).toEqual([[1, a.pid]]);
    expect((await ledgerOf(app.knex, 'long')).map((row) => [row.attempt, row.pid])).toEqual([[1, a.pid]]);
    expect(jsonLines(b.stdout()).filter((line) => line.job === 'LongJob')).toEqual([]);
    expect(
      jsonLines(a.stdout())
        .filter((line) => line.job === 'LongJob')
        .map((line) => line.status),
    ).toEqual(['starting', 'success']);
    expect(a.stderr() + b.stderr()).toBe('');
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
  });

  describe('with heartbeats off', () => {
    let plain: WorkerApp;

    beforeAll(async () => {
      const connection = await freshDatabase(engine, 'daemon_timeouts_no_heartbeat');
      plain = await createWorkerApp(connection, {
        bootstrap: [TIMEOUT_JOBS],
        overrides: { heartbeat: false, retryAfter: 10 },
        prefix: 'errand-daemon-no-heartbeat-',
      });
    });
    afterAll(() => plain?.close());

    it.each([['--timeout=10'], ['--timeout=11'], ['--timeout=0']])(
      'refuses %s at start, naming --timeout and retryAfter',
      async (flag) => {
        const result = await runCli(['queue:work', flag, '--stop-when-empty'], plain.dir, plain.env);
        expect(result.code, result.stdout + result.stderr).not.toBe(0);
        expect(result.stderr).toContain('--timeout');
        expect(result.stderr).toContain('retryAfter (10 s)');
        expect(result.stdout).not.toContain('Processing jobs');
      },
    );

    it('starts with --timeout below retryAfter, and fails (without running) a job whose own timeout reaches retryAfter', async () => {
      await dispatchJobs(plain, [
        { job: 'QuickJob', args: ['fits'] },
        // timeout 30 s ≥ retryAfter 10 s.
        { job: 'LongJob', args: ['too-long', 100] },
      ]);
      const result = await runCli(
        ['queue:work', '--timeout=5', '--stop-when-empty', '--sleep=0', '--json'],
        plain.dir,
        plain.env,
      );
      expect(result.stderr).toBe('');
      expect(result.code).toBe(0);
      expect((await ledgerOf(plain.knex, 'fits')).length).toBe(1);
      expect(await ledgerOf(plain.knex, 'too-long:start')).toEqual([]);
      const failed = (await plain.knex('failed_jobs').select('exception')) as Array<{ exception: string }>;
      expect(failed).toHaveLength(1);
      expect(failed[0]!.exception).toContain(
        'LongJob has a timeout of 30 s, not below retryAfter (10 s), and heartbeats are off',
      );
      expect(await countRows(plain.knex, 'jobs')).toBe(0);
    });
  });
});
