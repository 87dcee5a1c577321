import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { waitUntil, within } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp } from './harness/controller.js';
import { executions, failedRecords } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 17: unique jobs. The race is run by five producer processes at once; other dispatches
// go through errand's dist/ build in this process (fixtures/unique-producer.mjs either way); jobs
// run in `queue:work` processes, and every check reads the tables.
//
// The window after a SIGKILL: a unique lock (uniqueUntil 'done', no uniqueFor) belongs to the
// job's uuid, so it is not freed by the kill itself: the job is still queued, and a dispatch of
// its key is rightly refused. It is freed when the job ends for good on another worker: the dead
// worker's jobs become claimable once its heartbeat row lapses and a live worker's beat sweeps it
// (lapse + interval: 5 + 1 s here), then the attempt runs (or, past its tries, fails at once
// "attempted too many times") and its end releases the key. So: free within lapse + interval + the
// job's own run time (with heartbeats off: retryAfter + the sweep instead); a `uniqueFor`, when
// set, bounds it independently of any worker.
const UNIQUE_FIXTURE = path.join(ROOT, 'test/reliability/fixtures/unique-jobs.mjs');
const PRODUCER = path.join(ROOT, 'test/reliability/fixtures/unique-producer.mjs');
const HEARTBEAT = { interval: 1, lapse: 5 };
/** Producer processes racing for each key, and dispatches of each key per process (5 × 10 = 50). */
const PRODUCERS = 5;
const COPIES = 10;
const KEYS = sized(6, 40);
// SQLite workers run one job at a time. better-sqlite3 is synchronous: a handler's write on its own
// connection (the ledger's) that meets the write lock of an errand transaction open in the same
// process (a fail: delete + failed_jobs insert) blocks the event loop, so that transaction cannot
// commit, and the write fails "database is locked" after the 5 s busy timeout. Only one job at a
// time keeps the handlers' ledger writes apart from the worker's own transactions.

interface Dispatch {
  key: string;
  copies?: number;
  args?: { ms?: number; firstMs?: number; failUntil?: number; outlive?: boolean };
  options?: Record<string, unknown>;
  queue?: string;
  via?: 'plain' | 'with-own' | 'after-own' | 'with-app' | 'after-app';
  holdMs?: number;
  untilTaken?: number;
}
interface Produced {
  key: string;
  via: string;
  ids: Array<string | null>;
}

const run = promisify(execFile);

