// Real errand workers under a real supervisord, run from the config `errand queue:supervisor`
// generates. supervisord (and the generated config) is what is under test here, so every scenario
// runs on SQLite, a database file in a temp directory; engine coverage lives in the other
// integration suites. Each scenario gets its own database, app directory and private supervisord
// (unix socket only), so one that goes wrong cannot leak workers or jobs into the next.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterEach, expect, it } from 'vitest';

import { freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT, runCli } from '../helpers/run-cli.js';
import {
  alive,
  describeWithSupervisord,
  type PrivateSupervisord,
  type ProcessStatus,
  startSupervisord,
  waitUntil,
} from '../helpers/supervisord.js';
import { countRows, createWorkerApp, ledgerCounts, type WorkerApp } from '../helpers/worker-process.js';

const FIXTURE = path.join(ROOT, 'test/fixtures/workers/supervised-jobs.mjs');
const PROGRAM = 'errand-worker';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Supervised {
  app: WorkerApp;
  supervisord: PrivateSupervisord;
  /** The workers' log: the generated config's default, `<directory>/<program>.log`. */
  log: string;
  /** A file SupervisedSlowJob can wait for (`gate`): the test writes it to let those jobs finish. */
  gate: string;
  /** Every worker pid supervisorctl reported, so cleanup can find leftovers. */
  seen: Set<number>;
}

interface LogEvent {
  status?: string;
  reason?: string;
  exit_status?: number;
  pid?: number;
  job?: string;
}

interface LedgerRow {
  job_key: string;
  pid: number;
  attempt: number;
}

/** Run after each test, newest first; told whether the test failed. */
const cleanups: Array<(failed: boolean) => Promise<void>> = [];

afterEach(async ({ task }) => {
  const failed = task.result?.state === 'fail';
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup(failed);
});

/**
 * A migrated app on a fresh SQLite file, a private supervisord whose programs inherit the ledger's
 * knex config, and the config `errand queue:supervisor` writes for two workers with `workerArgs`,
 * loaded with reread + update (autostart starts them).
 */
async function supervise(name: string, workerArgs: string[]): Promise<Supervised> {
  const connection = await freshDatabase('sqlite', `supervised_${name}`);
  const dbDir = path.dirname((connection.connection as { filename: string }).filename);
  const app = await createWorkerApp(connection, {
    bootstrap: [FIXTURE],
    overrides: { heartbeat: { interval: 1, lapse: 3 } },
    prefix: 'errand-supervised-',
  });
  cleanups.push(async () => {
    await app.close();
    rmSync(app.dir, { recursive: true, force: true });
    rmSync(dbDir, { recursive: true, force: true });
  });
  const supervisord = await startSupervisord({ env: { ...app.env, QUEUE_CONNECTION: '' } });
  const seen = new Set<number>();
  const log = path.join(app.dir, `${PROGRAM}.log`);
  const gate = path.join(app.dir, 'gate');
  cleanups.push(async (failed) => {
    // The logs go with the temp directories, so a failure shows them first.
    if (failed)
      console.error(
        `--- ${name}: ${log} ---\n${tail(log)}\n--- supervisord.log ---\n${tail(path.join(supervisord.dir, 'supervisord.log'))}`,
      );
    // Let gated jobs finish, so the workers stop without waiting out their grace.
    writeFileSync(gate, '');
    try {
      await supervisord.stop();
    } finally {
      // supervisord stops its programs on shutdown; anything still alive is a leftover.
      for (const pid of seen) if (alive(pid) && isWorker(pid)) process.kill(pid, 'SIGKILL');
    }
  });

  const rendered = await runCli(
    [
      'queue:supervisor',
      '--output',
      supervisord.confDir,
      '--directory',
      app.dir,
      '--numprocs',
      '2',
      '--',
      ...workerArgs,
    ],
    app.dir,
  );
  expect(rendered.stderr).toBe('');
  expect(rendered.code).toBe(0);
  const confFile = path.join(supervisord.confDir, `${PROGRAM}.conf`);
  expect(rendered.stdout).toContain(confFile);
  expect(readFileSync(confFile, 'utf8')).toContain(`directory=${app.dir}\n`);

  expect((await supervisord.ctl(['reread'])).stdout).toContain(`${PROGRAM}: available`);
  expect((await supervisord.ctl(['update'])).stdout).toContain(`${PROGRAM}: added process group`);
  return { app, supervisord, log, gate, seen };
}

function tail(file: string, lines = 60): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch (error) {
    return `(unreadable: ${(error as Error).message})`;
  }
}

/** Whether `pid` is a `queue:work` process (guards the leftover kill against a reused pid). */
function isWorker(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('queue:work');
  } catch {
    return false;
  }
}

