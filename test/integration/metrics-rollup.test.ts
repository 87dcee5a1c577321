// The per-minute metrics rollup (decision 0064) on every store: the repository adds samples up
// exactly, reads them per step and filter, and prunes; a worker counts each attempt it ends and
// flushes them, so the rows add up to exactly what it did; a recorder prunes past the retention.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import {
  type JobMetricsSample,
  METRICS_BUCKETS_MS,
  type MetricsRepository,
} from '../../src/contracts/metrics-repository.js';
import { openMetricsRepository } from '../../src/drivers/connect.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { MetricsRecorder } from '../../src/worker/metrics-recorder.js';
import { AddToBufferJob, RaisingJob } from '../fixtures/jobs/fixture-jobs.js';
import { describeEachEngine, freshStore, storeConnections, type TestStore } from '../helpers/databases.js';

const BUCKETS = METRICS_BUCKETS_MS.length + 1;

/** A sample of `minute` with `n` completed attempts, each of 3 ms and waiting 1500 ms. */
function sample(minute: number, queue: string, job: string, n: number, extra: Partial<JobMetricsSample> = {}) {
  const runtimeBuckets = new Array<number>(BUCKETS).fill(0);
  runtimeBuckets[2] = n; // 3 ms: above 2, within 5
  const waitBuckets = new Array<number>(BUCKETS).fill(0);
  waitBuckets[10] = n; // 1500 ms: above 1000, within 2000
  return {
    minute,
    queue,
    job,
    completed: n,
    failed: 0,
    released: 0,
    runtimeMsSum: 3 * n,
    runtimeBuckets,
    waitMsSum: 1500 * n,
    waitBuckets,
    ...extra,
  } satisfies JobMetricsSample;
}

const sum = (values: readonly number[]) => values.reduce((a, b) => a + b, 0);

