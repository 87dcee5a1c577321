// errand's Prometheus counters and histograms on every store: an in-process worker runs
// successes, failures, a timeout and a release, with jobs stored by dispatch, bulk, a chain, a
// batch and a retried failed job, and the exposition says exactly what happened.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { Queue } from '../../src/bus/queue.js';
import { retryFailedJob } from '../../src/failed/retry-failed-job.js';
import { registerErrandMetrics, resetErrandMetrics } from '../../src/metrics/errand-metrics.js';
import { METRIC } from '../../src/metrics/metric-names.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { AddToBufferJob, RaisingJob, SelfManagingJob, SlowJob } from '../fixtures/jobs/fixture-jobs.js';
import { describeEachEngine, freshStore, storeConnections, type TestStore } from '../helpers/databases.js';
import { parseExposition, sampleLines } from '../helpers/exposition.js';

await describeEachEngine('Prometheus metrics of a worker', (engine) => {
  let store: TestStore;
  let registry: { metrics(): Promise<string> };

  beforeAll(async () => {
    store = await freshStore(engine, 'prom_metrics');
    await boot({ default: store.default, connections: storeConnections(store) });
    await runMigrations();
  });
  afterAll(async () => {
    resetErrandMetrics();
    await shutdown();
  });
  beforeEach(() => {
    resetErrandMetrics();
    registry = registerErrandMetrics(new Registry(), { depth: false }).registry;
  });

  const scrape = async () => parseExposition(await registry.metrics());
  const connection = () => store.default;

  describe('counts', () => {
    it('every stored job and every ended attempt exactly, by connection, queue, job and outcome', async () => {
      for (let i = 0; i < 5; i++) await AddToBufferJob.dispatch(`ok-${i}`);
      await Queue.bulk([new AddToBufferJob('b1'), new AddToBufferJob('b2'), new AddToBufferJob('b3')], {
        queue: 'prom-bulk',
      });
      await Bus.chain([new AddToBufferJob('c1'), new AddToBufferJob('c2')]).dispatch();
      await Bus.batch([new AddToBufferJob('batch-1'), new AddToBufferJob('batch-2')]).dispatch();
      // tries 3: two released attempts, then failed.
      for (let i = 0; i < 2; i++) await RaisingJob.dispatch(`fail-${i}`);
      // timeout 1 s, tries 1: ended by its timeout, then failed.
      await SlowJob.dispatch(1500);
      // Releases itself on attempt 1, completes on attempt 2.
      await SelfManagingJob.dispatch('release');

      const c = connection();
      // Before the worker: only the dispatches (the chain's second link is not stored yet).
      expect(sampleLines(await scrape(), METRIC.dispatched)).toEqual(
        [
          `connection=${c},queue=default,job=AddToBufferJob 8`,
          `connection=${c},queue=prom-bulk,job=AddToBufferJob 3`,
          `connection=${c},queue=default,job=RaisingJob 2`,
          `connection=${c},queue=default,job=SelfManagingJob 1`,
          `connection=${c},queue=default,job=SlowJob 1`,
        ].sort(),
      );

      expect(await createWorker({ queues: ['default', 'prom-bulk'], stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);

      const afterRun = await scrape();
      expect(sampleLines(afterRun, METRIC.processed)).toEqual(
        [
          `connection=${c},queue=default,job=AddToBufferJob,outcome=completed 9`,
          `connection=${c},queue=prom-bulk,job=AddToBufferJob,outcome=completed 3`,
          `connection=${c},queue=default,job=RaisingJob,outcome=released 4`,
          `connection=${c},queue=default,job=RaisingJob,outcome=failed 2`,
          `connection=${c},queue=default,job=SlowJob,outcome=timed_out 1`,
          `connection=${c},queue=default,job=SelfManagingJob,outcome=released 1`,
          `connection=${c},queue=default,job=SelfManagingJob,outcome=completed 1`,
        ].sort(),
      );
      // Every ended attempt is observed once in the run-time histogram, under the same labels.
      expect(sampleLines(afterRun, `${METRIC.duration}_count`)).toEqual(sampleLines(afterRun, METRIC.processed));
      // The wait of every claim.
      expect(sampleLines(afterRun, `${METRIC.wait}_count`)).toEqual(
        [
          `connection=${c},queue=default,job=AddToBufferJob 9`,
          `connection=${c},queue=prom-bulk,job=AddToBufferJob 3`,
          `connection=${c},queue=default,job=RaisingJob 6`,
          `connection=${c},queue=default,job=SlowJob 1`,
          `connection=${c},queue=default,job=SelfManagingJob 2`,
        ].sort(),
      );
      // The chain's second link was stored when the first succeeded.
      expect(sampleLines(afterRun, METRIC.dispatched)).toContain(`connection=${c},queue=default,job=AddToBufferJob 9`);

      // A failed job pushed back counts as dispatched again.
      const app = await runtime();
      const failed = await app.queues.failer().all();
      const raising = failed.find((record) => record.payload.includes('"RaisingJob"'))!;
      await retryFailedJob(app, raising.uuid);
      expect(sampleLines(await scrape(), METRIC.dispatched)).toContain(
        `connection=${c},queue=default,job=RaisingJob 3`,
      );
      await Queue.clear('default');
    });

    it('as many series for 200 jobs with distinct payloads as for one', async () => {
      const series = async () => (await scrape()).samples.length;
      await AddToBufferJob.dispatch('tenant-0').onQueue('prom-series');
      expect(await createWorker({ queues: ['prom-series'], stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);
      const afterOne = await series();
      expect(afterOne).toBeGreaterThan(0);
      await Queue.bulk(
        Array.from({ length: 200 }, (_, i) => new AddToBufferJob(`tenant-${i + 1}-${Math.random()}`)),
        { queue: 'prom-series' },
      );
      expect(await createWorker({ queues: ['prom-series'], stopWhenEmpty: true, sleep: 0 }).run()).toBe(0);
      expect(await series()).toBe(afterOne);
      expect(sampleLines(await scrape(), METRIC.processed)).toEqual([
        `connection=${connection()},queue=prom-series,job=AddToBufferJob,outcome=completed 201`,
      ]);
    });
  });
});
