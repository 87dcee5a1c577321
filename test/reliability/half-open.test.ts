import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, expect, it } from 'vitest';
import { sleep, waitUntil, within } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp, ReservationWatch } from './harness/controller.js';
import { FaultProxy } from './harness/fault-proxy.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 10: a half-open network. Worker A reaches the database through the fault proxy,
// worker B directly. Mid-run the proxy black-holes A's connections (open, but nothing gets
// through either way, as when a route dies or a server fails over) for BLACKHOLE_MS, then heals.
// A's statements must fail at queryTimeout instead of hanging (the kernel would take many
// minutes); A must stop starting jobs once it cannot heartbeat; B must take A's jobs back once
// A's heartbeat lapses; and A must rejoin after the heal, the same process, without a restart.
//
// After the heal B is paused (SIGUSR2) and a last batch queued: A's first start of those is its
// rejoin, however fast B drained the rest.
//
// The ledger connects directly: it is the test's instrument, so A's jobs keep recording while A
// itself is cut off from its queue.
/** Enough 200 ms jobs to keep both workers busy until about the heal (running dry earlier is harmless). */
const JOBS = sized(400, 3_000);
/** Queued at the heal with B paused: only A can start them, so A's first start is its rejoin. */
const AFTER_HEAL = 40;
const BLACKHOLE_MS = sized(15_000, 120_000);
const HEARTBEAT = { interval: 1, lapse: 5 };
const QUERY_TIMEOUT_S = 3;
const CONCURRENCY = 4;
/** Room for a loaded two-core machine on every window below. */
const MARGIN_MS = 4_000;
/** The longest a worker waits between failed claims (Worker.failureDelay's cap). */
const CLAIM_BACKOFF_CAP_MS = 5_000;

// The short cut: worker C, alone, has jobs running when its network is black-holed for less than
// its lapse and less than retryAfter. They finish during the cut, so their deletes and failure
// records meet a silent network: the statement on an open connection times out (queryTimeout),
// and every new connection's handshake too (pg: a bare "timeout expired"; mysql2: its connect
// timeout; knex: its acquire timeout). Each is an unreachable database, so the writes are tried
// while the leases live (the heartbeat renews them once it gets through again) and land after
// the heal. Given up instead, the rows stayed reserved, unrenewed, and ran a second time once
// retryAfter passed: a failure then recorded as "attempted too many times", its reason lost.
const SHORT_CUT_CONNECTION = { heartbeat: { interval: 1, lapse: 60 }, queryTimeout: 2, retryAfter: 40 };
/** How long the cut lasts after the last handler finished: the old code gave up after about three connect timeouts. */
const SHORT_CUT_AFTER_FINISH_MS = 12_000;
const SHORT_CUT_SLEEPERS = 4;
const SHORT_CUT_THROWERS = 2;
/** How long each of those jobs runs: they start before the cut and finish inside it (long enough that the wait for C's beats before the cut leaves several seconds on a loaded machine). */
const SHORT_CUT_JOB_MS = 10_000;

