import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { METRIC } from '../../src/metrics/metric-names.js';
import { Fleet } from '../helpers/daemon.js';
import { freshStore, selectedEngines, skipUnselected } from '../helpers/databases.js';
import { eventually } from '../helpers/eventually.js';
import { parseExposition } from '../helpers/exposition.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import {
  describeWithPrometheus,
  type PrivatePrometheus,
  promtool,
  startPrometheus,
} from '../helpers/prometheus-server.js';
import { pushJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

const distIndex = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;

// SQLite only (decision 0079): this suite checks what a real Prometheus makes of a worker's
// exposition, which is the same code on every driver; the counts per engine are the metrics
// suites' own. SQLite needs no server, and this file already runs prometheus and a worker.
const suite = selectedEngines().includes('sqlite') ? describeWithPrometheus : skipUnselected;

suite('a real Prometheus scrapes queue:work --metrics-port [sqlite]', () => {
  const fleet = new Fleet();
  let app: StoreApp | undefined;
  let prometheus: PrivatePrometheus | undefined;
  let port: number;
  // Series seen from here on count in the "series unchanged" check.
  const start = Math.floor(Date.now() / 1000) - 1;

  /** `sum by (<by>) (<expr>)` as { "a/b": value }. */
  const sums = async (expr: string, by: string[]) =>
    Object.fromEntries(
      (await prometheus!.query(`sum by (${by.join(', ')}) (${expr})`)).map((s) => [
        by.map((label) => s.metric[label]).join('/'),
        s.value,
      ]),
    );
  const total = async (expr: string) => (await prometheus!.query(`sum(${expr})`))[0]?.value ?? 0;

  beforeAll(async () => {
    const jobs = path.join(mkdtempSync(path.join(os.tmpdir(), 'errand-scrape-')), 'jobs.mjs');
    writeFileSync(
      jobs,
      `import { Job, Queueable } from '${distIndex}';
export const SendEmail = Job({ name: 'SendEmail' })(class SendEmail extends Queueable {
  async handle() {}
});
export const Charge = Job({ name: 'Charge' })(class Charge extends Queueable {
  async handle() { throw new Error('card declined'); }
});
`,
    );
    app = await createWorkerApp(await freshStore('sqlite', 'prometheus_scrape'), {
      bootstrap: [jobs],
      prefix: 'errand-scrape-',
      // A depth sample a second, so the gauges' series are all there before the series are counted.
      config: { metrics: { depth: { interval: 1 } } },
    });
    port = await freeLoopbackPort();
    const worker = fleet.start(
      ['queue:work', '--metrics-port', String(port), '--concurrency=8', '--sleep=0.2'],
      app.dir,
      app.env,
    );
    await worker.waitFor(new RegExp(`Serving metrics at http://127\\.0\\.0\\.1:${port}/metrics`));
    // honor_labels: errand's `job` label (the job's name) would otherwise be renamed exported_job,
    // as Prometheus gives `job` to the scrape job (docs/monitoring.md#scraping-a-worker).
    prometheus = await startPrometheus({ targets: [`127.0.0.1:${port}`], honorLabels: true });
  }, 120_000);

  afterAll(async () => {
    try {
      await prometheus?.stop();
    } finally {
      try {
        await fleet.killAll();
      } finally {
        await app?.close();
      }
    }
  });

  it('counts exactly 100 completed SendEmail and 10 failed Charge attempts, and the histograms count the same', async () => {
    await pushJobsForTest(app!.queue(), 110, (i) =>
      i < 100
        ? { name: 'SendEmail', command: { to: `user-${i}@example.com` } }
        : { name: 'Charge', command: { amount: i }, maxTries: 1 },
    );
    await eventually(
      'Prometheus has scraped 110 ended attempts',
      async () => (await total(METRIC.processed)) === 110,
      90_000,
    );
    expect(await prometheus!.targets()).toEqual(new Map([[`http://127.0.0.1:${port}/metrics`, 'up']]));

    const completed = await prometheus!.query(
      `${METRIC.processed}{queue="default", job="SendEmail", outcome="completed"}`,
    );
    expect(completed.map((s) => [s.metric.connection, s.value])).toEqual([['database', 100]]);
    const failed = await prometheus!.query(`${METRIC.processed}{queue="default", job="Charge", outcome="failed"}`);
    expect(failed.map((s) => s.value)).toEqual([10]);
    // No other outcome, job or queue.
    const byOutcome = { 'default/SendEmail/completed': 100, 'default/Charge/failed': 10 };
    expect(await sums(METRIC.processed, ['queue', 'job', 'outcome'])).toEqual(byOutcome);
    expect(await sums(`${METRIC.duration}_count`, ['queue', 'job', 'outcome'])).toEqual(byOutcome);
    expect(await sums(`${METRIC.duration}_bucket{le="+Inf"}`, ['queue', 'job', 'outcome'])).toEqual(byOutcome);
    expect(await sums(`${METRIC.wait}_count`, ['queue', 'job'])).toEqual({
      'default/SendEmail': 100,
      'default/Charge': 10,
    });
  });

  it('serves an exposition that parses: every family has HELP and TYPE, and promtool check metrics finds nothing', async () => {
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    // The parser throws on a sample of a family without HELP and TYPE, or on any unreadable line.
    const { families, samples } = parseExposition(text);
    const errand = [...families.keys()].filter((name) => name.startsWith('errand_'));
    expect(errand).toEqual(expect.arrayContaining([METRIC.processed, METRIC.duration, METRIC.wait]));
    expect(errand.filter((name) => !(Object.values(METRIC) as string[]).includes(name))).toEqual([]);
    for (const family of families.values()) expect(family.help, `HELP of ${family.name}`).toMatch(/\S/);
    expect(families.get(METRIC.processed)!.type).toBe('counter');
    expect(families.get(METRIC.duration)!.type).toBe('histogram');
    // What Prometheus stored is what the page says.
    const sample = samples.find(
      (s) => s.name === METRIC.processed && s.labels.job === 'Charge' && s.labels.outcome === 'failed',
    );
    expect(sample?.value).toBe(10);
    // Prometheus's own parser and linter (naming, HELP, units).
    const checked = await promtool(['check', 'metrics'], { stdin: text });
    expect(`${checked.stdout}${checked.stderr}`).toBe('');
    expect(checked.code).toBe(0);
  });

  it('10,000 jobs with distinct payloads and tenants leave the number of series unchanged', async () => {
    const seriesCount = async () => (await prometheus!.query('count({__name__=~"errand_.*"})'))[0]?.value;
    // The depth gauges' series settle once a sample taken after the last attempt has been scraped.
    await eventually(
      'Prometheus has scraped a depth sample holding the 10 failed jobs and no job left',
      async () =>
        (await total(`${METRIC.failedJobs}{connection="database", queue="default"}`)) === 10 &&
        (await total(`${METRIC.queueJobs}{connection="database"}`)) === 0,
      30_000,
    );
    // The one worker samples, and sees itself and an empty queue.
    expect(await total(METRIC.depthSampler)).toBe(1);
    expect(await total(`${METRIC.workers}{connection="database"}`)).toBe(1);
    expect(await sums(`${METRIC.queueJobs}{connection="database"}`, ['queue', 'state'])).toEqual({
      'default/pending': 0,
      'default/delayed': 0,
      'default/reserved': 0,
    });
    const before = await seriesCount();
    const seenBefore = await prometheus!.series('{__name__=~"errand_.*"}', start);
    expect(before).toBeGreaterThan(10);
    expect(seenBefore.length).toBeGreaterThanOrEqual(before!);

    await pushJobsForTest(app!.queue(), 10_000, (i) => ({
      name: 'SendEmail',
      command: { to: `user-${i}@tenant-${i}.example`, tenant: `tenant-${i}`, orderId: randomUUID() },
    }));
    await eventually(
      'Prometheus has scraped 10,100 completed SendEmail attempts',
      async () => (await total(`${METRIC.processed}{job="SendEmail", outcome="completed"}`)) === 10_100,
      240_000,
    );

    expect(await seriesCount()).toBe(before);
    // Not one series appeared at any scrape since the suite began, tenants' or otherwise.
    const seenAfter = await prometheus!.series('{__name__=~"errand_.*"}', start);
    expect(seenAfter).toEqual(seenBefore);
    expect(seenAfter.filter((series) => /tenant-|@|[0-9a-f]{8}-[0-9a-f]{4}-/.test(series))).toEqual([]);
    expect(await sums(`${METRIC.duration}_count`, ['job', 'outcome'])).toEqual({
      'SendEmail/completed': 10_100,
      'Charge/failed': 10,
    });
  }, 300_000);

  it("without honor_labels, Prometheus renames errand's job label exported_job (why the docs set honor_labels: true)", async () => {
    const plain = await startPrometheus({ targets: [`127.0.0.1:${port}`] });
    try {
      await eventually(
        'a Prometheus without honor_labels has scraped the worker',
        async () => (await plain.query(`sum(${METRIC.processed})`))[0]?.value === 10_110,
        30_000,
      );
      const completed = await plain.query(`${METRIC.processed}{outcome="completed"}`);
      expect(completed.map((s) => [s.metric.job, s.metric.exported_job, s.value])).toEqual([
        ['errand', 'SendEmail', 10_100],
      ]);
    } finally {
      await plain.stop();
    }
  });
});
