import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { sweepDeadWorkers } from '../../src/drivers/database/queries/workers.js';
import { waitUntil, within } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp } from './harness/controller.js';
import { FaultProxy, type ResetRule } from './harness/fault-proxy.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 11: failure on the finishing write. The worker reaches its database through the fault
// proxy, which resets the connection on about one in ten of the statements that finish a job:
// the delete of a finished job, and the failed_jobs insert (with the delete in its transaction)
// of a failed one. Half the resets come before the server sees the statement, half after it ran
// and before its answer gets back (a committed delete whose reply is lost, or a transaction cut
// off before its COMMIT). Both paths retry with back-off (the finisher's batched deletes, and
// retryWhileUnreachable for failures and releases), holding the job's lease meanwhile, so no job
// is lost, none runs twice, and the worker never crashes.
//
// The statements are recognised by their text in the client's bytes (`insert ignore into` on
// MySQL, where knex writes onConflict().ignore() so): knex sends both drivers'
// statements as text (mysql2's query protocol with the values inlined; pg's extended protocol
// with an unnamed statement, parsed again each time), so every execution carries it.
const JOBS = sized(300, 1_000);
/** One job in four throws (one try): its end is the failed_jobs insert. */
const THROWS_EVERY = 4;
/** Each of the two rules per statement resets with this chance: together ≈ 10 %. */
const HALF_RATE = 0.05;

