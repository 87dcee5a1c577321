import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { DatabaseConnectionConfig } from '../../src/config/config-types.js';
import { sleep, waitUntil, workerIdOf } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { Controller, createChaosApp, ReservationWatch } from './harness/controller.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { FULL, recordResult, sized } from './harness/scale.js';

// Scenario 3: SIGKILL mid-job, again and again. Supervised workers run sleeping jobs; every few
// seconds a random one is SIGKILLed and replaced. Every job must finish (or, a one-try job killed
// on its last attempt, be failed), never run in two places at once, and a dead worker's rows must
// come back within the recovery window: the heartbeat sweep's (retryAfter far away), or, with
// heartbeats off, the lease's.

/** Jobs queued at the start; whenever fewer than TOP_UP are left during the kills, TOP_UP more. */
const JOBS = sized(60, 600);
const TOP_UP = sized(30, 100);
const WORKERS = sized(3, 4);
const KILL_EVERY_MS = sized(1_000, 5_000);
/** Each job sleeps 0.3–1.5 s (CI) or 2–10 s (full). */
const sleepMs = (i: number) => (FULL ? 2_000 + ((i * 7_919) % 8_001) : 300 + ((i * 137) % 1_201));
const LONGEST_MS = sized(1_500, 10_000);
/** Every fifth job has one try: killed mid-run, it must end in failed_jobs, not vanish. */
const isOnce = (i: number) => i % 5 === 0;
/**
 * Beats every second, presumed dead 8 s after the last. Not much less: on a loaded machine (load
 * 17 on 2 cores) live workers' beats were seen 3.5 s apart, and a live worker presumed dead has its
 * jobs run elsewhere while it still runs them.
 */
const HEARTBEAT = { interval: 1, lapse: 8 };
/** retryAfter with heartbeats off: above the longest job, which `--timeout` must stay below. */
const LEASE = sized(5, 15);
/** Margin for a loaded machine, on top of each window (the plan's 5 s). */
const MARGIN_S = 5;

interface Mode {
  name: string;
  kills: number;
  database: string;
  overrides: Partial<DatabaseConnectionConfig>;
  args: string[];
  /** How long a SIGKILLed worker's rows may stay reserved after it died, in ms. */
  windowMs: number;
}

const MODES: Mode[] = [
  {
    name: 'heartbeat',
    kills: sized(5, 50),
    database: 'rel_kill_loop',
    // retryAfter far beyond the run: only the heartbeat sweep can hand a dead worker's jobs back.
    overrides: { heartbeat: HEARTBEAT, retryAfter: 60 },
    args: [],
    // Its row expires `lapse` after its last beat (whole seconds on the database clock: up to one
    // more), and a live worker sweeps on every beat.
    windowMs: (HEARTBEAT.lapse + 1 + HEARTBEAT.interval + MARGIN_S) * 1000,
  },
  {
    name: 'lease-only',
    // At CI size fewer kills: the lease path is the backstop, the heartbeat the main one.
    kills: sized(3, 50),
    database: 'rel_kill_loop_lease',
    overrides: { heartbeat: false, retryAfter: LEASE },
    args: [`--timeout=${LEASE - 1}`],
    // The row is claimable again `retryAfter` after its claim (whole seconds), and busy workers claim
    // at once.
    windowMs: (LEASE + 1 + MARGIN_S) * 1000,
  },
];

/** One kill: whom, when it died, and how many rows it held then. */
interface Kill {
  id: string;
  pid: number;
  at: number;
  held: number;
}