await describeEachEngine('the metrics rollup', (engine) => {
  let store: TestStore;
  let repository: MetricsRepository;
  /** Two hours ago, on a whole hour: inside the default retention, so Redis keeps its keys. */
  let base: number;

  async function bootWith(metrics: { enabled?: boolean; retention?: number } = {}) {
    await boot({ default: store.default, connections: storeConnections(store), metrics });
    const app = await runtime();
    repository = openMetricsRepository(app.queues.worker(), app.config.metrics);
  }

  beforeAll(async () => {
    store = await freshStore(engine, 'metrics_rollup');
    await bootWith();
    await runMigrations();
  });
  afterAll(() => shutdown());
  beforeEach(async () => {
    await bootWith();
    await repository.prune(Math.floor(Date.now() / 1000) + 7 * 86_400);
    const now = Math.floor(Date.now() / 1000);
    base = now - (now % 3600) - 7200;
  });

  describe('repository', () => {
    it('adds samples of the same minute, queue and job, and reads them per step and filter', async () => {
      await repository.record([
        sample(base, 'q1', 'A', 2),
        sample(base, 'q1', 'B', 1),
        sample(base + 60, 'q1', 'A', 4),
      ]);
      // A second flush (another worker's) adds to the same rows and makes a new one.
      await repository.record([
        sample(base, 'q1', 'A', 3, { failed: 1, released: 2 }),
        sample(base + 120, 'q2', 'A', 5),
      ]);

      const perMinute = await repository.read({ since: base, until: base + 3600, step: 60 });
      expect(perMinute.map((s) => [s.minute - base, s.queue, s.job, s.completed, s.failed, s.released])).toEqual([
        [0, 'q1', 'A', 5, 1, 2],
        [0, 'q1', 'B', 1, 0, 0],
        [60, 'q1', 'A', 4, 0, 0],
        [120, 'q2', 'A', 5, 0, 0],
      ]);
      const first = perMinute[0]!;
      expect(first.runtimeMsSum).toBe(15);
      expect(first.waitMsSum).toBe(7500);
      expect(first.runtimeBuckets[2]).toBe(5);
      expect(sum(first.runtimeBuckets)).toBe(5);
      expect(first.waitBuckets[10]).toBe(5);
      expect(first.waitBuckets).toHaveLength(BUCKETS);

      const hourly = await repository.read({ since: base, until: base + 3600, step: 3600 });
      expect(hourly.map((s) => [s.minute - base, s.queue, s.job, s.completed, s.runtimeMsSum])).toEqual([
        [0, 'q1', 'A', 9, 27],
        [0, 'q1', 'B', 1, 3],
        [0, 'q2', 'A', 5, 15],
      ]);
      const fiveMinutes = await repository.read({ since: base + 60, until: base + 3600, step: 300 });
      expect(fiveMinutes.map((s) => [s.minute - base, s.queue, s.job, s.completed])).toEqual([
        [60, 'q1', 'A', 4],
        [60, 'q2', 'A', 5],
      ]);

      const byQueue = await repository.read({ since: base, until: base + 3600, step: 3600, queue: 'q2' });
      expect(byQueue.map((s) => [s.queue, s.job, s.completed])).toEqual([['q2', 'A', 5]]);
      const byJob = await repository.read({ since: base, until: base + 3600, step: 60, job: 'B' });
      expect(byJob.map((s) => [s.minute - base, s.job, s.completed])).toEqual([[0, 'B', 1]]);
      // `until` is exclusive.
      expect(await repository.read({ since: base, until: base + 60, step: 60, job: 'A' })).toHaveLength(1);
    });

    it('prunes the minutes before a bound and keeps the rest', async () => {
      await repository.record([sample(base, 'q1', 'A', 1), sample(base + 3600, 'q1', 'A', 2)]);
      expect(await repository.prune(base + 60)).toBeGreaterThan(0);
      const left = await repository.read({ since: base, until: base + 7200, step: 60 });
      expect(left.map((s) => [s.minute - base, s.completed])).toEqual([[3600, 2]]);
    });

    it('keeps an hourly tier that sums the same as the minutes, and prunes an hour once all its minutes are gone', async () => {
      await repository.record([
        sample(base + 60, 'q1', 'A', 1),
        sample(base + 3540, 'q1', 'A', 2),
        sample(base + 3600, 'q1', 'A', 4),
      ]);
      await repository.record([sample(base + 3660, 'q1', 'A', 8, { failed: 1 })]);
      // Read per hour from the hour rows (the range starts on the hour) and from the minute rows
      // (it does not): the same sums.
      const fromHours = await repository.read({ since: base, until: base + 7200, step: 3600 });
      expect(fromHours.map((s) => [s.minute - base, s.completed, s.failed, sum(s.runtimeBuckets)])).toEqual([
        [0, 3, 0, 3],
        [3600, 12, 1, 12],
      ]);
      const fromMinutes = await repository.read({ since: base + 60, until: base + 7260, step: 3600 });
      expect(fromMinutes.map((s) => [s.minute - base, s.completed, s.failed])).toEqual([
        [60, 7, 0],
        [3660, 8, 1],
      ]);
      // Pruning a minute of the first hour keeps that hour's row; pruning up to its end drops it.
      await repository.prune(base + 120);
      expect((await repository.read({ since: base, until: base + 7200, step: 3600 })).map((s) => s.completed)).toEqual([
        3, 12,
      ]);
      await repository.prune(base + 3600);
      expect(
        (await repository.read({ since: base, until: base + 7200, step: 3600 })).map((s) => [
          s.minute - base,
          s.completed,
        ]),
      ).toEqual([[3600, 12]]);
    });

    it('refuses a sample whose histogram has the wrong number of buckets', async () => {
      await expect(repository.record([sample(base, 'q1', 'A', 1, { runtimeBuckets: [1] })])).rejects.toThrow(
        /runtimeBuckets must hold 17 counts/,
      );
    });
  });

  describe('a worker', () => {
    it('counts every attempt it ends, by queue and job name, and the rows add up exactly', async () => {
      const since = Math.floor(Date.now() / 1000 / 60) * 60;
      for (let i = 0; i < 7; i++) await AddToBufferJob.dispatch(`metrics-${i}`);
      for (let i = 0; i < 3; i++) await RaisingJob.dispatch(`metrics-${i}`);
      await AddToBufferJob.dispatch('elsewhere').onQueue('metrics-other');
      expect(await createWorker({ queues: ['default', 'metrics-other'], stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);

      const samples = await repository.read({ since, until: since + 3600, step: 3600 });
      const totals = samples.map((s) => ({
        queue: s.queue,
        job: s.job,
        completed: s.completed,
        failed: s.failed,
        released: s.released,
        runtimes: sum(s.runtimeBuckets),
        waits: sum(s.waitBuckets),
      }));
      expect(totals).toEqual([
        { queue: 'default', job: 'AddToBufferJob', completed: 7, failed: 0, released: 0, runtimes: 7, waits: 7 },
        // RaisingJob has 3 tries: two released attempts and a failed one each.
        { queue: 'default', job: 'RaisingJob', completed: 0, failed: 3, released: 6, runtimes: 9, waits: 9 },
        { queue: 'metrics-other', job: 'AddToBufferJob', completed: 1, failed: 0, released: 0, runtimes: 1, waits: 1 },
      ]);
    });

    it('counts nothing with metrics.enabled false', async () => {
      await bootWith({ enabled: false });
      const since = Math.floor(Date.now() / 1000 / 60) * 60;
      await AddToBufferJob.dispatch('not-counted');
      expect(await createWorker({ stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);
      expect(await repository.read({ since, until: since + 3600, step: 60 })).toEqual([]);
    });
  });

  describe('a recorder', () => {
    // Redis keys need no table: there is nothing missing to name.
    it.skipIf(engine === 'redis')(
      'says once that the rollup table is missing, naming it and the migration, then counts nothing',
      async () => {
        const app = await runtime();
        const missing = openMetricsRepository(app.queues.worker(), { table: 'no_such_metrics', retention: 1 });
        const reported: unknown[] = [];
        const recorder = new MetricsRecorder(missing, { retention: 1, report: (e) => reported.push(e) });
        recorder.count('q1', 'A', 'completed', 1, 1);
        await recorder.flush();
        recorder.count('q1', 'A', 'completed', 1, 1);
        await recorder.stop();
        expect(reported.map((e) => (e as Error).message)).toEqual([
          expect.stringMatching(
            /^Table \[no_such_metrics\] does not exist .*run `errand migrate`\. The metrics rollup is off/,
          ),
        ]);
      },
    );

    it('flushes its counts in one write and prunes the minutes past its retention', async () => {
      const realNow = Date.now();
      let now = realNow - 30 * 60_000;
      const reported: unknown[] = [];
      const recorder = new MetricsRecorder(repository, {
        retention: 1,
        report: (e) => reported.push(e),
        now: () => now,
      });
      recorder.count('q1', 'A', 'completed', 0.4, 0);
      recorder.count('q1', 'A', 'failed', 70_000, 400_000);
      await recorder.flush();
      const early = Math.floor(now / 60_000) * 60;
      const [first] = await repository.read({ since: early, until: early + 60, step: 60 });
      expect(first).toMatchObject({ completed: 1, failed: 1, released: 0 });
      expect(first!.runtimeBuckets[0]).toBe(1);
      expect(first!.runtimeBuckets[BUCKETS - 2]).toBe(1); // 70 s: within 300 s
      expect(first!.waitBuckets[BUCKETS - 1]).toBe(1); // 400 s: above every bound

      // Two hours on, the next flush prunes: the early minute is past the one hour kept.
      now = realNow + 2 * 3_600_000;
      recorder.count('q1', 'A', 'released', 12, 3);
      await recorder.stop();
      const late = Math.floor(now / 60_000) * 60;
      const left = await repository.read({ since: early, until: late + 60, step: 60 });
      expect(left.map((s) => [s.minute, s.released])).toEqual([[late, 1]]);
      expect(reported).toEqual([]);
    });
  });
});
