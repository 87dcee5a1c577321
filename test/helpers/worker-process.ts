import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import knexFactory, { type Knex } from 'knex';

import type { DatabaseConnectionConfig, ErrandConfig } from '../../src/config/config-types.js';
import { resolveConfig } from '../../src/config/resolve-config.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { QueueManager } from '../../src/runtime/queue-manager.js';
import { redisWorkerCount, type TestStore } from './databases.js';
import { CLI, runCli } from './run-cli.js';

/** A running `errand queue:work` (or any CLI command) process. */
export interface CliProcess {
  child: ChildProcess;
  pid: number;
  /** Everything printed so far. */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once stdout+stderr match, rejects after `timeoutMs` with what was printed. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

/** Starts the built CLI without waiting for it, so a test can signal it while it works. */
export function startCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): CliProcess {
  const child = spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', QUEUE_CONNECTION: '', ...env },
  });
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  const poke = () => waiters.forEach((w) => w());
  child.stdout!.on('data', (d) => ((out += d), poke()));
  child.stderr!.on('data', (d) => ((err += d), poke()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => {
      poke();
      resolve({ code, signal });
    }),
  );
  let done = false;
  void exited.then(() => (done = true));
  return {
    child,
    pid: child.pid!,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 20_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(out + err)) {
            cleanup();
            resolve();
          } else if (done) {
            cleanup();
            reject(new Error(`process exited before printing ${pattern}:\n${out}\n${err}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${pattern}:\n${out}\n${err}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/**
 * A temporary app: a config file for its connections, migrated, plus a ledger table jobs write to
 * in its `database` connection (on Redis, the SQLite database beside it; see TestStore).
 */
export interface WorkerApp {
  dir: string;
  /** The `database` connection's database: the ledger, failed jobs, batches (and, on SQL engines, the jobs). */
  knex: Knex;
  /** Environment for worker processes (the ledger's knex config). */
  env: NodeJS.ProcessEnv;
  close(): Promise<void>;
}

/** A WorkerApp of createWorkerApp, which also reaches its jobs on any engine. */
export interface StoreApp extends WorkerApp {
  /** The default connection's queue, opened in this process as errand opens it (on first use). */
  queue(): WorkerQueue;
  /** Jobs of `queue` not yet finished (pending, delayed and reserved). */
  jobCount(queue?: string): Promise<number>;
  /** Workers registered on the default connection (a clean exit deregisters). */
  workerCount(): Promise<number>;
}

/**
 * Writes `errand.config.mjs` (the connections, plus `bootstrap` modules and `overrides` of the
 * default connection's options), runs `errand migrate`, and creates a `ledger(job_key, pid,
 * attempt)` table on the `database` connection. `store` is a TestStore, or for a SQL-only suite
 * the one database connection.
 */
export async function createWorkerApp(
  store: TestStore | DatabaseConnectionConfig,
  options: {
    bootstrap: string[];
    /** Options of the default connection (where jobs queue): heartbeat, retryAfter … */
    overrides?: Partial<DatabaseConnectionConfig>;
    prefix?: string;
    /** More top-level config keys (`batching` …), and `connections` besides `database` on the same database. */
    config?: { connections?: Record<string, Partial<DatabaseConnectionConfig>>; [key: string]: unknown };
  },
): Promise<StoreApp> {
  const {
    default: defaultName,
    database,
    redis,
  } = 'engine' in store ? store : { default: 'database' as const, database: store, redis: undefined };
  const dir = mkdtempSync(path.join(os.tmpdir(), options.prefix ?? 'errand-worker-'));
  const { connections: more = {}, ...rest } = options.config ?? {};
  const others = Object.fromEntries(Object.entries(more).map(([name, extra]) => [name, { ...database, ...extra }]));
  const own: Record<string, object> = redis ? { database, redis } : { database };
  own[defaultName] = { ...own[defaultName], ...options.overrides };
  const config = {
    default: defaultName,
    connections: { ...own, ...others },
    bootstrap: options.bootstrap,
    ...rest,
  };
  writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
  const migrated = await runCli(['migrate'], dir);
  if (migrated.code !== 0) throw new Error(`errand migrate failed:\n${migrated.stdout}\n${migrated.stderr}`);
  const knexConfig: Knex.Config = {
    client: database.client!,
    connection: database.connection as Knex.StaticConnectionConfig,
    useNullAsDefault: true,
    pool: { min: 0, max: 4 },
  };
  const knex = knexFactory(knexConfig);
  await knex.schema.createTable('ledger', (t) => {
    t.increments('id');
    t.string('job_key', 64).notNullable();
    t.integer('pid').notNullable();
    t.integer('attempt').notNullable().defaultTo(0);
  });
  let queues: QueueManager | undefined;
  const queue = () => {
    queues ??= new QueueManager(
      resolveConfig(config as ErrandConfig, { baseDir: dir, env: { ...process.env, QUEUE_CONNECTION: '' } }),
      () => {
        throw new Error('A test app never runs jobs in the test process.');
      },
    );
    return queues.worker();
  };
  return {
    dir,
    knex,
    env: { LEDGER_KNEX: JSON.stringify({ ...knexConfig, pool: { min: 0, max: 2 } }) },
    queue,
    jobCount: (name = 'default') => queue().size(name),
    workerCount: () => (redis ? redisWorkerCount(redis) : countRows(knex, database.workersTable ?? 'queue_workers')),
    async close() {
      await queues?.closeAll();
      await knex.destroy();
    },
  };
}

/** How many times each job key appears in the ledger. */
export async function ledgerCounts(knex: Knex): Promise<Map<string, number>> {
  const rows = (await knex('ledger').select('job_key')) as Array<{ job_key: string }>;
  const counts = new Map<string, number>();
  for (const row of rows) counts.set(row.job_key, (counts.get(row.job_key) ?? 0) + 1);
  return counts;
}

/** A count(*) as a number whatever the driver returns. */
export async function countRows(knex: Knex, table: string, where?: (q: Knex.QueryBuilder) => void): Promise<number> {
  const query = knex(table).count({ n: '*' });
  if (where) where(query);
  const [row] = (await query) as Array<{ n: number | string }>;
  return Number(row!.n);
}
