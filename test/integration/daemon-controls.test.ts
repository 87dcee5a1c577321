import { expect, it } from 'vitest';

import { databaseOnly } from '../helpers/databases.js';
import { runCli } from '../helpers/run-cli.js';
import {
  dispatchJobs,
  isRunning,
  jobRow,
  jsonLines,
  ledgerOf,
  sleep,
  timeoutJobsSuite,
  waitUntil,
  within,
  workerIdOf,
} from '../helpers/timeout-jobs-kit.js';
import { type CliProcess, countRows, type WorkerApp } from '../helpers/worker-process.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const describeEachSql = databaseOnly(
  "checks reservations in the jobs table's reserved_by column and the queue_controls rows",
);
await describeEachSql('queue:work signals, controls and --json', (engine) => {
  let app: WorkerApp;
  const pool = timeoutJobsSuite(
    engine,
    'daemon_controls',
    { heartbeat: { interval: 1, lapse: 3 } },
    (made) => (app = made),
  );
  const ran = async (key: string) => (await ledgerOf(app.knex, key)).length > 0;
  /** Lets a running LongJob finish. */
  const go = (key: string) => app.knex('ledger').insert({ job_key: `${key}:go`, pid: 0, attempt: 0 });
  const output =
    (...procs: CliProcess[]) =>
    () =>
      procs.map((p) => `--- pid ${p.pid}\n${p.stdout()}\n${p.stderr()}`).join('\n');

  it('SIGUSR2 stops claiming (the job in flight finishes), SIGCONT claims again', async () => {
    const worker = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    await worker.waitFor(/"status":"worker_starting"/);
    await dispatchJobs(app, [{ job: 'LongJob', args: ['in-flight', 25_000] }]);
    await waitUntil(() => ran('in-flight:start'), 'the long job to start', 15_000, output(worker));

    worker.child.kill('SIGUSR2');
    await worker.waitFor(/"status":"worker_pausing"/, 10_000);
    const ids = await dispatchJobs(app, [
      { job: 'QuickJob', args: ['while-paused-1'] },
      { job: 'QuickJob', args: ['while-paused-2'] },
    ]);
    expect(await ran('in-flight')).toBe(false);
    await go('in-flight');
    await waitUntil(() => ran('in-flight'), 'the in-flight job to finish while paused', 15_000, output(worker));
    // Several poll intervals (--sleep 0.5) while paused: nothing new is claimed.
    await sleep(3000);
    expect(await isRunning(worker)).toBe(true);
    expect(await ran('while-paused-1')).toBe(false);
    expect(await ran('while-paused-2')).toBe(false);
    for (const id of ids) expect(await jobRow(app.knex, id)).toMatchObject({ attempts: 0, reserved_by: null });
    expect(jsonLines(worker.stdout()).filter((line) => line.job === 'QuickJob')).toEqual([]);

    worker.child.kill('SIGCONT');
    await worker.waitFor(/"status":"worker_resuming"/, 10_000);
    await waitUntil(
      async () => (await ran('while-paused-1')) && (await ran('while-paused-2')),
      'the queued jobs to run after SIGCONT',
      15_000,
      output(worker),
    );

    worker.child.kill('SIGTERM');
    expect(await within(worker.exited, 15_000, output(worker))).toEqual({ code: 0, signal: null });
    const statuses = jsonLines(worker.stdout()).map((line) => line.status);
    expect(statuses.indexOf('worker_resuming')).toBeGreaterThan(statuses.indexOf('worker_pausing'));
    expect(jsonLines(worker.stdout()).at(-1)).toMatchObject({
      status: 'worker_stopping',
      reason: 'interrupted',
      exit_status: 0,
    });
    expect(worker.stderr()).toBe('');
    expect(await countRows(app.knex, 'jobs')).toBe(0);
  });

  it.each([['SIGTERM'], ['SIGINT'], ['SIGQUIT']] as const)(
    '%s stops claiming, lets the job in flight finish and exits 0',
    async (signal) => {
      const worker = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
      await worker.waitFor(/"status":"worker_starting"/);
      const [slowId, queuedId] = await dispatchJobs(app, [
        { job: 'LongJob', args: [`stop-${signal}`, 25_000] },
        { job: 'QuickJob', args: [`left-${signal}`] },
      ]);
      await waitUntil(() => ran(`stop-${signal}:start`), 'the long job to start', 15_000, output(worker));
      worker.child.kill(signal);
      // It waits for the job in flight (the grace is --timeout, 60 s).
      await sleep(1500);
      expect(await isRunning(worker)).toBe(true);
      await go(`stop-${signal}`);
      expect(await within(worker.exited, 15_000, output(worker))).toEqual({ code: 0, signal: null });
      expect((await ledgerOf(app.knex, `stop-${signal}`)).length).toBe(1);
      expect(await jobRow(app.knex, slowId!)).toBeUndefined();
      // The job behind it was not claimed.
      expect(await ran(`left-${signal}`)).toBe(false);
      expect(await jobRow(app.knex, queuedId!)).toMatchObject({ attempts: 0, reserved_by: null });
      expect(jsonLines(worker.stdout()).at(-1)).toMatchObject({
        status: 'worker_stopping',
        reason: 'interrupted',
        exit_status: 0,
        jobs_processed: 1,
      });
      expect(worker.stderr()).toBe('');
    },
  );

  it('queue:restart makes running workers exit 0 after their in-flight job; a worker started afterwards keeps running', async () => {
    const a = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    const b = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    await a.waitFor(/"status":"worker_starting"/);
    await b.waitFor(/"status":"worker_starting"/);
    await dispatchJobs(app, [
      { job: 'LongJob', args: ['restart-1', 25_000] },
      { job: 'LongJob', args: ['restart-2', 25_000] },
    ]);
    await waitUntil(
      async () => (await ran('restart-1:start')) && (await ran('restart-2:start')),
      'both long jobs to start',
      15_000,
      output(a, b),
    );
    const starters = [
      ...(await ledgerOf(app.knex, 'restart-1:start')),
      ...(await ledgerOf(app.knex, 'restart-2:start')),
    ].map((row) => row.pid);
    expect(starters.sort()).toEqual([a.pid, b.pid].sort());

    const restart = await runCli(['queue:restart'], app.dir, app.env);
    expect(restart.stderr).toBe('');
    expect(restart.code).toBe(0);
    expect(restart.stdout).toContain('Broadcasting queue restart signal (database)');
    // Several control polls (heartbeat interval 1 s): both wait for their job in flight.
    await sleep(3000);
    expect(await isRunning(a)).toBe(true);
    expect(await isRunning(b)).toBe(true);
    expect((await ran('restart-1')) || (await ran('restart-2'))).toBe(false);
    await go('restart-1');
    await go('restart-2');

    for (const worker of [a, b]) {
      expect(await within(worker.exited, 20_000, output(worker))).toEqual({ code: 0, signal: null });
      const lines = jsonLines(worker.stdout());
      expect(lines.at(-1)).toMatchObject({
        status: 'worker_stopping',
        reason: 'restart_signal',
        exit_status: 0,
        jobs_processed: 1,
      });
      expect(lines.filter((line) => line.job === 'LongJob').map((line) => line.status)).toEqual([
        'starting',
        'success',
      ]);
      expect(worker.stderr()).toBe('');
      expect(await countRows(app.knex, 'queue_workers', (q) => q.where({ id: workerIdOf(worker) }))).toBe(0);
    }
    expect((await ledgerOf(app.knex, 'restart-1')).length).toBe(1);
    expect((await ledgerOf(app.knex, 'restart-2')).length).toBe(1);
    expect(await countRows(app.knex, 'jobs')).toBe(0);

    // Started after the restart: the counter it read at start is current, so it stays.
    const c = pool.start(['queue:work', '--sleep=0.5', '--json'], app);
    await c.waitFor(/"status":"worker_starting"/);
    await sleep(4000); // several control polls (heartbeat interval 1 s)
    expect(await isRunning(c)).toBe(true);
    await dispatchJobs(app, [{ job: 'QuickJob', args: ['after-restart'] }]);
    await waitUntil(() => ran('after-restart'), 'the new worker to run a job', 15_000, output(c));
    expect(await isRunning(c)).toBe(true);
    c.child.kill('SIGTERM');
    expect(await within(c.exited, 15_000, output(c))).toEqual({ code: 0, signal: null });
    expect(jsonLines(c.stdout()).at(-1)).toMatchObject({ status: 'worker_stopping', reason: 'interrupted' });
  });

  it('queue:pause stops claiming from one queue while the others are worked; queue:resume claims again', async () => {
    const plain = pool.start(['queue:work', '--queue=default,other', '--sleep=0.5'], app);
    const json = pool.start(['queue:work', '--queue=default,other', '--sleep=0.5', '--json'], app);
    await plain.waitFor(/Processing jobs from the \[default,other\] queue\./);
    await json.waitFor(/"status":"worker_starting"/);

    const paused = await runCli(['queue:pause', 'database:default'], app.dir, app.env);
    expect(paused.stderr).toBe('');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('Queue [database:default] paused.');
    await plain.waitFor(/ Queue default PAUSED/, 10_000);
    await json.waitFor(/"status":"queue_paused","connection":"database","queue":"default"/, 10_000);

    const again = await runCli(['queue:pause', 'database:default'], app.dir, app.env);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('Queue [database:default] was already paused.');

    const [pausedId] = await dispatchJobs(app, [
      { job: 'QuickJob', args: ['on-default'] },
      { job: 'QuickJob', args: ['on-other'], queue: 'other' },
    ]);
    await waitUntil(() => ran('on-other'), 'the job on the other queue to run', 15_000, output(plain, json));
    await sleep(3000);
    expect(await ran('on-default')).toBe(false);
    expect(await jobRow(app.knex, pausedId!)).toMatchObject({ attempts: 0, reserved_by: null });

    const resumed = await runCli(['queue:resume', 'database:default'], app.dir, app.env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('Queue [database:default] resumed.');
    await plain.waitFor(/ Queue default RESUMED/, 10_000);
    await json.waitFor(/"status":"queue_resumed","connection":"database","queue":"default"/, 10_000);
    await waitUntil(() => ran('on-default'), 'the job on the resumed queue to run', 15_000, output(plain, json));
    expect((await ledgerOf(app.knex, 'on-default')).length).toBe(1);

    const resumedAgain = await runCli(['queue:resume', 'default'], app.dir, app.env);
    expect(resumedAgain.code).toBe(0);
    expect(resumedAgain.stdout).toContain('Queue [database:default] was already running.');

    for (const worker of [plain, json]) {
      expect(await isRunning(worker)).toBe(true);
      worker.child.kill('SIGTERM');
      expect(await within(worker.exited, 15_000, output(worker))).toEqual({ code: 0, signal: null });
      expect(worker.stderr()).toBe('');
    }
    expect(plain.stdout().indexOf('Queue default RESUMED')).toBeGreaterThan(
      plain.stdout().indexOf('Queue default PAUSED'),
    );
  });

  it.each([['SIGUSR2'], ['queue:pause']] as const)(
    '%s hands prefetched jobs back instead of starting or holding them',
    async (how) => {
      // Queued before the worker starts, so its first claim (one slot plus two to prefetch) takes all
      // three at once on every engine: dispatched one by one to a running worker, they could be
      // claimed apart, and a worker whose one slot is busy claims more only when woken by a push,
      // which MySQL/MariaDB does not send.
      const [, ...prefetched] = await dispatchJobs(app, [
        { job: 'LongJob', args: ['pf-slow', 25_000] },
        { job: 'QuickJob', args: ['pf-1'] },
        { job: 'QuickJob', args: ['pf-2'] },
      ]);
      const worker = pool.start(['queue:work', '--prefetch=2', '--sleep=0.5', '--json'], app);
      await worker.waitFor(/"status":"worker_starting"/);
      const id = workerIdOf(worker);
      await waitUntil(() => ran('pf-slow:start'), 'the long job to start', 15_000, output(worker));
      // One slot runs the long job; the other two wait in the prefetch buffer, held by this worker.
      for (const jobId of prefetched)
        expect(await jobRow(app.knex, jobId)).toMatchObject({ attempts: 1, reserved_by: id });

      if (how === 'SIGUSR2') {
        worker.child.kill('SIGUSR2');
        await worker.waitFor(/"status":"worker_pausing"/, 10_000);
      } else {
        expect((await runCli(['queue:pause', 'default'], app.dir, app.env)).code).toBe(0);
        await worker.waitFor(/"status":"queue_paused"/, 10_000);
      }
      const handedBack = async () => {
        for (const jobId of prefetched) {
          const row = await jobRow(app.knex, jobId);
          if (row?.attempts !== 0 || row.reserved_by !== null) return false;
        }
        return true;
      };
      await waitUntil(handedBack, 'the prefetched jobs to be handed back, attempt returned', 10_000, output(worker));
      await go('pf-slow');
      await waitUntil(() => ran('pf-slow'), 'the long job to finish', 15_000, output(worker));
      await sleep(2000);
      expect(await ran('pf-1')).toBe(false);
      expect(await ran('pf-2')).toBe(false);

      if (how === 'SIGUSR2') worker.child.kill('SIGCONT');
      else expect((await runCli(['queue:resume', 'default'], app.dir, app.env)).code).toBe(0);
      await waitUntil(
        async () => (await ran('pf-1')) && (await ran('pf-2')),
        'the jobs to run after resuming',
        15_000,
        output(worker),
      );
      worker.child.kill('SIGTERM');
      expect(await within(worker.exited, 15_000, output(worker))).toEqual({ code: 0, signal: null });
      expect(worker.stderr()).toBe('');
      expect(await countRows(app.knex, 'jobs')).toBe(0);
    },
  );

  it('queue:pause and queue:resume refuse an unknown connection or a malformed target', async () => {
    const unknown = await runCli(['queue:pause', 'nope:default'], app.dir, app.env);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('Queue connection [nope] is not defined');
    const unknownResume = await runCli(['queue:resume', 'nope:default'], app.dir, app.env);
    expect(unknownResume.code).not.toBe(0);
    expect(unknownResume.stderr).toContain('[nope]');
    const malformed = await runCli(['queue:pause', 'database:'], app.dir, app.env);
    expect(malformed.code).not.toBe(0);
    expect(malformed.stderr).toContain('must be written connection:queue');
    const restartUnknown = await runCli(['queue:restart', 'nope'], app.dir, app.env);
    expect(restartUnknown.code).not.toBe(0);
    expect(restartUnknown.stderr).toContain('Queue connection [nope] is not defined');
    expect(await countRows(app.knex, 'queue_controls')).toBe(0);
  });

  it('--json prints one JSON object per line, with the job fields, durations and failures', async () => {
    const [okId, badId] = await dispatchJobs(app, [
      { job: 'QuickJob', args: ['json-ok'] },
      { job: 'ThrowingJob', args: ['json-bad'] },
    ]);
    const worker = pool.start(['queue:work', '--stop-when-empty', '--sleep=0', '--json'], app);
    expect(await within(worker.exited, 20_000, output(worker))).toEqual({ code: 0, signal: null });
    expect(worker.stdout().endsWith('\n')).toBe(true);

    const lines = jsonLines(worker.stdout());
    for (const line of lines) {
      expect(['info', 'warning', 'error']).toContain(line.level);
      expect(typeof line.status).toBe('string');
      expect(new Date(line.timestamp as string).toISOString()).toBe(line.timestamp);
    }
    const jobLines = lines.filter((line) => 'job' in line);
    expect(jobLines.map((line) => [line.id, line.status])).toEqual([
      [okId, 'starting'],
      [okId, 'success'],
      [badId, 'starting'],
      [badId, 'failed'],
    ]);
    const failedPayload = JSON.parse(
      ((await app.knex('failed_jobs').first('payload')) as { payload: string }).payload,
    ) as { uuid: string };
    for (const line of jobLines) {
      expect(Object.keys(line)).toEqual(
        expect.arrayContaining([
          'level',
          'id',
          'uuid',
          'connection',
          'queue',
          'job',
          'status',
          'attempts',
          'timestamp',
        ]),
      );
      expect(line.uuid).toMatch(UUID);
      expect(line).toMatchObject({ connection: 'database', queue: 'default', attempts: 1 });
      if (line.status === 'starting') expect(line).not.toHaveProperty('duration');
      else expect(line.duration).toEqual(expect.any(Number));
    }
    expect(jobLines[1]).toMatchObject({ level: 'info', job: 'QuickJob', status: 'success' });
    expect(jobLines[1]!.duration as number).toBeGreaterThanOrEqual(0);
    expect(jobLines[3]).toMatchObject({
      level: 'error',
      job: 'ThrowingJob',
      status: 'failed',
      uuid: failedPayload.uuid,
      exception: 'RangeError',
      message: 'json-bad went out of range',
    });
    expect(lines[0]).toMatchObject({
      status: 'worker_starting',
      connection: 'database',
      queues: ['default'],
      pid: worker.pid,
    });
    expect(lines.at(-1)).toMatchObject({
      status: 'worker_stopping',
      reason: 'empty',
      exit_status: 0,
      jobs_processed: 2,
    });
  });
});
