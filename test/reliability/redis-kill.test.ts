import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { jsonEvents, waitUntil, workerIdOf } from '../helpers/daemon.js';
import { describeOnRedis } from '../helpers/databases.js';
import { ROOT } from '../helpers/run-cli.js';
import { CHAOS_JOBS, Controller } from './harness/controller.js';
import { executions, failedRecords, summarise } from './harness/ledger.js';
import { createRedisChaosApp, type RedisChaosApp } from './harness/redis-app.js';
import { recordResult } from './harness/scale.js';

// Redis 1: SIGKILL a worker holding 20 jobs. Worker A claims and starts 20 jobs (one claim, 20
// slots) and is SIGKILLed in the middle of all of them; worker B, live and idle beside it, must
// run every one of them again once A's leases lapse, within the lease window, and each must
// complete exactly once (A's attempts never finished: they died with it).
const KILL_JOBS = path.join(ROOT, 'test/reliability/fixtures/kill-jobs.mjs');
const PRODUCER = path.join(ROOT, 'test/reliability/fixtures/redis-producer.mjs');
const HELD = 20;
/** A's attempts would run this long (it is killed long before); B's take a moment. */
const FIRST_MS = 60_000;
const AGAIN_MS = 200;
/** Slack for a loaded machine on top of each window. */
const MARGIN_MS = 4_000;
/**
 * An idle worker's blocking pop returns after `blockFor` seconds, and its next claim moves lapsed
 * reservations back: the longest an idle worker can be asleep when a lease lapses with no push to
 * wake it.
 */
const BLOCK_FOR = 1;

interface Mode {
  name: string;
  overrides: Record<string, unknown>;
  args: string[];
  /** How long after the kill every job may take to start again, in ms. */
  windowMs: number;
}

const HEARTBEAT = { interval: 1, lapse: 3 };
const RETRY_AFTER = 6;
const MODES: Mode[] = [
  {
    name: 'heartbeat',
    // retryAfter far away: only the heartbeat's lease (lapse) can hand A's jobs back.
    overrides: { heartbeat: HEARTBEAT, retryAfter: 120, blockFor: BLOCK_FOR },
    args: [],
    // A's leases were renewed at most one interval before the kill and lapse `lapse` after that;
    // then a claim (an idle worker's within blockFor) takes them back.
    windowMs: (HEARTBEAT.lapse + HEARTBEAT.interval + BLOCK_FOR + 1) * 1000 + MARGIN_MS,
  },
  {
    name: 'lease-only',
    overrides: { heartbeat: false, retryAfter: RETRY_AFTER, blockFor: BLOCK_FOR },
    // A job's timeout must stay below retryAfter when no heartbeat renews the lease.
    args: [`--timeout=${RETRY_AFTER - 1}`],
    // The lease runs `retryAfter` from the claim, which came before the kill.
    windowMs: (RETRY_AFTER + BLOCK_FOR + 1) * 1000 + MARGIN_MS,
  },
];

type Produce = (
  config: Record<string, unknown>,
  modules: string[],
  specs: Array<{ name: string; key: string; args?: unknown[] }>,
  options?: { bulk?: boolean },
) => Promise<string[]>;