const describeEachSql = databaseOnly(
  'reads the SQL jobs and queue_workers tables; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 3: SIGKILL loop', (engine) => {
  for (const mode of MODES)
    describe(mode.name, () => {
      let app: WorkerApp;
      let controller: Controller | undefined;

      beforeAll(async () => {
        app = await createChaosApp(await freshDatabase(engine, mode.database), { overrides: mode.overrides });
      });
      afterEach(async () => {
        await controller?.stopAll();
      });
      afterAll(async () => {
        await app?.close();
      });

      it(`${mode.name}: ${mode.kills} SIGKILLs of ${WORKERS} supervised workers; every job finishes or fails, none runs twice at once, dead workers' rows come back in time`, {
        timeout: sized(180_000, 2_400_000),
      }, async () => {
        const keys: string[] = [];
        /** Queues `count` more jobs, numbered on from the last. */
        const enqueue = async (count: number) => {
          const from = keys.length;
          for (let i = from; i < from + count; i++) keys.push(`k${i}`);
          await insertJobsForTest(app.knex, 'jobs', count, (n) => {
            const i = from + n;
            return isOnce(i)
              ? { name: 'OnceChaosJob', command: { key: `k${i}`, ms: sleepMs(i) }, maxTries: 1 }
              : { name: 'ChaosJob', command: { key: `k${i}`, ms: sleepMs(i) }, maxTries: 25 };
          });
        };
        await enqueue(JOBS);
        const started = Date.now();
        controller = new Controller(app, ['queue:work', '--concurrency=4', '--sleep=0.1', '--json', ...mode.args]);
        const fleet = controller;
        fleet.start(WORKERS);
        fleet.supervise();
        const watch = new ReservationWatch(app).start();

        const kills: Kill[] = [];
        /** The jobs the victims held when they died. */
        const heldByTheDead = new Set<string>();
        for (let k = 0; k < mode.kills; k++) {
          await sleep(KILL_EVERY_MS);
          // Work for every kill to interrupt, however slowly (a loaded machine) the kills come.
          if ((await countRows(app.knex, 'jobs')) < TOP_UP) await enqueue(TOP_UP);
          // The victim: a random worker among those holding jobs (a kill should land mid-job), known
          // by the id it announced, so the rows it leaves behind can be told apart. Not before every
          // replacement is up: someone must be alive to sweep (on a loaded machine a start takes seconds).
          const pool = await waitUntil(
            async () => {
              if (!fleet.workers.every((w) => workerIdOf(w.stdout()) !== undefined)) return undefined;
              const holders = new Set(
                (
                  (await app.knex('jobs').whereNotNull('reserved_by').distinct('reserved_by')) as Array<{
                    reserved_by: string;
                  }>
                ).map((row) => row.reserved_by),
              );
              const busy = fleet.workers.filter((w) => holders.has(workerIdOf(w.stdout()) ?? ''));
              return busy.length > 0 && busy;
            },
            30_000,
            'a worker holding jobs',
          );
          const victim = pool[Math.floor(Math.random() * pool.length)]!;
          const id = workerIdOf(victim.stdout())!;
          fleet.signal(victim, 'SIGKILL');
          await victim.exited;
          // Its replacement, as a supervisor would start it.
          fleet.start(1);
          const rows = (await app.knex('jobs').where('reserved_by', id).select('payload')) as Array<{
            payload: string;
          }>;
          for (const row of rows)
            heldByTheDead.add((JSON.parse(row.payload) as { data: { command: { key: string } } }).data.command.key);
          kills.push({ id, pid: victim.pid, at: fleet.exitedAt(victim.pid)!, held: rows.length });
        }
        await waitUntil(
          async () => (await countRows(app.knex, 'jobs')) === 0,
          sized(120_000, 1_800_000),
          'the queue to drain after the kills',
        );
        await watch.stop();
        const workerRows = await countRows(app.knex, 'queue_workers', (q) =>
          q.whereIn(
            'id',
            kills.map((kill) => kill.id),
          ),
        );
        await fleet.stopAll();

        const runs = await executions(app.knex);
        const failed = await failedRecords(app.knex);
        const summary = summarise(keys, runs, failed, (pid) => fleet.exitedAt(pid));
        recordResult({
          scenario: `3 kill loop (${mode.name})`,
          engine,
          jobs: keys.length,
          executions: summary.executions,
          duplicates: summary.duplicates.length,
          lost: summary.lost.length,
          maxReservedMs: watch.maxReservedMs,
          restarts: kills.length + fleet.restarts,
          seconds: (Date.now() - started) / 1000,
        });

        // The kills were all the exits there were, and no worker reported an error.
        expect(kills).toHaveLength(mode.kills);
        expect(fleet.restarts).toBe(0);
        // (With what they printed, if any worker exited on its own.)
        expect({ exits: fleet.exits.filter((exit) => !exit.expected), stderr: fleet.stderr() }).toEqual({
          exits: [],
          stderr: '',
        });
        // Most kills landed mid-job (otherwise little was tested).
        expect(kills.filter((kill) => kill.held > 0).length, JSON.stringify(kills)).toBeGreaterThanOrEqual(
          Math.ceil(mode.kills / 2),
        );
        // No dead worker's reservation outlived it by more than the window.
        const overdue = kills
          .map((kill) => ({ ...kill, reservedMsAfterDeath: (watch.lastSeenFor(kill.id) ?? kill.at) - kill.at }))
          .filter((kill) => kill.reservedMsAfterDeath > mode.windowMs);
        expect(overdue).toEqual([]);
        expect(watch.maxReservedMs).toBeLessThanOrEqual(LONGEST_MS + mode.windowMs);
        // The sweep also took the dead workers out of the workers table.
        if (mode.overrides.heartbeat !== false) expect(workerRows).toBe(0);

        // Nothing vanished, nothing ran in two places at once.
        expect(summary.lost).toEqual([]);
        expect(summary.overlaps).toEqual([]);
        expect(await countRows(app.knex, 'jobs')).toBe(0);
        // A second finished run is only allowed when the worker of the earlier one died before its delete landed.
        const killed = new Set(kills.map((kill) => kill.pid));
        const unexplained = summary.duplicates.filter((key) => {
          const finished = runs
            .filter((run) => run.key === key && run.finishedAt !== null)
            .sort((a, b) => a.startedAt - b.startedAt);
          return finished.slice(0, -1).some((run) => !killed.has(run.worker));
        });
        expect(unexplained).toEqual([]);
        // Only one-try jobs fail, and only because their worker died on that try: before the handler
        // wrote its start (the claim already counted the attempt), mid-run, or after it returned but
        // before its delete landed.
        for (const record of failed) {
          const mine = runs.filter((run) => run.key === record.key);
          const context = JSON.stringify({ record, mine });
          expect(record.key && isOnce(Number(record.key.slice(1))), context).toBe(true);
          expect(record.reason, context).toMatch(/has been attempted too many times/);
          expect(heldByTheDead.has(record.key!), context).toBe(true);
          expect(
            mine.every((run) => killed.has(run.worker)),
            context,
          ).toBe(true);
        }
        // Retried jobs count the killed attempt (the sweep keeps it): a rerun is a later attempt.
        for (const key of keys) {
          const attempts = runs.filter((run) => run.key === key).map((run) => run.attempt);
          expect(new Set(attempts).size).toBe(attempts.length);
        }
      });
    });
});
