import type { Knex } from 'knex';

import { dialect } from '../../src/drivers/database/dialect.js';
import type { DatabaseEngine } from './databases.js';
import { type CliProcess, startCli, type WorkerApp } from './worker-process.js';

/**
 * Every worker process a test file starts, so `afterEach`/`afterAll` can SIGKILL whatever is
 * still running (a failing test never leaves workers behind).
 */
export class Fleet {
  private readonly processes: CliProcess[] = [];

  start(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): CliProcess {
    const process = startCli(args, cwd, env);
    this.processes.push(process);
    return process;
  }

  /** SIGKILLs every process that has not exited yet (SIGCONT first, for stopped ones) and waits. */
  async killAll(): Promise<void> {
    const alive = this.processes.splice(0).filter((p) => p.child.exitCode === null && p.child.signalCode === null);
    for (const p of alive) {
      p.child.kill('SIGCONT');
      p.child.kill('SIGKILL');
    }
    await Promise.all(alive.map((p) => p.exited));
  }
}

/** One `queue:work --json` line. */
export interface JsonEvent {
  status: string;
  id?: string;
  job?: string;
  attempts?: number;
  worker?: string;
  message?: string;
  timestamp: string;
  [key: string]: unknown;
}

/** The complete JSON lines printed so far (a partial last line is left out). */
export function jsonEvents(stdout: string): JsonEvent[] {
  const complete = stdout.slice(0, stdout.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as JsonEvent);
}

/** The worker id (lease token) a `--json` worker announced. */
export function workerIdOf(stdout: string): string | undefined {
  return jsonEvents(stdout).find((e) => e.status === 'worker_starting')?.worker;
}

/** Polls `probe` until it returns something other than undefined/false; throws after `timeoutMs`. */
export async function waitUntil<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The app's worker environment with a bigger (or smaller) ledger pool. */
export function ledgerEnv(app: WorkerApp, poolMax: number): NodeJS.ProcessEnv {
  const config = JSON.parse(app.env.LEDGER_KNEX!) as Knex.Config;
  return { ...app.env, LEDGER_KNEX: JSON.stringify({ ...config, pool: { min: 0, max: poolMax } }) };
}

/** The database clock, in whole seconds (the unit of reserved_at and expires_at). */
export async function databaseNow(knex: Knex, engine: DatabaseEngine): Promise<number> {
  const rows = dialect.rows<{ now: number | string }>(
    engine,
    await knex.raw(`select ${dialect.nowSql(engine)} as now`),
  );
  return Number(rows[0]!.now);
}

/** Ledger rows as the test reads them. */
export interface LedgerRow {
  job_key: string;
  pid: number;
  attempt: number;
}

export async function ledgerRows(knex: Knex): Promise<LedgerRow[]> {
  const rows = (await knex('ledger').select('job_key', 'pid', 'attempt').orderBy('id')) as Array<{
    job_key: string;
    pid: number | string;
    attempt: number | string;
  }>;
  return rows.map((row) => ({ job_key: row.job_key, pid: Number(row.pid), attempt: Number(row.attempt) }));
}

/** Resolves with `promise`, or rejects naming `what` after `ms` (so a hung worker fails the test fast). */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