const describeEachSql = databaseOnly(
  'reads the locks table and dispatches in knex transactions; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 17: unique jobs', (engine) => {
  let connection: DatabaseConnectionConfig;
  let app: WorkerApp;
  let controller: Controller;
  const started = Date.now();
  let dispatched = 0;
  const slots = engine === 'sqlite' ? 1 : 4;

  /**
   * Runs dispatches through errand (dist/, as the worker processes run it); resolves to what each
   * resolved to. In a producer process of its own when `separate` (a race between processes),
   * else in this process (cheaper: a process costs a second of CPU).
   */
  async function produce(
    dispatches: Dispatch[],
    options: { startAt?: number; sequential?: boolean; separate?: boolean } = {},
  ): Promise<Produced[]> {
    const spec = { connection, dispatches, startAt: options.startAt, sequential: options.sequential };
    let produced: Produced[];
    if (options.separate) {
      const { stdout, stderr } = await run(process.execPath, [PRODUCER, JSON.stringify(spec)], {
        env: { ...process.env, ...app.env },
      });
      expect(stderr).toBe('');
      produced = JSON.parse(stdout) as Produced[];
    } else {
      const { produce: here } = (await import(PRODUCER)) as {
        produce: (s: typeof spec) => Promise<{ results: Produced[]; reported: string[] }>;
      };
      const { results, reported } = await here(spec);
      expect(reported).toEqual([]);
      produced = results;
    }
    dispatched += produced.reduce((n, p) => n + p.ids.length, 0);
    return produced;
  }

  /** The rows of the locks table (MySQL/MariaDB hand the binary key back as a Buffer). */
  async function locks(): Promise<Map<string, string>> {
    const rows = (await app.knex('locks').select('key', 'owner')) as Array<{ key: string | Buffer; owner: string }>;
    return new Map(rows.map((r) => [String(r.key).replace('errand:unique:UniqueChaosJob:', ''), r.owner]));
  }

  /** The uuid of each queued job, by its key. */
  async function queuedUuids(queue?: string): Promise<Map<string, string>> {
    const query = app.knex('jobs').select('payload');
    if (queue) query.where({ queue });
    const rows = (await query) as Array<{ payload: string }>;
    return new Map(
      rows.map((r) => {
        const payload = JSON.parse(r.payload) as { uuid: string; data: { command: { key: string } } };
        return [payload.data.command.key, payload.uuid];
      }),
    );
  }

  /** One worker that drains the queue and exits. */
  async function drain(args: string[] = []): Promise<void> {
    const [worker] = controller.start(1, [
      'queue:work',
      `--concurrency=${slots}`,
      '--sleep=0.1',
      '--stop-when-empty',
      ...args,
    ]);
    const exit = await within(worker!.exited, 60_000, 'the worker to drain the queue');
    expect({ ...exit, stderr: worker!.stderr() }).toEqual({ code: 0, signal: null, stderr: '' });
  }

  /**
   * Stops the running workers with SIGTERM (they deregister). A `--stop-when-empty` worker that
   * finds the queue empty while its monitor thread is still sweeping a SIGKILLed worker's row
   * stops that thread before it reported ready, and exits 1 ("The worker's monitor thread exited
   * (status 0) before it started"): so no drain follows a SIGKILL here.
   */
  async function stopWorkers(): Promise<void> {
    const workers = controller.workers;
    for (const worker of workers) controller.signal(worker, 'SIGTERM');
    expect(await within(Promise.all(workers.map((w) => w.exited)), 30_000, 'the workers to stop')).toEqual(
      workers.map(() => ({ code: 0, signal: null })),
    );
  }

  beforeAll(async () => {
    connection = await freshDatabase(engine, 'rel_unique_jobs');
    app = await createChaosApp(connection, { bootstrap: [UNIQUE_FIXTURE], overrides: { heartbeat: HEARTBEAT } });
  });
  beforeEach(() => {
    controller = new Controller(app, ['queue:work', `--concurrency=${slots}`, '--sleep=0.1']);
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
  });

  it(`of ${PRODUCERS} processes × ${COPIES} concurrent dispatches of each of ${KEYS} keys, exactly one per key is queued; each key is free again after the job succeeded or failed for good`, async () => {
    const keys = Array.from({ length: KEYS }, (_, i) => `race${i}`);
    // Odd keys fail both their tries; even keys succeed.
    const dispatches = keys.map((key, i) => ({ key, copies: COPIES, args: { failUntil: i % 2 === 1 ? 99 : 0 } }));
    const startAt = Date.now() + 2_000;
    const produced = (
      await Promise.all(Array.from({ length: PRODUCERS }, () => produce(dispatches, { startAt, separate: true })))
    ).flat();

    const queued = await queuedUuids();
    const held = await locks();
    for (const key of keys) {
      const ids = produced.filter((p) => p.key === key).flatMap((p) => p.ids);
      expect(ids).toHaveLength(PRODUCERS * COPIES);
      expect(ids.filter((id) => id !== null)).toHaveLength(1);
      // The one lock is owned by the one queued job.
      expect(held.get(key)).toBe(queued.get(key));
    }
    expect(await countRows(app.knex, 'jobs')).toBe(KEYS);
    expect(held.size).toBe(KEYS);

    await drain();
    const runs = await executions(app.knex);
    const failed = await failedRecords(app.knex);
    expect(
      runs
        .filter((r) => r.key.startsWith('race') && r.finishedAt !== null)
        .map((r) => r.key)
        .sort(),
    ).toEqual(keys.filter((_, i) => i % 2 === 0).sort());
    expect(failed.map((f) => f.key).sort()).toEqual(keys.filter((_, i) => i % 2 === 1).sort());
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    // Free after success and after the final failure: no lock left, and a new dispatch is queued.
    expect(await locks()).toEqual(new Map());
    const again = await produce(keys.map((key) => ({ key })));
    expect(again.filter((p) => p.ids[0] === null)).toEqual([]);
    await drain();
    expect(await locks()).toEqual(new Map());
    recordResult({
      scenario: '17 unique: 50 racing dispatches',
      engine,
      jobs: KEYS * 2,
      executions: (await executions(app.knex)).length,
      duplicates: 0,
      lost: 0,
      seconds: (Date.now() - startAt) / 1000,
    });
  });

  it('a key dispatched in a transaction that rolls back is free again (lock taken inside the transaction or beside it)', async () => {
    const vias = ['with-own', 'after-own', 'with-app', 'after-app'] as const;
    const rolledBack = await produce(
      vias.map((via) => ({ key: `rb-${via}`, via, holdMs: 200 })),
      { sequential: true },
    );
    expect(rolledBack.map((p) => p.via)).toEqual([...vias]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    // A lock taken beside the transaction is released once knex reports the rollback; the producer
    // shut errand down right after its last rollback, and shutdown() waited for those releases.
    expect(await locks()).toEqual(new Map());
    const again = await produce(vias.map((via) => ({ key: `rb-${via}` })));
    expect(again.map((p) => [p.key, p.ids[0] === null])).toEqual(vias.map((via) => [`rb-${via}`, false]));
    await drain();
    expect(await locks()).toEqual(new Map());
  });

  it("a SIGKILLed worker's unique jobs keep their key while queued, and free it once another worker ends them (within lapse + interval + run time)", async () => {
    // killed1: retried on attempt 2 and succeeds; killed2: one try, so it fails "attempted too many times".
    await produce([
      { key: 'killed1', args: { firstMs: 120_000 } },
      { key: 'killed2', args: { firstMs: 120_000 }, options: { tries: 1 } },
    ]);
    const [victim] = controller.start(1, ['queue:work', '--concurrency=2', '--sleep=0.1']);
    await waitUntil(
      async () => (await executions(app.knex)).filter((r) => r.key.startsWith('killed')).length === 2,
      20_000,
      'both jobs to start',
    );
    const uuids = await queuedUuids();
    controller.signal(victim!, 'SIGKILL');
    await victim!.exited;
    const killedAt = Date.now();
    const survivor = controller.start(1)[0]!;
    // Still the jobs' own: a dispatch of either key is refused while they are queued.
    expect(await locks()).toEqual(
      new Map([
        ['killed1', uuids.get('killed1')],
        ['killed2', uuids.get('killed2')],
      ]),
    );
    const refused = await produce([{ key: 'killed1' }, { key: 'killed2' }]);
    expect(refused.map((p) => p.ids[0])).toEqual([null, null]);

    const windowMs = (HEARTBEAT.lapse + HEARTBEAT.interval + 10) * 1000;
    await waitUntil(async () => (await locks()).size === 0, windowMs, "the killed jobs' keys to be free", 100);
    const freedAfterMs = Date.now() - killedAt;
    const runs = (await executions(app.knex)).filter((r) => r.key.startsWith('killed'));
    expect(runs.filter((r) => r.key === 'killed1').map((r) => [r.attempt, r.worker, r.finishedAt !== null])).toEqual([
      [1, victim!.pid, false],
      [2, survivor.pid, true],
    ]);
    expect(runs.filter((r) => r.key === 'killed2').map((r) => r.attempt)).toEqual([1]);
    const failed = (await failedRecords(app.knex)).filter((f) => f.key === 'killed2');
    expect(failed.map((f) => f.reason)).toEqual([expect.stringContaining('attempted too many times')]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    expect(controller.stderr()).toBe('');
    const again = await produce([{ key: 'killed1' }, { key: 'killed2' }]);
    expect(again.map((p) => p.ids[0] === null)).toEqual([false, false]);
    recordResult({
      scenario: '17 unique: key free after SIGKILL (time = kill to free)',
      engine,
      jobs: 2,
      executions: runs.length,
      duplicates: 0,
      lost: 0,
      restarts: 1,
      seconds: freedAfterMs / 1000,
    });
    // The survivor runs these too, and frees their keys.
    await waitUntil(
      async () => (await locks()).size === 0 && (await countRows(app.knex, 'jobs')) === 0,
      20_000,
      'the new jobs to run',
    );
    await stopWorkers();
  });

  it("a job whose lock expired and was taken by a newer dispatch never releases it: not on a retry's success, its final failure, or a late finish (Laravel #59567)", async () => {
    // uniqueFor 1: each lock expires 1–2 s after its dispatch while its job is still around.
    // retried and retry-failed fail their first attempt and wait out a 60 s backoff (cut short
    // below, once the newer dispatch holds the key); late runs until its key has been taken over.
    const expiring = { uniqueFor: 1, tries: 2, backoff: 60 };
    const keys = ['retried', 'retry-failed', 'late'];
    await produce([
      { key: 'retried', args: { failUntil: 1 }, options: expiring },
      { key: 'retry-failed', args: { failUntil: 99 }, options: expiring },
      { key: 'late', args: { outlive: true }, options: expiring },
    ]);
    const firstOwners = await queuedUuids();
    controller.start(1, ['queue:work', '--concurrency=3', '--sleep=0.1']);
    const runsOf = async (key: string) => (await executions(app.knex)).filter((r) => r.key === key);
    const released = async () =>
      (await countRows(app.knex, 'jobs', (q) =>
        q.where({ queue: 'default', attempts: 1 }).whereNull('reserved_at'),
      )) === 2;
    await waitUntil(
      async () => (await runsOf('late')).length === 1 && (await released()),
      20_000,
      'the first attempts to fail and late to start',
    );

    // Newer dispatches (on a queue nobody works yet, so they stay queued) take the expired keys.
    const newer = await produce(keys.map((key) => ({ key, queue: 'parked', untilTaken: 10_000 })));
    expect(newer.map((p) => p.ids[0] === null)).toEqual([false, false, false]);
    const takenAt = Date.now();
    const parked = await queuedUuids('parked');
    for (const key of keys) expect(parked.get(key)).not.toBe(firstOwners.get(key));
    // late ends first (SQLite: never beside the retries' fail transaction, see above); then the retries run.
    await waitUntil(
      async () => (await runsOf('late')).some((r) => r.finishedAt !== null),
      35_000,
      'late to see its key taken over',
    );
    await app.knex('jobs').where({ queue: 'default' }).whereNull('reserved_at').update({ available_at: 0 });
    await waitUntil(
      async () => (await countRows(app.knex, 'jobs', (q) => q.where({ queue: 'default' }))) === 0,
      20_000,
      'the first jobs to end',
    );

    // Each first job ended after the newer dispatch held its key (else this test proved nothing):
    // the retries were made available only then, and late waits (up to 30 s) for the takeover.
    expect(
      (await runsOf('late')).map((r) => [r.attempt, r.finishedAt !== null && r.finishedAt - r.startedAt < 29_000]),
    ).toEqual([[1, true]]);
    expect((await runsOf('retried')).map((r) => [r.attempt, r.finishedAt !== null])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect((await runsOf('retry-failed')).map((r) => [r.attempt, r.startedAt >= takenAt])).toEqual([
      [1, false],
      [2, true],
    ]);
    expect((await failedRecords(app.knex)).filter((f) => f.key === 'retry-failed').map((f) => f.reason)).toEqual([
      'Error: retry-failed fails attempt 2',
    ]);
    // The newer jobs' locks are untouched, and still refuse a third dispatch.
    expect(await locks()).toEqual(parked);
    const third = await produce(keys.map((key) => ({ key })));
    expect(third.map((p) => p.ids[0])).toEqual([null, null, null]);
    await stopWorkers();
    await drain(['--queue=parked']);
    expect(await locks()).toEqual(new Map());
    expect(controller.stderr()).toBe('');
  });

  it('leaves zero keys in the locks table and zero rows in jobs after the run', async () => {
    expect(await countRows(app.knex, 'locks')).toBe(0);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
    recordResult({
      scenario: '17 unique: whole file',
      engine,
      jobs: dispatched,
      executions: (await executions(app.knex)).length,
      duplicates: 0,
      lost: 0,
      seconds: (Date.now() - started) / 1000,
    });
  });
});
