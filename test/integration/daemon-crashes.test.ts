import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import {
  databaseNow,
  Fleet,
  type JsonEvent,
  jsonEvents,
  ledgerRows,
  sleep,
  waitUntil,
  within,
  workerIdOf,
} from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, createWorkerApp, type WorkerApp } from '../helpers/worker-process.js';

const HEARTBEAT = { interval: 1, lapse: 3 };
/**
 * How long a SIGKILLed worker's jobs may stay reserved: its row expires `lapse` after its last
 * beat (whole seconds on the database clock, so up to one more), and a live worker sweeps on
 * every beat; plus a generous margin for a loaded machine.
 */
const RECOVERY_WINDOW_MS = (HEARTBEAT.lapse + 1 + HEARTBEAT.interval + 4) * 1000;

const describeEachSql = databaseOnly(
  "follows a crash through the jobs table's reserved_by and the queue_workers rows' expires_at on the database clock",
);
await describeEachSql('queue:work daemons: SIGKILL, SIGSTOP and SIGTERM', (engine) => {
  let app: WorkerApp;
  /** A second config on the same database whose retryAfter (3 s) is shorter than the slow job. */
  let shortLeaseConfig: string;
  const fleet = new Fleet();
  const start = (args: string[]) => fleet.start(args, app.dir, app.env);
  const reservedBy = (id: string) => countRows(app.knex, 'jobs', (q) => q.where('reserved_by', id));
  const workerRows = (id: string) => countRows(app.knex, 'queue_workers', (q) => q.where('id', id));

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'daemon_crashes');
    app = await createWorkerApp(connection, {
      bootstrap: [path.join(ROOT, 'test/fixtures/workers/reliability-jobs.mjs')],
      // retryAfter far beyond every test: only the heartbeat sweep can hand a dead worker's jobs back.
      overrides: { heartbeat: HEARTBEAT, retryAfter: 60 },
      prefix: 'errand-crashes-',
    });
    const source = readFileSync(path.join(app.dir, 'errand.config.mjs'), 'utf8');
    const config = JSON.parse(source.slice('export default '.length, source.lastIndexOf(';'))) as {
      connections: { database: Record<string, unknown> };
    };
    config.connections.database.retryAfter = 3;
    shortLeaseConfig = path.join(app.dir, 'errand.short-lease.mjs');
    writeFileSync(shortLeaseConfig, `export default ${JSON.stringify(config)};\n`);
  });
  beforeEach(async () => {
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'queue_workers']) await app.knex(table).delete();
  });
  afterEach(() => fleet.killAll());
  afterAll(async () => {
    await fleet.killAll();
    await app?.close();
  });

  it('SIGKILLed workers: their jobs come back within the heartbeat window, every job completes or fails, none vanishes', {
    timeout: 120_000,
  }, async () => {
    const TOTAL = 600;
    const ROUNDS = 3;
    // A one-try job every 25th (1.5 s, so a kill lands mid-run); the rest retry and take 50–100 ms.
    const isOnce = (i: number) => i % 25 === 7;
    await insertJobsForTest(app.knex, 'jobs', TOTAL, (i) =>
      isOnce(i)
        ? { name: 'OnceJob', command: { key: `c${i}`, ms: 1500 }, maxTries: 1 }
        : { name: 'ReliableJob', command: { key: `c${i}`, ms: 50 + (i % 6) * 10 }, maxTries: 10 },
    );
    const keyOf = new Map(
      (await app.knex('jobs').select('id', 'payload')).map((row: { id: number | string; payload: string }) => {
        const payload = JSON.parse(row.payload) as { data: { command: { key: string } } };
        return [String(row.id), payload.data.command.key] as const;
      }),
    );
    const args = ['queue:work', '--concurrency=4', '--sleep=0.1', '--json'];
    /** OnceJobs that were surely mid-run (started < 1 s before the kill) when their worker died. */
    const killedMidRun = new Set<string>();
    /** ReliableJobs the worker still held (running, unfinished) when it died. */
    const interrupted = new Set<string>();
    const recoveries: number[] = [];
    let dead: { id: string; killedAt: number } | undefined;

    for (let round = 0; round < ROUNDS; round++) {
      const worker = start(args);
      await worker.waitFor(/"status":"worker_starting"/);
      const id = workerIdOf(worker.stdout())!;
      if (dead) {
        // Nothing else runs: this worker's sweep must hand the dead worker's jobs back, in time.
        const previous = dead;
        const recovered = await waitUntil(
          async () =>
            (await reservedBy(previous.id)) === 0 &&
            (await workerRows(previous.id)) === 0 &&
            Date.now() - previous.killedAt,
          RECOVERY_WINDOW_MS + 10_000,
          `the jobs of SIGKILLed worker ${previous.id} to be swept back`,
        );
        // No timing threshold: retryAfter is 60 s, so a recovery at all within the wait above can
        // only be the heartbeat sweep's; how long it took is printed, not asserted.
        recoveries.push(recovered);
      }
      // Kill it while a one-try job runs, after it has finished a few jobs.
      const since = jsonEvents(worker.stdout()).length;
      await waitUntil(
        () => {
          const events = jsonEvents(worker.stdout()).slice(since);
          return (
            events.filter((e) => e.status === 'success').length >= 5 &&
            running(events).some((e) => e.job === 'OnceJob' && e.attempts === 1)
          );
        },
        20_000,
        `round ${round}: worker ${id} to run a OnceJob`,
      );
      await sleep(150);
      worker.child.kill('SIGKILL');
      const killedAt = Date.now();
      expect(await worker.exited).toEqual({ code: null, signal: 'SIGKILL' });
      for (const e of running(jsonEvents(worker.stdout()))) {
        const key = keyOf.get(e.id!)!;
        if (e.job === 'OnceJob' && killedAt - Date.parse(e.timestamp) < 1000) killedMidRun.add(key);
      }
      // Jobs the dead worker still held: a job whose success line was lost with the process (stdout
      // is a pipe, SIGKILL drops what was not flushed) but whose row was deleted is not among them.
      const held = (await app.knex('jobs').where('reserved_by', id).select('id')) as Array<{ id: number | string }>;
      for (const row of held) {
        const key = keyOf.get(String(row.id))!;
        if (!isOnce(Number(key.slice(1)))) interrupted.add(key);
      }
      // The dead worker still holds what it was running: only a sweep can free it.
      expect(await reservedBy(id)).toBeGreaterThan(0);
      expect(await workerRows(id)).toBe(1);
      dead = { id, killedAt };
    }

    // Once the last dead worker has lapsed (on the database clock), a clean worker's first sweep
    // frees its jobs before it claims, so --stop-when-empty drains everything.
    const last = dead!;
    await waitUntil(
      async () => {
        const [row] = (await app.knex('queue_workers').where('id', last.id).select('expires_at')) as Array<{
          expires_at: number | string;
        }>;
        return row !== undefined && Number(row.expires_at) < (await databaseNow(app.knex, engine));
      },
      RECOVERY_WINDOW_MS,
      `worker ${last.id}'s heartbeat to lapse`,
    );
    const final = start(['queue:work', '--concurrency=8', '--sleep=0.1', '--json', '--stop-when-empty']);
    expect(await within(final.exited, 60_000, 'the clean worker to drain the queue')).toEqual({
      code: 0,
      signal: null,
    });
    expect(final.stderr()).toBe('');
    console.log(
      `[${engine}] SIGKILL rounds: dead workers' jobs back after ${recoveries.join(', ')} ms (window ${RECOVERY_WINDOW_MS} ms)`,
    );

    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
    const ledger = await ledgerRows(app.knex);
    const completed = new Set(ledger.map((row) => row.job_key));
    const failedRows = (await app.knex('failed_jobs').select('payload', 'exception')) as Array<{
      payload: string;
      exception: string;
    }>;
    const failed = failedRows.map((row) => ({
      key: (JSON.parse(row.payload) as { data: { command: { key: string } } }).data.command.key,
      exception: row.exception,
    }));
    const failedKeys = new Set(failed.map((f) => f.key));
    const onceKeys = new Set([...keyOf.values()].filter((key) => isOnce(Number(key.slice(1)))));

    // None vanished: every job completed or failed, and each failed once at most.
    expect([...keyOf.values()].filter((key) => !completed.has(key) && !failedKeys.has(key))).toEqual([]);
    expect(failedKeys.size).toBe(failed.length);
    // Only one-try jobs failed, and only because a dead worker had used their try.
    expect([...failedKeys].filter((key) => !onceKeys.has(key))).toEqual([]);
    expect(failed.filter((f) => !/MaxAttemptsExceededError.*attempted too many times/.test(f.exception))).toEqual([]);
    // A one-try job killed mid-run was never run again: it ended in failed_jobs.
    expect(killedMidRun.size).toBeGreaterThanOrEqual(ROUNDS);
    for (const key of killedMidRun) {
      expect(failedKeys.has(key), `${key} in failed_jobs`).toBe(true);
      expect(completed.has(key), `${key} never completed`).toBe(false);
    }
    // The dead holder's attempt stayed counted: an interrupted job ran again as attempt 2 or later.
    expect(interrupted.size).toBeGreaterThan(0);
    const lastAttempt = new Map<string, number>();
    for (const row of ledger) lastAttempt.set(row.job_key, Math.max(row.attempt, lastAttempt.get(row.job_key) ?? 0));
    expect([...interrupted].filter((key) => (lastAttempt.get(key) ?? 0) < 2)).toEqual([]);
  });

  it('a stopped worker presumed dead: another takes its job, and its late finish changes nothing', {
    timeout: 90_000,
  }, async () => {
    await insertJobsForTest(app.knex, 'jobs', 1, () => ({
      name: 'ReliableJob',
      command: { key: 'slow', ms: 7000 },
      maxTries: 5,
    }));
    const args = ['--config', shortLeaseConfig, 'queue:work', '--concurrency=1', '--sleep=0.1', '--json'];
    const a = start(args);
    await a.waitFor(/"status":"starting"/);
    const aId = workerIdOf(a.stdout())!;
    const jobId = jsonEvents(a.stdout()).find((e) => e.status === 'starting')!.id!;
    const b = start(args);
    await b.waitFor(/"status":"worker_starting"/);
    const bId = workerIdOf(b.stdout())!;

    // While A heartbeats, its lease is renewed: retryAfter (3 s) passes and B may not take the job.
    await sleep(3500);
    expect(jsonEvents(b.stdout()).filter((e) => e.status === 'starting')).toEqual([]);
    expect(await reservedBy(aId)).toBe(1);

    a.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    await b.waitFor(new RegExp(`"id":"${jobId}"[^\\n]*"status":"starting"`), 30_000);
    // How long the takeover took is printed, not asserted (speed belongs in the bench).
    const takenOver = Date.now() - stoppedAt;
    expect(jsonEvents(b.stdout()).find((e) => e.id === jobId)).toMatchObject({ status: 'starting', attempts: 2 });
    await waitUntil(async () => (await workerRows(aId)) === 0, RECOVERY_WINDOW_MS, `A's row to be swept`);

    // A wakes up while B runs the job: A's handler finishes, and its fenced delete must not touch
    // B's row (unfenced, it would delete the job from under B).
    a.child.kill('SIGCONT');
    await a.waitFor(/the lease was lost/, 15_000);
    const row = (await app.knex('jobs').select('id', 'reserved_by', 'attempts')) as Array<{
      id: number | string;
      reserved_by: string;
      attempts: number | string;
    }>;
    expect(row.map((r) => ({ id: String(r.id), reserved_by: r.reserved_by, attempts: Number(r.attempts) }))).toEqual([
      { id: jobId, reserved_by: bId, attempts: 2 },
    ]);
    expect(
      jsonEvents(b.stdout())
        .filter((e) => e.id === jobId)
        .map((e) => e.status),
    ).toEqual(['starting']);
    await a.waitFor(/presumed dead/, 15_000);
    expect(a.child.exitCode).toBeNull();

    // B finishes and deletes it. At-least-once: A's handler did run to its end, but nothing A
    // wrote about the job landed (no success line, no failed_jobs row, no second delete).
    await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 15_000, 'B to finish the job');
    await b.waitFor(/"status":"success"/, 5000);
    console.log(
      `[${engine}] stopped worker: its job was taken over ${takenOver} ms after SIGSTOP (window ${RECOVERY_WINDOW_MS} ms)`,
    );
    expect((await ledgerRows(app.knex)).map((r) => [r.pid, r.attempt]).sort()).toEqual(
      [
        [a.pid, 1],
        [b.pid, 2],
      ].sort(),
    );
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    expect(
      jsonEvents(a.stdout())
        .filter((e) => e.id === jobId)
        .map((e) => e.status),
    ).toEqual(['starting']);
    // A registered again and works on: with B gone, it runs new jobs.
    await waitUntil(async () => (await workerRows(aId)) === 1, 5000, 'A to register again');
    b.child.kill('SIGTERM');
    expect(await within(b.exited, 30_000, 'B to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await workerRows(bId)).toBe(0);
    await insertJobsForTest(app.knex, 'jobs', 2, (i) => ({
      name: 'ReliableJob',
      command: { key: `after-${i}`, ms: 0 },
      maxTries: 1,
    }));
    await waitUntil(
      async () => (await countRows(app.knex, 'jobs')) === 0,
      10_000,
      'A to run jobs after losing its lease',
    );
    const after = (await ledgerRows(app.knex)).filter((row) => row.job_key.startsWith('after-'));
    expect(after.map((row) => row.pid)).toEqual([a.pid, a.pid]);
    a.child.kill('SIGTERM');
    expect(await within(a.exited, 30_000, 'A to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    // The only complaints: the lost lease and the presumed death.
    const complaints = a
      .stderr()
      .split('\n')
      .filter((line) => line.startsWith('[errand]'));
    expect(complaints).toHaveLength(2);
    expect(b.stderr()).toBe('');
  });

  it('a stopped worker presumed dead never starts the jobs it had prefetched: each runs once, from a claim made after the sweep', {
    timeout: 90_000,
  }, async () => {
    await insertJobsForTest(app.knex, 'jobs', 1, () => ({
      name: 'ReliableJob',
      command: { key: 'held-slow', ms: 4000 },
      maxTries: 5,
    }));
    await insertJobsForTest(app.knex, 'jobs', 2, (i) => ({
      name: 'ReliableJob',
      command: { key: `prefetched-${i}`, ms: 0 },
      maxTries: 5,
    }));
    const a = start([
      '--config',
      shortLeaseConfig,
      'queue:work',
      '--concurrency=1',
      '--prefetch=2',
      '--sleep=0.1',
      '--json',
    ]);
    await a.waitFor(/"status":"starting"/);
    const aId = workerIdOf(a.stdout())!;
    // A holds all three: one running, two in its buffer.
    await waitUntil(async () => (await reservedBy(aId)) === 3, 5000, 'A to hold all three jobs');
    a.child.kill('SIGSTOP');
    const b = start(['--config', shortLeaseConfig, 'queue:work', '--concurrency=1', '--sleep=0.1', '--json']);
    await waitUntil(async () => (await workerRows(aId)) === 0, RECOVERY_WINDOW_MS, `A's row to be swept`);
    // A wakes up with its slow handler long overdue and two prefetched jobs that are no longer its own.
    a.child.kill('SIGCONT');
    await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 30_000, 'B to finish every job');
    await a.waitFor(/presumed dead/, 15_000);
    const ledger = await ledgerRows(app.knex);
    // Each prefetched job ran once, from a claim made after the sweep (attempt 2, by whichever
    // worker claimed it then); the stale attempt-1 copies in A's buffer never started.
    for (const key of ['prefetched-0', 'prefetched-1'])
      expect(ledger.filter((row) => row.job_key === key).map((row) => row.attempt)).toEqual([2]);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    for (const worker of [a, b]) worker.child.kill('SIGTERM');
    for (const worker of [a, b])
      expect(await within(worker.exited, 30_000, 'workers to exit after SIGTERM')).toEqual({ code: 0, signal: null });
  });

  it('a worker stopped (SIGSTOP) for longer than the lapse carries on after SIGCONT: its watchdog does not count the stop as a blocked loop', {
    timeout: 60_000,
  }, async () => {
    const worker = start(['queue:work', '--sleep=0.1', '--json']);
    await worker.waitFor(/"status":"worker_starting"/);
    const id = workerIdOf(worker.stdout())!;
    for (let round = 0; round < 2; round++) {
      worker.child.kill('SIGSTOP');
      await sleep((HEARTBEAT.lapse + 1) * 1000);
      worker.child.kill('SIGCONT');
      await sleep(1000);
      expect(worker.stderr()).not.toMatch(/watchdog/);
      expect(worker.child.exitCode).toBeNull();
    }
    // It still works: it runs a new job, then stops cleanly.
    await insertJobsForTest(app.knex, 'jobs', 1, () => ({
      name: 'ReliableJob',
      command: { key: 'after-stop', ms: 0 },
      maxTries: 1,
    }));
    await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 10_000, 'the resumed worker to run a job');
    expect(await ledgerRows(app.knex)).toEqual([{ job_key: 'after-stop', pid: worker.pid, attempt: 1 }]);
    worker.child.kill('SIGTERM');
    expect(await within(worker.exited, 30_000, 'the worker to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(worker.stderr()).toBe('');
    expect(await workerRows(id)).toBe(0);
  });

  it('SIGTERM under load: no new work after the signal, in-flight jobs finish, the prefetch buffer goes back unspent', {
    timeout: 90_000,
  }, async () => {
    const TOTAL = 500;
    await insertJobsForTest(app.knex, 'jobs', TOTAL, (i) => ({
      name: 'ReliableJob',
      command: { key: `t${i}`, ms: 100 },
      maxTries: 3,
    }));
    const worker = start(['queue:work', '--concurrency=8', '--prefetch=8', '--sleep=0.1', '--json']);
    await worker.waitFor(/"status":"worker_starting"/);
    const id = workerIdOf(worker.stdout())!;
    await waitUntil(
      () => jsonEvents(worker.stdout()).filter((e) => e.status === 'success').length >= 40,
      30_000,
      '40 jobs done',
    );
    // Running (8) plus buffered: take the snapshot, then signal at once.
    const held = await waitUntil(
      async () => {
        const rows = (await app.knex('jobs').where('reserved_by', id).select('id')) as Array<{ id: number | string }>;
        return rows.length > 8 && rows.map((row) => String(row.id));
      },
      10_000,
      'the prefetch buffer to fill',
    );
    const printedBefore = jsonEvents(worker.stdout()).length;
    worker.child.kill('SIGTERM');
    expect(await within(worker.exited, 30_000, 'the worker to exit after SIGTERM')).toEqual({ code: 0, signal: null });
    expect(worker.stderr()).toBe('');

    const events = jsonEvents(worker.stdout());
    const started = events.filter((e) => e.status === 'starting');
    const succeeded = events.filter((e) => e.status === 'success');
    // Between the kill() call and the handler, a freed slot may take one buffered job; a new
    // claim could add more, but only from an empty buffer, and never after the handler ran.
    const startedAfter = events.slice(printedBefore).filter((e) => e.status === 'starting');
    expect(startedAfter.length).toBeLessThanOrEqual(8);
    expect(events.at(-1)).toMatchObject({ status: 'worker_stopping', reason: 'interrupted', exit_status: 0 });
    // Every job it started, it finished (and deleted); nothing else ran.
    expect(succeeded.map((e) => e.id).sort()).toEqual(started.map((e) => e.id).sort());
    const ledger = await ledgerRows(app.knex);
    expect(ledger).toHaveLength(started.length);
    // What is left is unreserved and unspent: the buffer was handed back with its attempt.
    const left = (await app.knex('jobs').select('id', 'attempts', 'reserved_by', 'reserved_at')) as Array<{
      id: number | string;
      attempts: number | string;
      reserved_by: string | null;
      reserved_at: number | string | null;
    }>;
    expect(left).toHaveLength(TOTAL - started.length);
    expect(
      left.filter((row) => Number(row.attempts) !== 0 || row.reserved_by !== null || row.reserved_at !== null),
    ).toEqual([]);
    const handedBack = held.filter((jobId) => left.some((row) => String(row.id) === jobId));
    expect(handedBack.length).toBeGreaterThan(0);
    expect(await workerRows(id)).toBe(0);

    // A second worker drains the rest: every job ran exactly once, each as its first attempt.
    const drain = start(['queue:work', '--concurrency=16', '--sleep=0.1', '--json', '--stop-when-empty']);
    expect(await within(drain.exited, 60_000, 'the second worker to drain the queue')).toEqual({
      code: 0,
      signal: null,
    });
    expect(drain.stderr()).toBe('');
    const all = await ledgerRows(app.knex);
    expect(new Set(all.map((row) => row.job_key)).size).toBe(TOTAL);
    expect(all).toHaveLength(TOTAL);
    expect(all.filter((row) => row.attempt !== 1)).toEqual([]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(await countRows(app.knex, 'failed_jobs')).toBe(0);
    expect(await countRows(app.knex, 'queue_workers')).toBe(0);
  });
});

/** Jobs whose `starting` line has no later success/failure/release line: still running. */
function running(events: JsonEvent[]): JsonEvent[] {
  const open = new Map<string, JsonEvent>();
  for (const e of events) {
    if (e.status === 'starting') open.set(e.id!, e);
    else if (e.id !== undefined) open.delete(e.id);
  }
  return [...open.values()];
}