async function workers(s: Supervised): Promise<ProcessStatus[]> {
  const states = (await s.supervisord.status()).filter((p) => p.name.startsWith(`${PROGRAM}:`));
  for (const p of states) if (p.pid !== undefined) s.seen.add(p.pid);
  return states.sort((a, b) => a.name.localeCompare(b.name));
}

/** The workers' JSON event lines (other output, such as error reports, is skipped). */
function events(s: Supervised): LogEvent[] {
  let text: string;
  try {
    text = readFileSync(s.log, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogEvent];
    } catch {
      return [];
    }
  });
}

/** What the workers printed besides JSON event lines: error reports and the watchdog's verdicts. */
function strayOutput(s: Supervised): string[] {
  return readFileSync(s.log, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('{'));
}

function supervisordLog(s: Supervised): string {
  return readFileSync(path.join(s.supervisord.dir, 'supervisord.log'), 'utf8');
}

/**
 * Waits until both processes are RUNNING, none of them in `not`, and each has printed its
 * worker_starting line (so its loop is claiming). Returns their pids in process order.
 */
async function bothRunning(s: Supervised, not: readonly number[] = []): Promise<number[]> {
  let pids: number[] = [];
  await waitUntil(
    `both ${PROGRAM} processes to be RUNNING${not.length ? ` with pids other than ${not.join(', ')}` : ''} and started`,
    async () => {
      const states = await workers(s);
      if (
        states.length !== 2 ||
        !states.every((p) => p.state === 'RUNNING' && p.pid !== undefined && !not.includes(p.pid))
      )
        return false;
      pids = states.map((p) => p.pid!);
      const started = new Set(
        events(s)
          .filter((e) => e.status === 'worker_starting')
          .map((e) => e.pid),
      );
      return pids.every((pid) => started.has(pid));
    },
    30_000,
  );
  expect(new Set(pids).size).toBe(2);
  return pids;
}

async function ledger(s: Supervised): Promise<LedgerRow[]> {
  return (await s.app.knex('ledger').select('job_key', 'pid', 'attempt').orderBy('id')) as LedgerRow[];
}

function count(text: string, pattern: RegExp): number {
  return text.match(new RegExp(pattern.source, `${pattern.flags.replace('g', '')}g`))?.length ?? 0;
}

