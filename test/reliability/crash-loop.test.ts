import path from 'node:path';

import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { sleep, waitUntil } from '../helpers/daemon.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { insertJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { countRows, type WorkerApp } from '../helpers/worker-process.js';
import { CHAOS_JOBS, Controller, createChaosApp, type Exit, ReservationWatch } from './harness/controller.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { recordResult, sized } from './harness/scale.js';

// Scenario 13: crash-looping jobs. One handler calls process.exit(1), another runs out of heap, on
// every attempt; tries = 3; many quick jobs around them; 2 supervised workers. Both crashers share
// one run (their recoveries overlap), each exit told apart by its pid and the way it died. Nothing
// can record a dying process's attempt, so the job comes back through the heartbeat sweep with the
// attempt counted; the claim after the third finds it out of tries and fails it without running
// it: at most 3 restarts, and nobody else's work lost or repeated.
const TIMEOUT_CHAOS_JOBS = path.join(ROOT, 'test/reliability/fixtures/timeout-chaos-jobs.mjs');
const HEARTBEAT = { interval: 1, lapse: 3 };
/**
 * How long a dead worker's job may stay reserved: its row expires `lapse` after its last beat
 * (whole seconds on the database clock, so up to one more) and a live worker sweeps on each beat;
 * plus a generous margin, since a replacement booting on a loaded machine can take seconds.
 */
const RECOVERY_WINDOW_MS = (HEARTBEAT.lapse + 1 + HEARTBEAT.interval + 10) * 1000;
const OTHERS = sized(300, 1_000);
const TRIES = 3;

/** The two ways a crasher dies, each with its own job and its own key. */
const CRASHERS = [
  // process.exit(1) from the handler.
  { job: 'ExitingChaosJob', key: 'crash-exit', died: (exit: Exit) => exit.code === 1 && exit.signal === null },
  // Allocating past the heap limit (every worker runs with a 64 MB heap, plenty for the quick
  // jobs): V8 aborts the process (SIGABRT; 134 if a shell reports it).
  { job: 'HoardingChaosJob', key: 'crash-heap', died: (exit: Exit) => exit.signal === 'SIGABRT' || exit.code === 134 },
];

