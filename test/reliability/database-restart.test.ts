import knexFactory, { type Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitUntil, within } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp } from './harness/controller.js';
import { PrivateServer, privateServerUnavailable, type StopMode } from './harness/database-server.js';
import { createLedger, type Execution, executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 9: the database server restarts under load. 16 claimers (2 processes × 8 slots) work
// through short jobs on a server of their own (harness/database-server.ts: the shared servers
// other files use are never stopped); mid-run it is shut down, kept down, and started again.
//
// The ledger lives on the shared server, not on the one that restarts: it is the instrument,
// not the system under test. Kept on the restarting server, a job's own ledger write would fail
// during the outage and make the attempt fail for the test's sake, and an execution whose start
// row could not be written would go uncounted, hiding the very duplicates the scenario counts.
const JOBS = sized(2_000, 100_000);
/** How long the server stays down each time. */
const DOWN_MS = sized(5_000, 10_000);
/**
 * Two restarts per run, each when a share of the jobs has started: first a clean stop (as a
 * container stop: sessions are ended, PostgreSQL SIGINT, MariaDB SIGTERM), then a crash
 * (PostgreSQL SIGQUIT, MariaDB SIGKILL: no goodbye, crash recovery at the next start).
 */
const RESTARTS: Array<{ share: number; mode: StopMode }> = [
  { share: 1 / 3, mode: 'fast' },
  { share: 2 / 3, mode: 'immediate' },
];
/** The plan's window for claiming again once the server accepts connections, plus room for a loaded machine. */
const RESUME_MS = 5_000;
const RESUME_MARGIN_MS = 3_000;
/**
 * The lease (`retryAfter`, errand's default) and the plan's slack: everything is done within
 * L + 60 s of the last recovery, plus the time the backlog left at that stop takes at half the rate seen
 * between the restarts (the last comes mid-run: at full size that backlog is 33,000 jobs, minutes of work).
 */
const RETRY_AFTER_S = 90;
const SLACK_MS = (RETRY_AFTER_S + 60) * 1000;
/**
 * errand's default heartbeat (every 3 s, presumed dead 15 s after the last). An outage that ends
 * well within the lapse (with the interval, whole-second database time and a slow start as margin)
 * must not read as a worker's death: no worker is presumed dead and no job runs twice. At CI size
 * (5 s down) that holds; at full size (10 s) the outage comes close to the lapse, and only the
 * plan's bound (duplicates ≤ jobs in flight) is asserted.
 */
const HEARTBEAT = { interval: 3, lapse: 15 };
const WITHIN_LAPSE = DOWN_MS + (HEARTBEAT.interval + 4) * 1000 < HEARTBEAT.lapse * 1000;

const describeEachSql = databaseOnly(
  'restarts a private MariaDB or PostgreSQL server; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 9: database restart', (engine) => {
  if (engine === 'sqlite')
    return it('has no server to restart on SQLite (a file, not a server)', () => expect(engine).toBe('sqlite'));
  const unavailable = privateServerUnavailable(engine);
  if (unavailable && process.env.CI !== 'true') {
    // Skipped with the reason: this machine cannot run a private server. Under CI=true it is not
    // skipped: PrivateServer.create fails the suite with the same reason.
    return describe.skip(`needs a private ${engine} server: ${unavailable}`, () => undefined);
  }

  let server: PrivateServer | undefined;
  let app: WorkerApp | undefined;
  let ledger: Knex | undefined;
  let controller: Controller | undefined;

  beforeAll(async () => {
    server = await PrivateServer.create(engine);
    const client = engine === 'mysql' ? 'mysql2' : 'pg';
    app = await createChaosApp({
      driver: 'database',
      client,
      connection: server.url,
      retryAfter: RETRY_AFTER_S,
      heartbeat: HEARTBEAT,
    });
    const shared = await freshDatabase(engine, 'rel_database_restart');
    const ledgerConfig = { client, connection: shared.connection as string, pool: { min: 0, max: 8 } };
    ledger = knexFactory(ledgerConfig);
    await createLedger(ledger);
    app.env.LEDGER_KNEX = JSON.stringify(ledgerConfig);
  });
  afterAll(async () => {
    await controller?.stopAll();
    await app?.close();
    await ledger?.destroy();
    await server?.destroy();
  });

  it('the private server refuses connections while stopped and accepts them once started', async () => {
    const probe = knexFactory({
      client: engine === 'mysql' ? 'mysql2' : 'pg',
      connection: server!.url,
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 2000,
    });
    try {
      await expect(probe.raw('select 1 as one')).resolves.toBeDefined();
      await server!.stop('fast');
      await expect(probe.raw('select 1 as one')).rejects.toThrow();
      await server!.start();
      // The pooled connection died with the server: the first query may fail once, the next reconnects.
      await probe.raw('select 1 as one').catch(() => undefined);
      await expect(probe.raw('select 1 as one')).resolves.toBeDefined();
    } finally {
      await probe.destroy();
    }
  });

  it(`${JOBS} jobs on 2 × 8 slots survive two ${DOWN_MS / 1000} s restarts of the server (a clean stop, then a crash): none lost, workers resume`, async () => {
    const knex = app!.knex;
    const restartsBefore = server!.restarts;
    // The test's own pooled connection to the private server dies with each restart: a query
    // that meets it fails once, and the next one reconnects.
    const again = async <T>(query: () => Promise<T>): Promise<T> => query().catch(query);
    await again(() => knex.raw('select 1'));
    for (const table of ['jobs', 'failed_jobs']) await knex(table).delete();
    await ledger!('ledger').delete();
    // Jobs of 20–50 ms, so the run is well under way at each restart and far from over. Ten tries:
    // an attempt that runs again after a restart is counted as a duplicate, not hidden as a failure.
    const keys = Array.from({ length: JOBS }, (_, i) => `k${i}`);
    await insertJobsForTest(knex, 'jobs', JOBS, (i) => ({
      name: 'ChaosJob',
      command: { key: `k${i}`, ms: 20 + ((i * 7) % 31) },
      maxTries: 10,
    }));
    const started = Date.now();
    controller = new Controller(app!, ['queue:work', '--concurrency=8', '--sleep=0.1']);
    const workers = controller.start(2);

    const outages: Outage[] = [];
    for (const { share, mode } of RESTARTS) {
      await waitUntil(
        async () => (await countRows(ledger!, 'ledger')) >= JOBS * share,
        sized(120_000, 1_800_000),
        `${Math.round(share * 100)} % of the jobs to start`,
        50,
      );
      // Every row reserved now is a job in flight: only those can run twice.
      const inFlight = await again(() => countRows(knex, 'jobs', (q) => q.whereNotNull('reserved_at')));
      const { stoppedAt, acceptingAt } = await server!.restart(DOWN_MS, mode);
      outages.push({ mode, inFlight, stoppedAt, acceptingAt });
    }
    const last = outages.at(-1)!;
    const startedBefore = (await executions(ledger!)).filter(
      (r) => r.startedAt < last.stoppedAt && r.startedAt >= outages[0]!.acceptingAt,
    );
    const backlogMs = ((JOBS - JOBS * RESTARTS.at(-1)!.share) / Math.max(1, rate(startedBefore))) * 1000 * 2;

    // Done: every job has a finished execution, and the jobs table is empty.
    await within(
      waitUntil(
        async () => {
          const finished = (await ledger!('ledger')
            .whereNotNull('finished_at')
            .countDistinct({ n: 'job_key' })) as Array<{ n: number | string }>;
          return Number(finished[0]!.n) >= JOBS && (await again(() => countRows(knex, 'jobs'))) === 0;
        },
        SLACK_MS + backlogMs + 10_000,
        'every job to finish after the restarts',
        200,
      ),
      SLACK_MS + backlogMs + 20_000,
      'every job to finish after the restarts',
    );
    // No worker exited on its own: neither during the outages nor after them.
    expect(controller.exits).toEqual([]);
    // And each still stops cleanly on SIGTERM (it deregisters on the restarted server).
    for (const worker of workers) controller.signal(worker, 'SIGTERM');
    const exits = await within(Promise.all(workers.map((w) => w.exited)), 60_000, 'the workers to stop on SIGTERM');

    const runs = await executions(ledger!);
    const failed = await again(() => failedRecords(knex));
    const summary = summarise(keys, runs, failed, (pid) => controller!.exitedAt(pid));
    // For each outage, each worker's first start once the server accepted connections again.
    const resumed = outages.map((outage) => {
      const first = new Map<number, number>();
      for (const run of runs)
        if (run.startedAt >= outage.acceptingAt)
          first.set(run.worker, Math.min(first.get(run.worker) ?? Infinity, run.startedAt - outage.acceptingAt));
      return first;
    });
    const lastFinish = runs.reduce((max, r) => Math.max(max, r.finishedAt ?? 0), 0);
    const inFlight = outages.reduce((sum, o) => sum + o.inFlight, 0);
    recordResult({
      scenario: `9 database restart (${DOWN_MS / 1000} s down, ×${outages.length})`,
      engine,
      jobs: JOBS,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      restarts: server!.restarts - restartsBefore,
      seconds: (Date.now() - started) / 1000,
    });
    const stderr = controller.stderr();
    const timing = {
      outages: outages.map((o, i) => ({
        mode: o.mode,
        inFlight: o.inFlight,
        downMs: o.acceptingAt - o.stoppedAt,
        resumedAfterMs: [...resumed[i]!.values()],
      })),
      doneAfterMs: lastFinish - last.acceptingAt,
      backlogMs: Math.round(backlogMs),
      perSecondBefore: rate(runs.filter((r) => r.startedAt < outages[0]!.stoppedAt)),
      perSecondAfter: rate(runs.filter((r) => r.startedAt >= last.acceptingAt)),
      duplicates: summary.duplicates.length,
    };
    console.log(`[scenario 9 ${engine}]`, JSON.stringify(timing));

    // No crash, no unhandled 'error' event: the outages are reported, and that is all.
    expect(stderr, stderr.slice(-4000)).not.toMatch(/unhandled|uncaught|ERR_UNHANDLED_ERROR|FATAL ERROR/i);
    expect(exits).toEqual(workers.map(() => ({ code: 0, signal: null })));
    for (const [i, outage] of outages.entries()) {
      // The run was really under way on both sides of the outage …
      const since = i === 0 ? 0 : outages[i - 1]!.acceptingAt;
      expect(runs.some((r) => r.startedAt >= since && r.startedAt < outage.stoppedAt && r.finishedAt !== null)).toBe(
        true,
      );
      // … and each worker claimed again within the window once the server accepted connections.
      expect([...resumed[i]!.keys()].sort()).toEqual(workers.map((w) => w.pid).sort());
      const late = [...resumed[i]!]
        .filter(([, ms]) => ms > RESUME_MS + RESUME_MARGIN_MS)
        .map(([pid, ms]) => ({ mode: outage.mode, pid, resumedAfterMs: ms }));
      expect(late).toEqual([]);
    }
    // Nothing lost, nothing failed; only jobs in flight at a restart may have run twice.
    expect(summary.lost).toEqual([]);
    expect(failed).toEqual([]);
    expect(summary.duplicates.length).toBeLessThanOrEqual(inFlight);
    if (WITHIN_LAPSE) {
      // A live worker's jobs never run twice: the outage was shorter than the heartbeat's lapse.
      expect(stderr).not.toMatch(/presumed dead/);
      expect(summary.duplicates).toEqual([]);
    }
    expect(summary.overlaps).toEqual([]);
    expect(await countRows(knex, 'jobs')).toBe(0);
    // Everything done within the lease and a minute of the last recovery (plus the backlog's own time).
    expect(lastFinish - last.acceptingAt).toBeLessThanOrEqual(SLACK_MS + backlogMs);
  });
});

/** One restart of the server, as the test saw it. */
interface Outage {
  mode: StopMode;
  /** Rows reserved just before the stop. */
  inFlight: number;
  stoppedAt: number;
  acceptingAt: number;
}

/** Executions started per second over the span of `runs`. */
function rate(runs: Execution[]): number {
  if (runs.length < 2) return 0;
  // No spread into Math.max: at full size there are tens of thousands of runs.
  let first = Infinity;
  let last = 0;
  for (const run of runs) {
    first = Math.min(first, run.startedAt);
    last = Math.max(last, run.startedAt);
  }
  return Math.round((runs.length * 1000) / Math.max(1, last - first));
}
