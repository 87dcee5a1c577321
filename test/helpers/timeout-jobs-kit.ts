// Helpers of the daemon timeout / controls / connection-loss tests, around the job module
// test/fixtures/workers/timeout-jobs.mjs.

import { spawn } from 'node:child_process';
import path from 'node:path';

import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { type DatabaseEngine, freshDatabase } from './databases.js';
import { ROOT } from './run-cli.js';
import { type CliProcess, createWorkerApp, startCli, type WorkerApp } from './worker-process.js';

/** The job module (for `bootstrap`) and the script that dispatches its jobs. */
export const TIMEOUT_JOBS = path.join(ROOT, 'test/fixtures/workers/timeout-jobs.mjs');
const DISPATCH = path.join(ROOT, 'test/fixtures/workers/dispatch-timeout-jobs.mjs');

/** One job to dispatch through the public API (its @Job options land in the payload). */
export interface DispatchSpec {
  job:
    | 'HangingJob'
    | 'BlockingJob'
    | 'BlockingOnceJob'
    | 'DeafBlockingJob'
    | 'SlowJob'
    | 'LongJob'
    | 'QuickJob'
    | 'ThrowingJob';
  args?: unknown[];
  queue?: string;
}

/** Dispatches jobs from a separate process booted from the app's config; resolves to their ids. */
export function dispatchJobs(app: WorkerApp, specs: DispatchSpec[], env: NodeJS.ProcessEnv = {}): Promise<string[]> {
  return runDispatch(app, [JSON.stringify(specs)], env);
}

/** Dispatches jobs as one batch (`allowFailures()`), as dispatchJobs does; resolves to the batch's id. */
export async function dispatchBatch(app: WorkerApp, specs: DispatchSpec[]): Promise<string> {
  return (await runDispatch(app, [JSON.stringify(specs), '--batch'], {}))[0]!;
}

function runDispatch(app: WorkerApp, args: string[], env: NodeJS.ProcessEnv): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DISPATCH, ...args], {
      cwd: app.dir,
      env: { ...process.env, QUEUE_CONNECTION: '', ...app.env, ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) reject(new Error(`dispatch-timeout-jobs.mjs exited with ${code}:\n${out}\n${err}`));
      else resolve(JSON.parse(out) as string[]);
    });
  });
}

/** Every non-empty line of `text` parsed as JSON; throws naming the first line that is not JSON. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line: ${line}`);
      }
    });
}

/** The worker id a `--json` worker announced in its worker_starting line. */
export function workerIdOf(proc: CliProcess): string {
  const starting = jsonLines(proc.stdout()).find((line) => line.status === 'worker_starting');
  if (!starting) throw new Error(`no worker_starting line:\n${proc.stdout()}\n${proc.stderr()}`);
  return starting.worker as string;
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` until it returns true; rejects after `timeoutMs` naming `what`, with `detail()`. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 20_000,
  detail: () => string = () => '',
): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${detail()}`);
    await sleep(100);
  }
}

/** Resolves with `promise`, or rejects naming `what` after `ms`. */
export async function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error(`not within ${ms} ms: ${what()}`)), ms)),
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Starts CLI processes and remembers them, so `killAll()` leaves nothing running whatever a test did. */
export class ProcessPool {
  private readonly live = new Set<CliProcess>();

  start(args: string[], app: WorkerApp, env: NodeJS.ProcessEnv = {}): CliProcess {
    const proc = startCli(args, app.dir, { ...app.env, ...env });
    this.live.add(proc);
    void proc.exited.then(() => this.live.delete(proc));
    return proc;
  }

  async killAll(): Promise<void> {
    const procs = [...this.live];
    for (const proc of procs) {
      proc.child.kill('SIGCONT');
      proc.child.kill('SIGKILL');
    }
    await Promise.all(procs.map((proc) => proc.exited));
  }
}

/**
 * The hooks of a describe block over these jobs: in beforeAll, a fresh database `database` and a
 * worker app bootstrapping TIMEOUT_JOBS with the connection `overrides` (or what they resolve to,
 * given the connection), handed to `use`; the tables emptied before each test; every process the
 * returned pool started killed after each test, and at the end before the app closes.
 */
export function timeoutJobsSuite(
  engine: DatabaseEngine,
  database: string,
  overrides:
    | Partial<DatabaseConnectionConfig>
    | ((connection: DatabaseConnectionConfig) => Promise<Partial<DatabaseConnectionConfig>>),
  use: (app: WorkerApp) => void,
): ProcessPool {
  const pool = new ProcessPool();
  let app: WorkerApp | undefined;
  beforeAll(async () => {
    const connection = await freshDatabase(engine, database);
    app = await createWorkerApp(connection, {
      bootstrap: [TIMEOUT_JOBS],
      overrides: typeof overrides === 'function' ? await overrides(connection) : overrides,
      prefix: `errand-${database.replaceAll('_', '-')}-`,
    });
    use(app);
  });
  beforeEach(() => clearTables(app!.knex));
  afterEach(() => pool.killAll());
  afterAll(async () => {
    await pool.killAll();
    await app?.close();
  });
  return pool;
}

/** Whether a process is still running (its exit has not been seen). */
export async function isRunning(proc: CliProcess): Promise<boolean> {
  return !(await Promise.race([proc.exited.then(() => true), sleep(0).then(() => false)]));
}

/** Ledger rows of one key, oldest first. */
export async function ledgerOf(knex: Knex, key: string): Promise<Array<{ pid: number; attempt: number }>> {
  const rows = (await knex('ledger').where('job_key', key).orderBy('id').select('pid', 'attempt')) as Array<{
    pid: number | string;
    attempt: number | string;
  }>;
  return rows.map((row) => ({ pid: Number(row.pid), attempt: Number(row.attempt) }));
}

/** A jobs row with its numbers as numbers (drivers differ), or undefined when it is gone. */
export async function jobRow(
  knex: Knex,
  id: string,
): Promise<
  | {
      attempts: number;
      exceptions: number;
      reserved_by: string | null;
      reserved_at: number | null;
      available_at: number;
    }
  | undefined
> {
  const row = (await knex('jobs').where({ id }).first()) as Record<string, unknown> | undefined;
  if (!row) return undefined;
  return {
    attempts: Number(row.attempts),
    exceptions: Number(row.exceptions),
    reserved_by: (row.reserved_by as string | null) ?? null,
    reserved_at: row.reserved_at === null ? null : Number(row.reserved_at),
    available_at: Number(row.available_at),
  };
}

/** Empties the tables these tests write to, between tests. */
export async function clearTables(knex: Knex): Promise<void> {
  for (const table of ['jobs', 'failed_jobs', 'ledger', 'queue_workers', 'queue_controls']) await knex(table).delete();
}

/** The database clock in unix seconds (job times are written from it). */
export async function dbNow(knex: Knex, engine: DatabaseEngine): Promise<number> {
  const sql = {
    sqlite: "cast(strftime('%s','now') as integer)",
    mysql: 'unix_timestamp()',
    postgres: 'floor(extract(epoch from now()))',
  }[engine];
  const rows = (await knex.select(knex.raw(`${sql} as now`))) as Array<{ now: number | string }>;
  return Number(rows[0]!.now);
}