const describeEachSql = databaseOnly(
  'reads the SQL jobs table; its Redis counterparts are the test/reliability/redis-*.test.ts scenarios',
);
await describeEachSql('reliability 13: crash-looping job', (engine) => {
  let app: WorkerApp;
  let controller: Controller | undefined;
  let watch: ReservationWatch | undefined;

  beforeAll(async () => {
    app = await createChaosApp(await freshDatabase(engine, 'rel_crash_loop'), {
      bootstrap: [CHAOS_JOBS, TIMEOUT_CHAOS_JOBS],
      // retryAfter far beyond the test: only the heartbeat sweep can hand a dead worker's job back.
      overrides: { heartbeat: HEARTBEAT, retryAfter: 120 },
    });
  });
  afterEach(async () => {
    await watch?.stop();
    await controller?.stopAll();
  });
  afterAll(() => app?.close());

  it(`jobs that die by process.exit(1) and by exhausting the heap on every attempt fail after ${TRIES} tries, cost at most ${TRIES} restarts each, and ${OTHERS} others complete once each`, async () => {
    for (const table of ['jobs', 'failed_jobs', 'ledger', 'queue_workers']) await app.knex(table).delete();
    // The crashers sit near the front, among the others, so both crash loops run at once while the
    // workers are busy with the rest.
    const quick = (from: number, count: number) =>
      insertJobsForTest(app.knex, 'jobs', count, (i) => ({
        name: 'ChaosJob',
        command: { key: `q${from + i}`, ms: 20 },
        maxTries: 10,
      }));
    const crasher = ({ job, key }: { job: string; key: string }) =>
      insertJobsForTest(app.knex, 'jobs', 1, () => ({ name: job, command: { key }, maxTries: TRIES }));
    await quick(0, 10);
    await crasher(CRASHERS[0]!);
    await quick(10, 10);
    await crasher(CRASHERS[1]!);
    await quick(20, OTHERS - 20);
    const others = Array.from({ length: OTHERS }, (_, i) => `q${i}`);

    const started = Date.now();
    // One slot each: the only job a crash can interrupt is the crasher itself, so every other job
    // must complete exactly once (with more slots, a neighbour caught mid-run would run again).
    controller = new Controller(app, ['queue:work', '--concurrency=1', '--sleep=0.1', '--json'], {
      NODE_OPTIONS: '--max-old-space-size=64',
    });
    watch = new ReservationWatch(app).start();
    controller.start(2);
    controller.supervise();

    // Done when nothing is left to run and both crashers have their failed_jobs row.
    const failedAt = new Map<string, number>();
    await waitUntil(
      async () => {
        for (const record of await failedRecords(app.knex))
          if (record.key && !failedAt.has(record.key)) failedAt.set(record.key, Date.now());
        return failedAt.size >= CRASHERS.length && (await countRows(app.knex, 'jobs')) === 0;
      },
      sized(90_000, 300_000),
      'the crashers to fail and the queue to drain',
      100,
    );
    // A little longer, so a late extra run or restart would show.
    await sleep(1000);
    await watch.stop();
    const restarts = controller.restarts;
    const exits = controller.exits.filter((e) => !e.expected);
    const workerStderr = controller.stderr();
    await controller.stopAll();

    const runs = await executions(app.knex);
    const failed = await failedRecords(app.knex);
    const summary = summarise([...others, ...CRASHERS.map((c) => c.key)], runs, failed, (pid) =>
      controller!.exitedAt(pid),
    );
    recordResult({
      scenario: '13 crash loop (exit, heap)',
      engine,
      jobs: OTHERS + CRASHERS.length,
      executions: summary.executions,
      duplicates: summary.duplicates.length,
      lost: summary.lost.length,
      maxReservedMs: watch.maxReservedMs,
      restarts,
      seconds: (Date.now() - started) / 1000,
    });

    // Both were failed by the claim that found them out of tries (none had a fourth run).
    expect(failed.map((f) => [f.key, f.reason]).sort()).toEqual(
      CRASHERS.map((c) => [c.key, `MaxAttemptsExceededError: ${c.job} has been attempted too many times.`]).sort(),
    );
    for (const crasher of CRASHERS) {
      // It ran exactly `tries` times, each attempt in a different process, none finishing.
      const crashes = runs.filter((r) => r.key === crasher.key);
      expect(
        crashes.map((r) => r.attempt),
        crasher.key,
      ).toEqual([1, 2, 3]);
      expect(crashes.filter((r) => r.finishedAt !== null)).toEqual([]);
      // Each attempt took its process down the crasher's way, at once (not through a timeout):
      // one restart per attempt, so no more than its tries.
      const mine = exits.filter((e) => crashes.some((r) => r.worker === e.pid));
      expect(mine.map((e) => e.pid).sort(), crasher.key).toEqual(crashes.map((r) => r.worker).sort());
      expect(
        mine.map((e) => crasher.died(e)),
        `${crasher.key}: ${JSON.stringify(mine)}\n${workerStderr}`,
      ).toEqual([true, true, true]);
      for (const run of crashes) expect(controller.exitedAt(run.worker)! - run.startedAt).toBeLessThan(10_000);
      // The dead holder's row came back through the sweep in time, and the claim after the last
      // attempt failed it.
      expect(failedAt.get(crasher.key)! - Math.max(...mine.map((e) => e.at))).toBeLessThan(RECOVERY_WINDOW_MS);
    }
    // No exit or restart that a crasher did not cause.
    expect(exits).toHaveLength(CRASHERS.length * TRIES);
    expect(restarts).toBe(exits.length);
    expect(watch.maxReservedMs).toBeLessThan(RECOVERY_WINDOW_MS);

    // Every other job completed, none failed, and each ran once, but for one case at-least-once
    // allows: a job whose first run finished in a worker the next job then took down, before the
    // batched delete of the first went out (on SQLite the next claim can answer before it does).
    // That first finish must come within 2 s of its worker's crash (seen from here), one such job per crash.
    expect(summary.lost).toEqual([]);
    expect(summary.overlaps).toEqual([]);
    const rerun = summary.duplicates.map((key) => {
      const first = runs
        .filter((r) => r.key === key && r.finishedAt !== null)
        .sort((a, b) => a.startedAt - b.startedAt)[0]!;
      const crash = exits.find((e) => e.pid === first.worker);
      return { key, crashedAfterMs: crash ? crash.at - first.finishedAt! : undefined, worker: first.worker };
    });
    expect(
      rerun.filter((r) => r.crashedAfterMs === undefined || r.crashedAfterMs < 0 || r.crashedAfterMs > 2000),
    ).toEqual([]);
    expect(new Set(rerun.map((r) => r.worker)).size).toBe(rerun.length);
    const finished = runs.filter((r) => r.key.startsWith('q') && r.finishedAt !== null);
    expect(finished).toHaveLength(OTHERS + rerun.length);
    expect(new Set(finished.map((r) => r.key)).size).toBe(OTHERS);
    expect(runs.filter((r) => r.key.startsWith('q') && r.finishedAt === null)).toEqual([]);
    expect(await countRows(app.knex, 'jobs')).toBe(0);
  });
});