const describeEachSql = databaseOnly(
  'fails the SQL finishing writes; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 11: failure on the finishing write', (engine) => {
  if (engine === 'sqlite')
    return it('has no connection to reset on SQLite (a file, not a socket)', () => expect(engine).toBe('sqlite'));
  let app: WorkerApp;
  let proxy: FaultProxy;
  let controller: Controller | undefined;
  let presumed: Controller | undefined;

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'rel_finishing_faults');
    app = await createChaosApp(connection, { overrides: { heartbeat: { interval: 1, lapse: 5 }, queryTimeout: 10 } });
    const target = new URL(connection.connection as string);
    proxy = new FaultProxy({ host: target.hostname, port: Number(target.port || (engine === 'mysql' ? 3306 : 5432)) });
    await proxy.start();
    // errand's own connections (main thread and monitor thread) go through the proxy; the
    // ledger, the test's instrument, connects directly.
    const file = path.join(app.dir, 'errand.config.mjs');
    const config = JSON.parse(
      readFileSync(file, 'utf8')
        .replace(/^export default /, '')
        .replace(/;\s*$/, ''),
    ) as {
      connections: { database: { connection: string } };
    };
    target.host = `127.0.0.1:${proxy.port}`;
    config.connections.database.connection = target.toString();
    writeFileSync(file, `export default ${JSON.stringify(config)};\n`);
  });
  afterAll(async () => {
    await controller?.stopAll();
    await presumed?.stopAll();
    await proxy?.stop();
    await app?.close();
  });

  it(`loses no job and runs none twice when ≈10 % of ${JOBS} finishing writes meet a connection reset`, async () => {
    await insertJobsForTest(app.knex, 'jobs', JOBS, (i) =>
      i % THROWS_EVERY === 0
        ? { name: 'ThrowingChaosJob', command: { key: `k${i}` }, maxTries: 1 }
        : { name: 'ChaosJob', command: { key: `k${i}`, ms: 5 }, maxTries: 3 },
    );
    const deletes = /delete from [`"]jobs[`"]/i;
    const inserts = /insert (ignore )?into [`"]failed_jobs[`"]/i;
    const rules: ResetRule[] = [
      proxy.resetOn(deletes, HALF_RATE),
      proxy.resetOn(deletes, HALF_RATE, { after: true }),
      proxy.resetOn(inserts, HALF_RATE),
      proxy.resetOn(inserts, HALF_RATE, { after: true }),
    ];
    const started = Date.now();
    controller = new Controller(app, ['queue:work', '--concurrency=4', '--sleep=0.1', '--stop-when-empty']);
    const [worker] = controller.start(1);
    const exit = await within(worker!.exited, sized(120_000, 600_000), 'the worker to drain the queue');
    rules.forEach((rule) => rule.remove());

    const runs = await executions(app.knex);
    const failed = await failedRecords(app.knex);
    const keys = Array.from({ length: JOBS }, (_, i) => `k${i}`);
    const summary = summarise(keys, runs, failed);
    const sum = (which: ResetRule[]) => which.reduce((n, rule) => n + rule.resets, 0);
    const resets = sum(rules);
    recordResult({
      scenario: `11 finishing faults (${resets} resets)`,
      engine,
      jobs: JOBS,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      seconds: (Date.now() - started) / 1000,
    });

    // The faults happened, on both statements, both before and after the server ran them (each
    // of these sums is zero by chance with odds below 1 in 1,000 at the CI size).
    expect(sum(rules.filter((rule) => rule.pattern === deletes)), 'resets on the delete').toBeGreaterThan(0);
    expect(sum(rules.filter((rule) => rule.pattern === inserts)), 'resets on the failed_jobs insert').toBeGreaterThan(
      0,
    );
    expect(sum(rules.filter((rule) => !rule.after)), 'resets before the server ran the statement').toBeGreaterThan(0);
    expect(sum(rules.filter((rule) => rule.after)), 'resets after it ran').toBeGreaterThan(0);
    // One process from start to end, and it ended by itself, cleanly.
    expect(exit).toEqual({ code: 0, signal: null });
    expect(controller.exits.map((e) => e.pid)).toEqual([worker!.pid]);
    expect(worker!.stderr()).not.toMatch(/Unhandled|uncaught|TypeError|ReferenceError/i);

    // Nothing lost, nothing left behind.
    expect(summary.lost).toEqual([]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    const throwing = keys.filter((_, i) => i % THROWS_EVERY === 0);
    expect(failed.map((f) => f.key).sort()).toEqual([...throwing].sort());
    // Each failure recorded with its own reason: the insert was retried, not left to a lapsed
    // lease and a second claim that would record "attempted too many times" instead.
    expect(failed.filter((f) => !f.reason.includes('went out of range'))).toEqual([]);
    // At most once more per job (the plan's bound); the retries hold the lease, so in fact never.
    const perKey = new Map<string, number>();
    for (const run of runs) perKey.set(run.key, (perKey.get(run.key) ?? 0) + 1);
    expect([...perKey.values()].filter((n) => n > 2)).toEqual([]);
    expect(summary.duplicates).toEqual([]);
    expect([...perKey.entries()].filter(([, n]) => n > 1)).toEqual([]);
    expect(summary.overlaps).toEqual([]);
  });
  // The lease rules at the finishing write: a worker keeps trying the delete of a job it finished
  // while the database refuses it, but only while the job's lease lives. Here every job delete is
  // reset (the heartbeats get through), and the worker is presumed dead by a sweep meanwhile:
  // once its heartbeat finds its row gone, the delete is tried once more and the job reported
  // lost (another worker's now), instead of being tried for as long as the database refuses it.
  it('stops retrying a finished job’s delete once its heartbeat finds the worker presumed dead, and reports the job lost', async () => {
    const rule = proxy.resetOn(/delete from [`"]jobs[`"]/i, 1);
    try {
      await insertJobsForTest(app.knex, 'jobs', 1, () => ({
        name: 'ChaosJob',
        command: { key: 'presumed', ms: 0 },
        maxTries: 5,
      }));
      presumed = new Controller(app, ['queue:work', '--concurrency=1', '--sleep=0.1']);
      const [worker] = presumed.start(1);
      await waitUntil(
        async () => (await executions(app.knex)).some((run) => run.key === 'presumed' && run.finishedAt !== null),
        30_000,
        'the job to finish',
      );
      // Its delete is being retried: the lease lives, so the worker keeps at it.
      await waitUntil(() => rule.resets >= 3, 30_000, 'the delete to be tried again');
      const row = (await app.knex('queue_workers').where({ pid: worker!.pid }).first('id')) as { id: string };
      // Presumed dead: its row lapses and a sweep takes its job back (again if a beat got in between).
      await waitUntil(
        async () => {
          await app.knex('queue_workers').where({ id: row.id }).update({ expires_at: 1000 });
          return (
            await sweepDeadWorkers(app.knex, engine, { jobs: 'jobs', workers: 'queue_workers' })
          ).workers.includes(row.id);
        },
        30_000,
        'the sweep to take the worker’s job back',
      );
      await worker!.waitFor(/presumed dead/, 30_000);
      await worker!.waitFor(/the lease was lost/, 30_000);
      rule.remove();
      // It registered again and carries on: the job, claimed anew, runs and its delete lands.
      await waitUntil(async () => (await countRows(app.knex, 'jobs')) === 0, 30_000, 'the job to be done');
      presumed.signal(worker!, 'SIGTERM');
      expect(await within(worker!.exited, 30_000, 'the worker to stop')).toEqual({ code: 0, signal: null });
      expect((await executions(app.knex)).filter((run) => run.key === 'presumed').map((run) => run.attempt)).toEqual([
        1, 2,
      ]);
    } finally {
      rule.remove();
    }
  });
});