await describeOnRedis('reliability Redis 1: SIGKILL a worker holding 20 jobs', () => {
  for (const mode of MODES)
    describe(mode.name, () => {
      let app: RedisChaosApp;
      let controller: Controller | undefined;
      let produce: Produce;
      let stopProducing: () => Promise<void>;

      beforeAll(async () => {
        app = await createRedisChaosApp(`rel-kill-${mode.name}`, {
          bootstrap: [CHAOS_JOBS, KILL_JOBS],
          overrides: mode.overrides,
        });
        ({ produce, stopProducing } = (await import(PRODUCER)) as {
          produce: Produce;
          stopProducing: () => Promise<void>;
        });
      });
      afterEach(async () => {
        await controller?.stopAll();
      });
      afterAll(async () => {
        await stopProducing?.();
        await app?.close();
      });

      it(`${mode.name}: every job of the killed worker runs again on the live one within the lease window, and completes once`, async () => {
        const started = Date.now();
        controller = new Controller(app, [
          'queue:work',
          `--concurrency=${HELD}`,
          '--sleep=0.1',
          '--json',
          ...mode.args,
        ]);
        const [a] = controller.start(1);
        await a!.waitFor(/"status":"worker_starting"/);
        const keys = Array.from({ length: HELD }, (_, i) => `k${i}`);
        const ids = await produce(
          app.config,
          [KILL_JOBS],
          keys.map((key) => ({ name: 'StubbornChaosJob', key, args: [FIRST_MS, AGAIN_MS] })),
          { bulk: true },
        );
        expect(new Set(ids).size).toBe(HELD);

        // A holds and runs all 20: their starts are in the ledger, their leases in `reserved` under its token.
        const aId = workerIdOf(a!.stdout())!;
        await waitUntil(async () => (await executions(app.knex)).length === HELD, 30_000, 'A to start every job').catch(
          async (error: Error) => {
            throw new Error(
              `${error.message}\nledger: ${JSON.stringify(await executions(app.knex))}\nkeys: ${JSON.stringify(await app.probe.keys())}\nA's stdout: ${a!.stdout()}\nA's stderr: ${a!.stderr()}`,
            );
          },
        );
        const held = await app.probe.reserved();
        expect([...held.keys()].sort()).toEqual([...ids].sort());
        for (const id of ids) expect((await app.probe.job(id)).token, `job ${id}'s lease token`).toBe(aId);

        // B starts beside it, idle: nothing is left for it to claim while A's leases live.
        const [b] = controller.start(1);
        await b!.waitFor(/"status":"worker_starting"/);
        expect((await executions(app.knex)).filter((run) => run.worker !== a!.pid)).toEqual([]);

        controller.signal(a!, 'SIGKILL');
        await a!.exited;
        const killedAt = controller.exitedAt(a!.pid)!;

        await waitUntil(
          async () => (await executions(app.knex)).filter((run) => run.finishedAt !== null).length >= HELD,
          mode.windowMs + 30_000,
          'B to run every job of the killed worker',
        ).catch(async (error: Error) => {
          throw new Error(
            `${error.message}\nreserved: ${JSON.stringify([...(await app.probe.reserved())])}\nwaiting: ${JSON.stringify([...(await app.probe.waiting())])}\nB's stderr: ${b!.stderr()}`,
          );
        });
        // Every job gone from the store: finished jobs leave no key behind.
        await waitUntil(
          async () => (await app.probe.jobKeys()).length === 0,
          10_000,
          'the finished jobs to be deleted',
        );

        const runs = await executions(app.knex);
        const failed = await failedRecords(app.knex);
        const summary = summarise(keys, runs, failed, (pid) => controller!.exitedAt(pid));
        const rerunAfterMs = runs.filter((run) => run.worker === b!.pid).map((run) => run.startedAt - killedAt);
        // How long each of A's reservations lasted: from its start on A to its start again on B.
        const heldMs = keys.map((key) => {
          const [first, again] = runs.filter((run) => run.key === key).sort((x, y) => x.startedAt - y.startedAt);
          return again && first ? again.startedAt - first.startedAt : 0;
        });
        recordResult({
          scenario: `R1 SIGKILL holding ${HELD} (${mode.name})`,
          engine: 'redis',
          jobs: HELD,
          executions: summary.executions,
          duplicates: summary.duplicates.length,
          lost: summary.lost.length,
          maxReservedMs: Math.max(...heldMs),
          restarts: 1,
          seconds: (Date.now() - started) / 1000,
        });
        console.log(
          `[redis ${mode.name}] the killed worker's ${HELD} jobs started again ${Math.min(...rerunAfterMs)}–${Math.max(...rerunAfterMs)} ms after the kill (window ${mode.windowMs} ms)`,
        );

        // Per job: A's first attempt (cut off by the kill), then B's second, finished. Nothing else.
        for (const [i, key] of keys.entries()) {
          const mine = runs
            .filter((run) => run.key === key)
            .map((run) => [run.worker, run.attempt, run.finishedAt !== null]);
          expect(mine, key).toEqual([
            [a!.pid, 1, false],
            [b!.pid, 2, true],
          ]);
          expect(runs.find((run) => run.key === key && run.worker === b!.pid)!.jobId, key).toBe(ids[i]);
        }
        // Within the lease window of the kill.
        expect(rerunAfterMs.filter((ms) => ms > mode.windowMs)).toEqual([]);
        expect(summary.lost).toEqual([]);
        expect(summary.duplicates).toEqual([]);
        expect(summary.overlaps).toEqual([]);
        expect(failed).toEqual([]);
        // B said one success per job, and nothing on stderr. B prints a job's line once its batched
        // delete lands, and the pipe may still hold the last lines after the keys are gone: wait for them.
        const successes = () => jsonEvents(b!.stdout()).filter((e) => e.status === 'success').length;
        await waitUntil(async () => successes() >= HELD, 10_000, "B's success line for every job").catch(
          (error: Error) => {
            throw new Error(`${error.message}\nB's stdout: ${b!.stdout()}`);
          },
        );
        const bEvents = jsonEvents(b!.stdout());
        expect(
          bEvents
            .filter((e) => e.status === 'success')
            .map((e) => [e.id, e.attempts])
            .sort(),
        ).toEqual(ids.map((id) => [id, 2]).sort());
        expect(b!.stderr()).toBe('');
        expect(await app.probe.reserved()).toEqual(new Map());
        expect(await app.probe.waiting()).toEqual(new Map());
      });
    });
});