const describeEachSql = databaseOnly(
  "black-holes a SQL server's connection; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios",
);
await describeEachSql('reliability 10: half-open network', (engine) => {
  if (engine === 'sqlite')
    return it('has no network to cut on SQLite (a file, not a socket)', () => expect(engine).toBe('sqlite'));
  let app: WorkerApp;
  let proxy: FaultProxy;
  let controller: Controller | undefined;
  let shortCut: Controller | undefined;

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'rel_half_open');
    app = await createChaosApp(connection, { overrides: { heartbeat: HEARTBEAT, queryTimeout: QUERY_TIMEOUT_S } });
    const target = new URL(connection.connection as string);
    proxy = new FaultProxy({ host: target.hostname, port: Number(target.port || (engine === 'mysql' ? 3306 : 5432)) });
    await proxy.start();
    // A second connection to the same tables, through the proxy: worker A's (QUEUE_CONNECTION).
    const file = path.join(app.dir, 'errand.config.mjs');
    const config = JSON.parse(
      readFileSync(file, 'utf8')
        .replace(/^export default /, '')
        .replace(/;\s*$/, ''),
    ) as {
      connections: Record<string, { connection: string }>;
    };
    target.host = `127.0.0.1:${proxy.port}`;
    config.connections.proxied = { ...config.connections.database!, connection: target.toString() };
    // Worker C's connection for the short cut: never presumed dead (lapse) nor reclaimed by
    // retryAfter during it, and connect timeouts (pg's, from queryTimeout) well inside it.
    config.connections.cutshort = { ...config.connections.proxied, ...SHORT_CUT_CONNECTION };
    writeFileSync(file, `export default ${JSON.stringify(config)};\n`);
  });
  afterAll(async () => {
    proxy?.heal();
    await controller?.stopAll();
    await shortCut?.stopAll();
    await proxy?.stop();
    await app?.close();
  });

  it(`a worker cut off for ${BLACKHOLE_MS / 1000} s times out, stops, has its jobs taken over, and rejoins`, async () => {
    await insertJobsForTest(app.knex, 'jobs', JOBS, (i) => ({
      name: 'ChaosJob',
      command: { key: `k${i}`, ms: 200 },
      maxTries: 10,
    }));
    const started = Date.now();
    controller = new Controller(app, ['queue:work', `--concurrency=${CONCURRENCY}`, '--sleep=0.1']);
    const [b] = controller.start(1);
    const [a] = controller.start(1, undefined, { QUEUE_CONNECTION: 'proxied' });
    const startsBy = async (pid: number, after: number) =>
      (await executions(app.knex)).filter((run) => run.worker === pid && run.startedAt > after);
    await waitUntil(
      async () => (await startsBy(a!.pid, 0)).length >= 20 && (await startsBy(b!.pid, 0)).length >= 20,
      30_000,
      'both workers to run jobs',
    );
    // A's monitor thread must be beating before the cut: a worker whose monitor cannot make its
    // first sweep exits at startup (as it does when the database is unreachable then), which is
    // another scenario. Its beats move last_heartbeat_at past the registration's started_at.
    const aId = await waitUntil(
      async () => {
        const row = (await app
          .knex('queue_workers')
          .where({ pid: a!.pid })
          .first('id', 'started_at', 'last_heartbeat_at')) as
          | { id: string; started_at: number | string; last_heartbeat_at: number | string }
          | undefined;
        return row && Number(row.last_heartbeat_at) >= Number(row.started_at) + 2 && row.id;
      },
      20_000,
      "A's heartbeats",
    );

    const watch = new ReservationWatch(app).start();
    const blackholeAt = Date.now();
    proxy.blackhole();
    // A's statements in flight (a heartbeat, a claim, a delete) fail at the limit, not never.
    await a!.waitFor(
      new RegExp(`did not answer a statement within ${QUERY_TIMEOUT_S} s \\(queryTimeout\\)`),
      (HEARTBEAT.interval + QUERY_TIMEOUT_S) * 1000 + MARGIN_MS,
    );
    const timedOutAfter = Date.now() - blackholeAt;
    await sleep(blackholeAt + BLACKHOLE_MS - Date.now());
    await watch.stop();
    const healAt = Date.now();
    proxy.heal();

    // A rejoins: the same process starts jobs again, the ones queued now (B, paused, cannot).
    controller.signal(b!, 'SIGUSR2');
    // The signal is handled at B's next turn; a claim B had in flight then is handed back unstarted.
    await sleep(1000);
    await insertJobsForTest(app.knex, 'jobs', AFTER_HEAL, (i) => ({
      name: 'ChaosJob',
      command: { key: `h${i}`, ms: 20 },
      maxTries: 10,
    }));
    const rejoinBound = QUERY_TIMEOUT_S * 1000 + HEARTBEAT.interval * 1000 + CLAIM_BACKOFF_CAP_MS + MARGIN_MS;
    await waitUntil(
      async () => (await startsBy(a!.pid, healAt)).length > 0,
      rejoinBound,
      'A to start a job after the heal',
    ).catch((error: Error) => {
      throw new Error(`${error.message}; A's stderr ends:\n${a!.stderr().slice(-3000)}`);
    });
    const rejoinedAfter = Math.min(...(await startsBy(a!.pid, healAt)).map((run) => run.startedAt)) - healAt;
    await waitUntil(
      async () => (await countRows(app.knex, 'jobs')) === 0,
      sized(120_000, 900_000),
      'the queue to drain',
    );
    expect(controller.exits).toEqual([]);
    controller.signal(a!, 'SIGTERM');
    controller.signal(b!, 'SIGTERM');
    const exits = await within(Promise.all([a!.exited, b!.exited]), 30_000, 'the workers to stop');

    const runs = await executions(app.knex);
    const summary = summarise(
      [...Array.from({ length: JOBS }, (_, i) => `k${i}`), ...Array.from({ length: AFTER_HEAL }, (_, i) => `h${i}`)],
      runs,
      await failedRecords(app.knex),
      (pid) => controller!.exitedAt(pid),
    );
    const reservedByAUntil = (watch.lastSeenFor(aId) ?? blackholeAt) - blackholeAt;
    recordResult({
      scenario: `10 half-open (${BLACKHOLE_MS / 1000} s)`,
      engine,
      jobs: JOBS + AFTER_HEAL,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      maxReservedMs: watch.maxReservedMs,
      seconds: (Date.now() - started) / 1000,
    });

    // Timed out within the limit (plus the beat it may have waited for), not hung.
    expect(timedOutAfter).toBeLessThanOrEqual((HEARTBEAT.interval + QUERY_TIMEOUT_S) * 1000 + MARGIN_MS);
    // No job started by A from the moment its heartbeat lapsed until the heal.
    const lapsed = blackholeAt + HEARTBEAT.lapse * 1000 + MARGIN_MS;
    expect(runs.filter((run) => run.worker === a!.pid && run.startedAt > lapsed && run.startedAt < healAt)).toEqual([]);
    // A's jobs were taken back (swept, then claimed by B) within lapse + one sweep interval.
    expect(reservedByAUntil).toBeLessThanOrEqual((HEARTBEAT.lapse + HEARTBEAT.interval) * 1000 + MARGIN_MS);
    expect(
      runs.filter((run) => run.worker === b!.pid && run.startedAt > blackholeAt && run.startedAt < healAt).length,
    ).toBeGreaterThan(0);
    expect(runs.filter((run) => run.key.startsWith('h') && run.worker !== a!.pid)).toEqual([]);
    // Rejoined without a restart: one process each, both ending cleanly on SIGTERM.
    expect(rejoinedAfter).toBeLessThanOrEqual(rejoinBound);
    expect(exits).toEqual([
      { code: 0, signal: null },
      { code: 0, signal: null },
    ]);
    expect(controller.exits.map((e) => e.pid).sort()).toEqual([a!.pid, b!.pid].sort());
    expect(a!.stderr()).not.toMatch(/Unhandled|uncaught|TypeError|ReferenceError/i);

    // Nothing lost, nothing run in two places at once.
    expect(summary.lost).toEqual([]);
    expect(summary.overlaps).toEqual([]);
    // The only jobs that finished twice are A's whose finish was swallowed: they finished on A
    // after the black hole began (a delete sent up to a second before it may have been cut off
    // too), so their delete never landed, and B ran them again after the sweep. There are at
    // most as many as A had running at the cut and started before its lapse.
    const swallowed = new Set(
      runs
        .filter(
          (run) =>
            run.worker === a!.pid &&
            run.finishedAt !== null &&
            run.finishedAt > blackholeAt - 1000 &&
            run.finishedAt < healAt,
        )
        .map((run) => run.key),
    );
    expect(summary.duplicates.filter((key) => !swallowed.has(key))).toEqual([]);
    expect(swallowed.size).toBeLessThanOrEqual(
      runs.filter((run) => run.worker === a!.pid && run.startedAt > blackholeAt - 1000 && run.startedAt <= lapsed)
        .length + CONCURRENCY,
    );
  });
  it('a worker cut off for less than its lapse keeps trying the finishing writes of the jobs it finished meanwhile, and they land after the heal: none runs again', async () => {
    const keys = [
      ...Array.from({ length: SHORT_CUT_SLEEPERS }, (_, i) => `s${i}`),
      ...Array.from({ length: SHORT_CUT_THROWERS }, (_, i) => `t${i}`),
    ];
    await insertJobsForTest(app.knex, 'jobs', keys.length, (i) =>
      i < SHORT_CUT_SLEEPERS
        ? { name: 'ChaosJob', command: { key: keys[i]!, ms: SHORT_CUT_JOB_MS }, maxTries: 3 }
        : { name: 'SlowThrowingChaosJob', command: { key: keys[i]!, ms: SHORT_CUT_JOB_MS }, maxTries: 1 },
    );
    shortCut = new Controller(app, ['queue:work', `--concurrency=${keys.length}`, '--sleep=0.1']);
    const [c] = shortCut.start(1, undefined, { QUEUE_CONNECTION: 'cutshort' });
    const ours = async () => (await executions(app.knex)).filter((run) => keys.includes(run.key));
    await waitUntil(async () => (await ours()).length === keys.length, 60_000, 'C to start every job');
    // C's monitor thread beats before the cut (as A's in the test above: one that cannot make its
    // first sweep ends the worker, another scenario).
    await waitUntil(
      async () => {
        const row = (await app.knex('queue_workers').where({ pid: c!.pid }).first('started_at', 'last_heartbeat_at')) as
          | { started_at: number | string; last_heartbeat_at: number | string }
          | undefined;
        return row !== undefined && Number(row.last_heartbeat_at) >= Number(row.started_at) + 2;
      },
      20_000,
      "C's heartbeats",
    );

    const cutAt = Date.now();
    proxy.blackhole();
    // The sleepers record their finish (the ledger connects directly); the throwers fail at the same moment.
    await waitUntil(
      async () => (await ours()).filter((run) => run.finishedAt !== null).length === SHORT_CUT_SLEEPERS,
      60_000,
      'the jobs to finish during the cut',
    );
    await sleep(SHORT_CUT_AFTER_FINISH_MS);
    const healAt = Date.now();
    proxy.heal();

    // The old code left the given-up rows reserved until retryAfter, then ran them again: the queue
    // empties either way, so this wait decides nothing by itself.
    await waitUntil(
      async () => (await countRows(app.knex, 'jobs')) === 0,
      (SHORT_CUT_CONNECTION.retryAfter + 60) * 1000,
      'the queue to empty',
    );
    const runs = await ours();
    const failed = (await failedRecords(app.knex)).filter(
      (record) => record.key !== undefined && keys.includes(record.key),
    );
    shortCut.signal(c!, 'SIGTERM');
    const exit = await within(c!.exited, 30_000, 'C to stop');

    // The writes were made during the cut: every first run finished (or threw) after it began and before the heal.
    expect(
      runs.filter(
        (run) => run.attempt === 1 && run.finishedAt !== null && (run.finishedAt < cutAt || run.finishedAt > healAt),
      ),
    ).toEqual([]);
    // Each job ran once: its delete, or its failure record, landed after the heal.
    expect(runs.map((run) => run.key).sort()).toEqual([...keys].sort());
    // Each failure recorded once, with its own reason (not "attempted too many times").
    expect(failed.map((record) => [record.key, record.reason.includes('went out of range')]).sort()).toEqual(
      keys.filter((key) => key.startsWith('t')).map((key) => [key, true]),
    );
    // C was never presumed dead, and never left: one process, ending cleanly.
    expect(c!.stderr()).not.toMatch(/presumed dead/);
    expect(c!.stderr()).not.toMatch(/Unhandled|uncaught|TypeError|ReferenceError/i);
    expect(exit, c!.stderr().slice(-3000)).toEqual({ code: 0, signal: null });
    expect(shortCut.exits.map((e) => e.pid)).toEqual([c!.pid]);
  });
});
