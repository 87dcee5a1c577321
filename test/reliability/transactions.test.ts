import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { waitUntil } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp } from './harness/controller.js';
import { executions, failedRecords } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 18: transactions. Producer processes dispatch jobs inside transactions (half roll
// back) while a worker runs; then jobs whose handlers throw with a transaction open on the queue's
// own database must still reach failed_jobs (Laravel #33838, #49389).
const JOBS_FIXTURE = path.join(ROOT, 'test/reliability/fixtures/transaction-jobs.mjs');
const PRODUCER = path.join(ROOT, 'test/reliability/fixtures/transaction-producer.mjs');
/** Transactions in all (half commit, half roll back), split between two producer processes. */
const TRANSACTIONS = sized(400, 2_000);
/**
 * Each transaction waits up to this long between its dispatch and its end, while the worker polls.
 * SQLite has one writer and a busy handler that is not fair (a waiter sleeps in growing steps and
 * a busy process takes the lock again first): two producers each holding it up to 20 ms keep it
 * nearly always taken, and a third writer then waits past any busy timeout (3.7 s of 5 measured
 * with just two writers). That measures SQLite's lock, not errand; 5 ms leaves it free enough.
 */
const holdMs = (engine: string) => (engine === 'sqlite' ? 5 : 20);

interface Produced {
  key: string;
  mode: string;
  commits: boolean;
  sentAt: number;
  doneAt: number;
  /** JobQueued events seen by the time the commit (or rollback) returned. */
  queued: number;
}

const run = promisify(execFile);

const describeEachSql = databaseOnly(
  "dispatches in knex transactions on the jobs' database; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios",
);
await describeEachSql('reliability 18: transactions', (engine) => {
  let connection: DatabaseConnectionConfig;
  let app: WorkerApp;
  let controller: Controller | undefined;
  // SQLite runs one job at a time: see unique-jobs.test.ts (a handler's write on its own connection
  // beside an errand transaction open in the same process waits out the busy timeout).
  const slots = engine === 'sqlite' ? 1 : 4;

  beforeAll(async () => {
    connection = await freshDatabase(engine, 'rel_transactions');
    app = await createChaosApp(connection, {
      bootstrap: [JOBS_FIXTURE],
      overrides: { heartbeat: { interval: 1, lapse: 5 } },
    });
    await app.knex.schema.createTable('txn_orders', (t) => {
      t.integer('id').primary();
    });
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
  });

  it(`${TRANSACTIONS / 2} transactions that roll back and ${TRANSACTIONS / 2} that commit, with a worker running: no job of a rollback runs, none starts before its commit was sent`, async () => {
    controller = new Controller(app, ['queue:work', `--concurrency=${slots}`, '--sleep=0.05']);
    controller.start(1);
    const started = Date.now();
    const half = TRANSACTIONS / 2;
    const outputs = await Promise.all(
      [
        [0, half],
        [half, TRANSACTIONS],
      ].map(async ([from, to]) => {
        const spec = JSON.stringify({ connection, from, to, holdMs: holdMs(engine) });
        const { stdout, stderr } = await run(process.execPath, [PRODUCER, spec], {
          env: { ...process.env, ...app.env },
          maxBuffer: 64 * 1024 * 1024,
        });
        expect(stderr).toBe('');
        return JSON.parse(stdout) as Produced[];
      }),
    );
    const produced = outputs.flat();
    const committed = produced.filter((p) => p.commits);
    const rolledBack = produced.filter((p) => !p.commits);
    expect(committed).toHaveLength(half);
    expect(rolledBack).toHaveLength(half);
    expect(new Set(produced.map((p) => p.mode))).toEqual(new Set(['with', 'after-app', 'ambient', 'with-app']));

    await waitUntil(
      async () =>
        (await countRows(app.knex, 'ledger', (q) => q.whereNotNull('finished_at'))) >= half &&
        (await countRows(app.knex, 'jobs')) === 0,
      60_000,
      'the committed jobs to run',
    );
    // A last look for stragglers (a rolled-back job would be visible by now if it had been stored).
    await new Promise((resolve) => setTimeout(resolve, 500));
    const runs = await executions(app.knex);
    const byKey = new Map(runs.map((r) => [r.key, r]));

    // Nothing of a rolled-back transaction ever ran, is queued or failed.
    expect(runs.filter((r) => r.key.startsWith('r'))).toEqual([]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(await failedRecords(app.knex)).toEqual([]);
    expect(await countRows(app.knex, 'txn_orders')).toBe(half);
    // Each committed job ran exactly once, and not before its transaction's commit was sent.
    expect(runs).toHaveLength(half);
    expect(new Set(runs.map((r) => r.key)).size).toBe(half);
    const early = committed.filter((p) => byKey.get(p.key)!.startedAt < p.sentAt);
    expect(early).toEqual([]);
    // The commit returns only once its after-commit push is stored and announced (decision 0040),
    // on every path; a rollback announces nothing.
    expect(committed.filter((p) => p.queued !== 1)).toEqual([]);
    expect(rolledBack.filter((p) => p.queued !== 0)).toEqual([]);
    expect(controller.stderr()).toBe('');
    const lateness = committed.map((p) => byKey.get(p.key)!.startedAt - p.sentAt).sort((a, b) => a - b);
    recordResult({
      scenario: `18 transactions (p50 start ${lateness[Math.floor(lateness.length / 2)]} ms after commit)`,
      engine,
      jobs: TRANSACTIONS,
      executions: runs.length,
      duplicates: runs.length - new Set(runs.map((r) => r.key)).size,
      lost: committed.filter((p) => !byKey.has(p.key)).length,
      seconds: (Date.now() - started) / 1000,
    });
    await controller.stopAll();
  });

  it("a handler that throws (or times out) with a transaction open on the queue's own database still ends in failed_jobs, and nothing of its transaction survives (Laravel #33838, #49389)", async () => {
    await app.knex('ledger').delete();
    // 'leaked' and 'hung' keep their transaction open for good; on SQLite its write lock would keep
    // every other writer (the worker's failed_jobs insert included) out of the file, which no queue
    // can help: they run on the server engines only.
    const hows = engine === 'sqlite' ? ['scoped', 'errand-knex'] : ['scoped', 'errand-knex', 'leaked', 'hung'];
    await insertJobsForTest(app.knex, 'jobs', hows.length, (i) => ({
      name: 'TxnThrowJob',
      command: { key: `throw-${hows[i]}`, how: hows[i], order: 100_000 + i },
      maxTries: 1,
      timeout: 2,
    }));
    controller = new Controller(app, ['queue:work', `--concurrency=${slots}`, '--sleep=0.1']);
    const [worker] = controller.start(1);
    await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 30_000, 'the throwing jobs to end');
    const failed = await failedRecords(app.knex);
    expect(failed.map((f) => [f.key, f.reason]).sort()).toEqual(
      hows
        .map((how) => [
          `throw-${how}`,
          how === 'hung'
            ? expect.stringContaining('TimeoutExceededError')
            : `Error: throw-${how} throws inside its transaction`,
        ])
        .sort((a, b) => String(a[0]).localeCompare(String(b[0]))),
    );
    // Every handler ran once; none of their orders, and none of the jobs they dispatched after commit, exist.
    expect((await executions(app.knex)).map((r) => r.key).sort()).toEqual(hows.map((how) => `throw-${how}`).sort());
    expect(await countRows(app.knex, 'txn_orders', (q) => q.where('id', '>=', 100_000))).toBe(0);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    // The worker carries on: same process, and a job queued behind them runs.
    await insertJobsForTest(app.knex, 'jobs', 1, () => ({
      name: 'TxnJob',
      command: { key: 'after-throws' },
      maxTries: 1,
    }));
    await waitUntil(
      async () => (await executions(app.knex)).some((r) => r.key === 'after-throws' && r.finishedAt !== null),
      10_000,
      'the job behind them to run',
    );
    expect(controller.exits).toEqual([]);
    expect(controller.workers.map((w) => w.pid)).toEqual([worker!.pid]);
    expect(controller.stderr()).toBe('');
    recordResult({
      scenario: '18 transactions: handler throws in a transaction',
      engine,
      jobs: hows.length + 1,
      executions: (await executions(app.knex)).length,
      duplicates: 0,
      lost: 0,
      seconds: 0,
    });
    await controller.stopAll();
  });
});
