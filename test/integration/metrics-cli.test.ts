// The CLI's metrics on every store: `queue:work --metrics-port` serves the worker's counts at
// /metrics (scraped with fetch while it runs, 404 elsewhere, a taken port refused by host:port),
// and `errand metrics` prints an exposition that parses, with the depth gauges sampled once.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { METRIC } from '../../src/metrics/metric-names.js';
import { describeEachEngine, freshDatabase, freshStore } from '../helpers/databases.js';
import { parseExposition, sampleLines, sampleValue } from '../helpers/exposition.js';
import { freeLoopbackPort } from '../helpers/free-port.js';
import { ROOT, runCli, runNode } from '../helpers/run-cli.js';
import { dispatchJobs, ProcessPool, TIMEOUT_JOBS, waitUntil } from '../helpers/timeout-jobs-kit.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

await describeEachEngine('metrics from the CLI', (engine) => {
  const pool = new ProcessPool();
  let app: StoreApp;
  let connection: string;

  beforeAll(async () => {
    const store = await freshStore(engine, 'metrics_cli');
    connection = store.default;
    app = await createWorkerApp(store, {
      bootstrap: [TIMEOUT_JOBS],
      prefix: 'errand-metrics-cli-',
      // Short, so the recovery test's dead worker lapses while the live one beats and sweeps.
      overrides: { heartbeat: { interval: 1, lapse: 2 } },
    });
  });
  afterAll(async () => {
    await pool.killAll();
    await app?.close();
  });

  it('queue:work --metrics-port serves the worker’s counts at /metrics while it runs', async () => {
    const port = await freeLoopbackPort();
    await dispatchJobs(app, [
      { job: 'QuickJob', args: ['q1'] },
      { job: 'QuickJob', args: ['q2'] },
      { job: 'QuickJob', args: ['q3'] },
      { job: 'ThrowingJob', args: ['t1'] },
    ]);
    const worker = pool.start(['queue:work', '--sleep=0.2', `--metrics-port=${port}`], app);
    await worker.waitFor(new RegExp(`Serving metrics at http://127\\.0\\.0\\.1:${port}/metrics`));
    const url = `http://127.0.0.1:${port}/metrics`;
    let text = '';
    await waitUntil(
      async () => {
        text = await (await fetch(url)).text();
        const parsed = parseExposition(text);
        return (
          sampleValue(parsed, METRIC.processed, { job: 'QuickJob', outcome: 'completed' }) === 3 &&
          sampleValue(parsed, METRIC.processed, { job: 'ThrowingJob', outcome: 'failed' }) === 1
        );
      },
      'the worker to run the four jobs',
      30_000,
      () => text,
    );
    const parsed = parseExposition(text);
    expect(sampleLines(parsed, METRIC.processed)).toEqual([
      `connection=${connection},queue=default,job=QuickJob,outcome=completed 3`,
      `connection=${connection},queue=default,job=ThrowingJob,outcome=failed 1`,
    ]);
    expect(sampleLines(parsed, `${METRIC.duration}_count`)).toEqual(sampleLines(parsed, METRIC.processed));
    // The depth gauges are there too: this worker is the only process, so it holds the sampler lease.
    expect(parsed.families.has(METRIC.depthSampler)).toBe(true);
    expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(404);

    // A second worker on the same port is refused before it claims anything, naming host:port.
    const second = await runCli(['queue:work', `--metrics-port=${port}`], app.dir, app.env);
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(`--metrics-port: 127.0.0.1:${port} is already in use`);
    expect(second.stderr).toContain('%(process_num)');
    // --metrics-host alone serves nothing: an error naming both options, not silently ignored.
    const hostOnly = await runCli(['queue:work', '--metrics-host=0.0.0.0'], app.dir, app.env);
    expect(hostOnly.code).toBe(1);
    expect(hostOnly.stderr).toContain('--metrics-host 0.0.0.0 was given without --metrics-port');

    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('a worker counts the jobs its sweep takes back from a dead worker, per queue', async () => {
    await dispatchJobs(app, [
      { job: 'QuickJob', args: ['r1'], queue: 'cli-recover' },
      { job: 'QuickJob', args: ['r2'], queue: 'cli-recover' },
    ]);
    const queue = app.queue();
    await queue.registerWorker({
      id: 'metrics-dead-worker',
      name: 'dead',
      connection,
      queues: ['cli-recover'],
      hostname: 'elsewhere',
      pid: 1,
      concurrency: 2,
    });
    expect(await queue.claim('cli-recover', 2, 'metrics-dead-worker')).toHaveLength(2);
    // The dead worker never beats: once its lapse passes, the live worker's monitor sweeps it.
    const port = await freeLoopbackPort();
    const worker = pool.start(['queue:work', '--queue=cli-recover', '--sleep=0.2', `--metrics-port=${port}`], app);
    await worker.waitFor(/Serving metrics at/);
    let text = '';
    await waitUntil(
      async () => {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        return sampleValue(parseExposition(text), METRIC.processed, { queue: 'cli-recover' }) === 2;
      },
      'the sweep to take the two jobs back and the worker to run them',
      30_000,
      () => text,
    );
    const parsed = parseExposition(text);
    expect(sampleLines(parsed, METRIC.recovered)).toEqual([`connection=${connection},queue=cli-recover 2`]);
    expect(sampleLines(parsed, METRIC.processed)).toEqual([
      `connection=${connection},queue=cli-recover,job=QuickJob,outcome=completed 2`,
    ]);
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('errand metrics prints an exposition that parses, with the depth gauges sampled once', async () => {
    await dispatchJobs(app, [
      { job: 'QuickJob', args: ['p1'], queue: 'cli-later' },
      { job: 'QuickJob', args: ['p2'], queue: 'cli-later' },
    ]);
    const result = await runCli(['metrics'], app.dir, app.env);
    expect(result.code, result.stderr).toBe(0);
    const parsed = parseExposition(result.stdout);
    for (const name of Object.values(METRIC)) expect(parsed.families.has(name), name).toBe(true);
    expect(sampleValue(parsed, METRIC.queueJobs, { connection, queue: 'cli-later', state: 'pending' })).toBe(2);
    // This process ran nothing: its counters have no series.
    expect(sampleLines(parsed, METRIC.processed)).toEqual([]);

    const open = await runCli(['metrics', '--openmetrics'], app.dir, app.env);
    expect(open.stdout.endsWith('# EOF\n')).toBe(true);
    expect(sampleValue(parseExposition(open.stdout), METRIC.queueJobs, { queue: 'cli-later', state: 'pending' })).toBe(
      2,
    );

    const unknown = await runCli(['metrics', '--connection=nope'], app.dir, app.env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('--connection: no connection is named [nope]');
  });
});

describe('errand metrics when a connection cannot be read', () => {
  it('prints the others, errand_depth_sample_up 0 for it, and exits non-zero naming it', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-metrics-down-'));
    const write = (connections: object) =>
      writeFileSync(
        path.join(dir, 'errand.config.mjs'),
        `export default ${JSON.stringify({ default: 'database', connections })};\n`,
      );
    const database = await freshDatabase('sqlite', 'metrics_cli_down');
    write({ database });
    expect((await runCli(['migrate'], dir)).code).toBe(0);
    // Down from the start: no sample of it ever succeeded.
    write({ database, down: { driver: 'database', client: 'pg', connection: 'postgres://postgres@127.0.0.1:1/none' } });
    const result = await runCli(['metrics'], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('could not sample connection [down] (127.0.0.1:1)');
    expect(result.stderr).toContain('errand metrics: the depth sample of [down] failed.');
    const up = parseExposition(result.stdout).samples.filter((sample) => sample.name === METRIC.depthSampleUp);
    expect(up.map((sample) => [sample.labels.connection, sample.value])).toEqual([
      ['database', 1],
      ['down', 0],
    ]);
  });
});

describe('metricsHandler() in an app that has not booted errand', () => {
  it('boots nothing: no database is created, and the depth gauges say the process is not the sampler', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-metrics-unbooted-'));
    const script = path.join(dir, 'app.mjs');
    const dist = (file: string) => JSON.stringify(pathToFileURL(path.join(ROOT, 'dist', file)).href);
    writeFileSync(
      script,
      [
        `import ${dist('index.js')};`,
        `import { registerErrandMetrics, metricsHandler } from ${dist('metrics/index.js')};`,
        'const handler = metricsHandler();',
        'await registerErrandMetrics().depth.sampleNow();',
        "const response = await handler(new Request('http://app/metrics'));",
        'process.stdout.write(await response.text());',
      ].join('\n'),
    );
    const result = await runNode([script], dir);
    expect(result.code, result.stderr).toBe(0);
    expect(existsSync(path.join(dir, '.errand'))).toBe(false);
    const sampler = parseExposition(result.stdout).samples.filter((sample) => sample.name === METRIC.depthSampler);
    expect(sampler.map((sample) => sample.value)).toEqual([0]);
  });
});
