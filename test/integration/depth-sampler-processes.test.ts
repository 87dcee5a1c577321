// The depth sampler across real worker processes (decision 0075), on every store: of two
// `queue:work --metrics-port` workers exactly one exports the depth gauges; when it exits the other
// takes over, and a worker that exits lets the sampler lease go instead of leaving it to lapse.

import { afterAll, beforeAll, expect, it } from 'vitest';

import { openLockStore } from '../../src/drivers/connect.js';
import { METRIC } from '../../src/metrics/metric-names.js';
import { DEPTH_SAMPLER_LOCK } from '../../src/metrics/sampler-lease.js';
import { describeEachEngine, freshStore } from '../helpers/databases.js';
import { type Exposition, parseExposition, sampleLines, sampleValue } from '../helpers/exposition.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import { dispatchJobs, ProcessPool, TIMEOUT_JOBS, waitUntil } from '../helpers/timeout-jobs-kit.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

async function scrape(port: number): Promise<Exposition> {
  return parseExposition(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
}

await describeEachEngine('the depth sampler across worker processes', (engine) => {
  const pool = new ProcessPool();
  let app: StoreApp;
  let connection: string;

  beforeAll(async () => {
    const store = await freshStore(engine, 'depth_sampler_processes');
    connection = store.default;
    app = await createWorkerApp(store, {
      bootstrap: [TIMEOUT_JOBS],
      prefix: 'errand-depth-sampler-',
      // A sample a second, so a take-over shows within the test's patience.
      config: { metrics: { depth: { interval: 1 } } },
    });
  });
  afterAll(async () => {
    await pool.killAll();
    await app?.close();
  });

  it('lets one of two workers export the depth gauges, the other take over when it exits, and an exit free the lease', async () => {
    // Two jobs on a queue neither worker serves: the sampler shows them pending.
    await dispatchJobs(app, [
      { job: 'QuickJob', args: ['d1'], queue: 'parked' },
      { job: 'QuickJob', args: ['d2'], queue: 'parked' },
    ]);
    const ports = [await freeLoopbackPort(), await freeLoopbackPort()];
    const workers = ports.map((port) => pool.start(['queue:work', '--sleep=0.2', `--metrics-port=${port}`], app));
    for (const [i, worker] of workers.entries())
      await worker.waitFor(new RegExp(`127\\.0\\.0\\.1:${ports[i]}/metrics`));
    const parked = { connection, queue: 'parked', state: 'pending' };

    let scraped: Exposition[] = [];
    await waitUntil(
      async () => {
        scraped = await Promise.all(ports.map(scrape));
        const flags = scraped.map((e) => sampleValue(e, METRIC.depthSampler));
        return flags.includes(1) && scraped.every((e) => e.families.has(METRIC.depthSampler));
      },
      'a worker to win the sampler lease',
      30_000,
    );
    const holder = scraped.findIndex((e) => sampleValue(e, METRIC.depthSampler) === 1);
    const other = 1 - holder;
    expect(sampleValue(scraped[other]!, METRIC.depthSampler)).toBe(0);
    expect(sampleLines(scraped[other]!, METRIC.queueJobs)).toEqual([]);
    expect(sampleValue(scraped[holder]!, METRIC.queueJobs, parked)).toBe(2);

    workers[holder]!.child.kill('SIGTERM');
    expect((await workers[holder]!.exited).code).toBe(0);
    await waitUntil(
      async () => sampleValue(await scrape(ports[other]!), METRIC.depthSampler) === 1,
      'the other worker to take the sampler lease over',
      30_000,
    );
    expect(sampleValue(await scrape(ports[other]!), METRIC.queueJobs, parked)).toBe(2);

    workers[other]!.child.kill('SIGTERM');
    expect((await workers[other]!.exited).code).toBe(0);
    // The last worker let the lease go on its way out: nobody holds it now.
    expect(await openLockStore(app.queue(), 'locks').owner(DEPTH_SAMPLER_LOCK)).toBeNull();
  });
});