describeWithSupervisord('errand workers under supervisord, from the generated config', () => {
  it('runs two workers that drain the queue, each job exactly once', async () => {
    const s = await supervise('drain', ['--sleep=0.2', '--timeout=10', '--json']);
    const pids = await bothRunning(s);

    const JOBS = 200;
    await insertJobsForTest(s.app.knex, 'jobs', JOBS, (i) => ({
      name: 'SupervisedQuickJob',
      command: { key: `job-${i}` },
    }));
    await waitUntil('the jobs table to empty', async () => (await countRows(s.app.knex, 'jobs')) === 0, 30_000);

    const counts = await ledgerCounts(s.app.knex);
    expect(counts.size).toBe(JOBS);
    expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
    // Both supervised processes took part, and nothing else did.
    expect(new Set((await ledger(s)).map((r) => r.pid))).toEqual(new Set(pids));
    expect(await countRows(s.app.knex, 'failed_jobs')).toBe(0);
    expect(events(s).filter((e) => e.status === 'success')).toHaveLength(JOBS);
    // Still the same two processes: none exited or was restarted along the way.
    expect((await workers(s)).map((p) => [p.state, p.pid])).toEqual(pids.map((pid) => ['RUNNING', pid]));
    expect(strayOutput(s)).toEqual([]);
  });

  it('restarts a worker the watchdog killed for a job that blocked its event loop; the job fails after its 2 tries', async () => {
    const s = await supervise('watchdog', ['--sleep=0.2', '--timeout=10', '--json']);
    const before = await bothRunning(s);

    await insertJobsForTest(s.app.knex, 'jobs', 1, () => ({
      name: 'SupervisedBlockingJob',
      command: { key: 'wedge' },
      maxTries: 2,
      timeout: 1,
    }));
    await waitUntil('the blocking job to start', async () => (await ledger(s)).some((r) => r.job_key === 'wedge'));
    // While one worker is wedged, the other keeps working.
    await insertJobsForTest(s.app.knex, 'jobs', 20, (i) => ({
      name: 'SupervisedQuickJob',
      command: { key: `during-${i}` },
    }));
    await waitUntil(
      'the blocking job to fail after its second attempt',
      async () => (await countRows(s.app.knex, 'failed_jobs')) === 1,
      45_000,
    );

    const wedged = (await ledger(s)).filter((r) => r.job_key === 'wedge');
    expect(wedged.map((r) => r.attempt)).toEqual([1, 2]);
    const killed = wedged.map((r) => r.pid);
    // The first attempt ran in one of the first two processes, the second in another process.
    expect(before).toContain(killed[0]);
    expect(new Set(killed).size).toBe(2);
    // Each attempt's process was ended and replaced: RUNNING again, under new pids.
    const after = await bothRunning(s, killed);
    for (const pid of killed) expect(alive(pid)).toBe(false);
    expect(after.filter((pid) => killed.includes(pid))).toEqual([]);
    const log = supervisordLog(s);
    expect(count(log, /exited: errand-worker_0\d \(terminated by SIGALRM; not expected\)/)).toBe(2);
    // The watchdog's two verdicts are all the workers printed besides their JSON lines.
    const verdicts = strayOutput(s);
    expect(verdicts).toHaveLength(2);
    expect(verdicts[0]).toMatch(
      /^\[errand\] watchdog: SupervisedBlockingJob #\d+ is [\d.]+ s past its timeout .*; SupervisedBlockingJob #\d+ released\. Ending worker process (\d+) \(SIGALRM/,
    );
    expect(verdicts[1]).toMatch(
      /^\[errand\] watchdog: SupervisedBlockingJob #\d+ is [\d.]+ s past its timeout .*; SupervisedBlockingJob #\d+ failed\. Ending worker process (\d+) \(SIGALRM/,
    );
    expect(verdicts.map((line) => Number(/Ending worker process (\d+)/.exec(line)![1]))).toEqual(killed);

    const [failed] = (await s.app.knex('failed_jobs').select('exception', 'payload')) as Array<{
      exception: string;
      payload: string;
    }>;
    expect(failed!.exception).toMatch(
      /^TimeoutExceededError: SupervisedBlockingJob has timed out: the watchdog ended worker process \d+ because/,
    );
    expect(failed!.exception).toContain(`worker process ${killed[1]} because`);
    expect((JSON.parse(failed!.payload) as { displayName: string }).displayName).toBe('SupervisedBlockingJob');
    await waitUntil('the other jobs to be done', async () => (await countRows(s.app.knex, 'jobs')) === 0, 30_000);
    const during = (await ledger(s)).filter((r) => r.job_key.startsWith('during-'));
    expect(new Set(during.map((r) => r.job_key)).size).toBe(20);
    expect(during).toHaveLength(20);

    // The restarted workers carry on with other jobs.
    await insertJobsForTest(s.app.knex, 'jobs', 20, (i) => ({
      name: 'SupervisedQuickJob',
      command: { key: `after-${i}` },
    }));
    await waitUntil('the quick jobs to be done', async () => (await countRows(s.app.knex, 'jobs')) === 0, 30_000);
    const quick = (await ledger(s)).filter((r) => r.job_key.startsWith('after-'));
    expect(new Set(quick.map((r) => r.job_key)).size).toBe(20);
    expect(quick).toHaveLength(20);
    expect(quick.every((r) => after.includes(r.pid))).toBe(true);
    expect(await countRows(s.app.knex, 'failed_jobs')).toBe(1);
  });

  it('errand queue:restart makes both workers exit after their in-flight jobs, and supervisord starts new ones', async () => {
    const s = await supervise('restart', ['--sleep=0.2', '--timeout=10', '--json']);
    const before = await bothRunning(s);

    // Held open until the test opens the gate, so they are certainly in flight when the restart lands.
    await insertJobsForTest(s.app.knex, 'jobs', 2, (i) => ({
      name: 'SupervisedSlowJob',
      command: { key: `slow-${i}`, ms: 0, gate: s.gate },
    }));
    await waitUntil(
      'each worker to have a slow job in flight',
      async () => (await ledger(s)).filter((r) => r.job_key.endsWith(':start')).length === 2,
    );
    const starts = (await ledger(s)).filter((r) => r.job_key.endsWith(':start'));
    expect(new Set(starts.map((r) => r.pid))).toEqual(new Set(before));

    const restart = await runCli(['queue:restart'], s.app.dir);
    expect(restart.stderr).toBe('');
    expect(restart.code).toBe(0);
    expect(restart.stdout).toContain('Broadcasting queue restart signal');

    // The workers poll the controls every second; well past that, they still wait for their jobs.
    await sleep(2500);
    expect((await workers(s)).map((p) => [p.state, p.pid])).toEqual(before.map((pid) => ['RUNNING', pid]));
    expect(events(s).filter((e) => e.status === 'worker_stopping')).toEqual([]);
    writeFileSync(s.gate, '');

    const after = await bothRunning(s, before);
    for (const pid of before) expect(alive(pid)).toBe(false);
    const stopping = events(s).filter((e) => e.status === 'worker_stopping');
    expect(stopping.map((e) => [e.reason, e.exit_status])).toEqual([
      ['restart_signal', 0],
      ['restart_signal', 0],
    ]);
    expect(count(supervisordLog(s), /exited: errand-worker_0\d \(exit status 0; expected\)/)).toBe(2);

    // The in-flight jobs finished in the workers that held them, once.
    const rows = await ledger(s);
    for (const key of ['slow-0', 'slow-1']) {
      const start = rows.filter((r) => r.job_key === `${key}:start`);
      const done = rows.filter((r) => r.job_key === key);
      expect(start).toHaveLength(1);
      expect(done).toHaveLength(1);
      expect(done[0]!.pid).toBe(start[0]!.pid);
    }
    expect(await countRows(s.app.knex, 'jobs')).toBe(0);
    expect(await countRows(s.app.knex, 'failed_jobs')).toBe(0);

    // The new workers work, and did not take the restart as theirs.
    await insertJobsForTest(s.app.knex, 'jobs', 20, (i) => ({
      name: 'SupervisedQuickJob',
      command: { key: `after-${i}` },
    }));
    await waitUntil('the quick jobs to be done', async () => (await countRows(s.app.knex, 'jobs')) === 0, 30_000);
    const quick = (await ledger(s)).filter((r) => r.job_key.startsWith('after-'));
    expect(quick).toHaveLength(20);
    expect(quick.every((r) => after.includes(r.pid))).toBe(true);
    expect((await workers(s)).map((p) => [p.state, p.pid])).toEqual(after.map((pid) => ['RUNNING', pid]));
    expect(strayOutput(s)).toEqual([]);
  });

  it('supervisorctl stop lets in-flight jobs finish, then the workers exit cleanly', async () => {
    const s = await supervise('stop', ['--sleep=0.2', '--timeout=10', '--json']);
    const pids = await bothRunning(s);

    // Four jobs held open until the test opens the gate: one in flight per worker, two waiting.
    await insertJobsForTest(s.app.knex, 'jobs', 4, (i) => ({
      name: 'SupervisedSlowJob',
      command: { key: `slow-${i}`, ms: 0, gate: s.gate },
    }));
    const starts = async () => (await ledger(s)).filter((r) => r.job_key.endsWith(':start'));
    await waitUntil(
      'each worker to have a slow job in flight',
      async () => new Set((await starts()).map((r) => r.pid)).size === 2,
    );
    const inFlight = (await starts()).map((r) => r.job_key.slice(0, -':start'.length));
    expect(inFlight).toHaveLength(2);

    const stopped = s.supervisord.ctl(['stop', `${PROGRAM}:*`]);
    await waitUntil(
      'both workers to be STOPPING',
      async () => (await workers(s)).filter((p) => p.state === 'STOPPING').length === 2,
    );
    // TERM has landed: the workers take nothing new and wait for the jobs they hold.
    await sleep(1500);
    expect((await workers(s)).map((p) => p.state)).toEqual(['STOPPING', 'STOPPING']);
    for (const pid of pids) expect(alive(pid)).toBe(true);
    writeFileSync(s.gate, '');

    const stop = await stopped;
    expect(stop.code).toBe(0);
    expect(count(stop.stdout, /: stopped/)).toBe(2);
    expect((await workers(s)).map((p) => p.state)).toEqual(['STOPPED', 'STOPPED']);
    for (const pid of pids) expect(alive(pid)).toBe(false);

    // The two in-flight jobs finished, each in the worker that held it, once; no other job started.
    const rows = await ledger(s);
    expect((await starts()).map((r) => r.job_key.slice(0, -':start'.length))).toEqual(inFlight);
    for (const start of await starts()) {
      const key = start.job_key.slice(0, -':start'.length);
      expect(rows.filter((r) => r.job_key === key).map((r) => r.pid)).toEqual([start.pid]);
    }
    // The other two are still queued, reserved by nobody and charged no attempt.
    const left = (await s.app.knex('jobs').select('attempts', 'reserved_at', 'reserved_by')) as Array<
      Record<string, unknown>
    >;
    expect(left.map((r) => [Number(r.attempts), r.reserved_at, r.reserved_by])).toEqual([
      [0, null, null],
      [0, null, null],
    ]);
    expect(await countRows(s.app.knex, 'failed_jobs')).toBe(0);

    const stopping = events(s).filter((e) => e.status === 'worker_stopping');
    expect(stopping.map((e) => [e.reason, e.exit_status])).toEqual([
      ['interrupted', 0],
      ['interrupted', 0],
    ]);
    expect(count(supervisordLog(s), /stopped: errand-worker_0\d \(exit status 0\)/)).toBe(2);
    expect(strayOutput(s)).toEqual([]);
  });
});
