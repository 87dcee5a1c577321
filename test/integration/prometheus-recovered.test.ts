// errand_jobs_recovered_total for reservations that outlived retryAfter (heartbeats off, or a
// worker that stopped renewing): the claim that takes them back counts them per queue, on every
// store, as the monitor's sweep counts a dead worker's jobs.
import { Registry } from 'prom-client';
import { afterAll, beforeAll, expect, it } from 'vitest';

import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { registerErrandMetrics, resetErrandMetrics } from '../../src/metrics/errand-metrics.js';
import { METRIC } from '../../src/metrics/metric-names.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { AddToBufferJob } from '../fixtures/jobs/fixture-jobs.js';
import { describeEachEngine, freshStore, storeConnections, type TestStore } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { parseExposition, sampleLines } from '../helpers/exposition.js';

await describeEachEngine('jobs recovered from expired reservations', (engine) => {
  let store: TestStore;

  beforeAll(async () => {
    store = await freshStore(engine, 'prom_recovered');
    const connections = storeConnections(store);
    // A one-second reservation no heartbeat renews: what a worker that stopped renewing leaves.
    const lapsing = { retryAfter: 1, heartbeat: false as const };
    await boot({
      default: store.default,
      connections: {
        database: { ...connections.database, ...lapsing },
        ...(connections.redis ? { redis: { ...connections.redis, ...lapsing } } : {}),
      },
    });
    await runMigrations();
  });
  afterAll(async () => {
    resetErrandMetrics();
    await shutdown();
  });

  it('the claim that takes back reservations older than retryAfter counts them, per queue', async () => {
    resetErrandMetrics();
    const { registry } = registerErrandMetrics(new Registry(), { depth: false });
    await AddToBufferJob.dispatch('a').onQueue('prom-lapsed');
    await AddToBufferJob.dispatch('b').onQueue('prom-lapsed');
    const driver = (await runtime()).queues.connection(store.default) as unknown as WorkerQueue;
    expect(await driver.claim('prom-lapsed', 2, 'stopped-renewing')).toHaveLength(2);

    // Nothing is due until the reservations expire on the store's clock; then a claim takes both back.
    const again: ReservedJob[] = [];
    await eventually('a claim takes the expired reservations back', async () => {
      again.push(...(await driver.claim('prom-lapsed', 2, 'next')));
      return again.length === 2;
    });
    expect(again.map((job) => job.attempts)).toEqual([2, 2]);
    expect(sampleLines(parseExposition(await registry.metrics()), METRIC.recovered)).toEqual([
      `connection=${store.default},queue=prom-lapsed 2`,
    ]);
  });
});
