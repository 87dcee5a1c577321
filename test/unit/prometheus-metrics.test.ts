// errand/metrics in one process: the families and their labels, registration into one or more
// registries, the sink the hot paths call, the processor's outcomes (lease_lost and an unreadable
// payload included), and both handler forms with their content types.
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Counter, Registry } from 'prom-client';
import { container } from 'tsyringe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from '../../src/bus/queue.js';
import type { FailedJobStore } from '../../src/contracts/failed-job-store.js';
import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import type { DashboardData } from '../../src/dashboard/dashboard-api.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { EventBus } from '../../src/events/event-bus.js';
import { registerErrandMetrics, resetErrandMetrics } from '../../src/metrics/errand-metrics.js';
import { DURATION_BUCKETS, METRIC, PROCESSED_OUTCOMES } from '../../src/metrics/metric-names.js';
import { metricsHandler } from '../../src/metrics/metrics-handler.js';
import { serveMetrics } from '../../src/metrics/metrics-server.js';
import { jobLabelOf, jobLabelOfText, processMetrics, UNKNOWN_JOB } from '../../src/metrics/process-metrics.js';
import { encodePayload, registeredJobOf } from '../../src/payload/encode-payload.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { JobProcessor } from '../../src/worker/job-processor.js';
import { AddToBufferJob } from '../fixtures/jobs/fixture-jobs.js';
import { parseExposition, sampleLines, sampleValue } from '../helpers/exposition.js';

const TEXT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
const OPENMETRICS_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

beforeAll(() => boot({ default: 'sync', connections: { sync: { driver: 'sync' } } }));
afterAll(() => shutdown());
afterEach(() => resetErrandMetrics());

const sink = () => {
  if (!processMetrics) throw new Error('no sink installed');
  return processMetrics;
};

describe('registerErrandMetrics', () => {
  it('registers the five counter and histogram families, each with HELP and TYPE, and installs the sink', async () => {
    expect(processMetrics).toBeUndefined();
    const { registry } = registerErrandMetrics(new Registry(), { depth: false });
    expect(processMetrics).toBeDefined();
    const parsed = parseExposition(await registry.metrics());
    expect([...parsed.families.values()].map((f) => [f.name, f.type]).sort()).toEqual(
      [
        [METRIC.dispatched, 'counter'],
        [METRIC.processed, 'counter'],
        [METRIC.duration, 'histogram'],
        [METRIC.wait, 'histogram'],
        [METRIC.recovered, 'counter'],
      ].sort(),
    );
    for (const family of parsed.families.values()) expect(family.help.length).toBeGreaterThan(20);
    expect(parsed.samples).toEqual([]);
  });

  it('labels with connection, queue, job and outcome only; the series stay as many however often a job runs', async () => {
    const { registry } = registerErrandMetrics(new Registry(), { depth: false });
    for (let i = 0; i < 500; i++) {
      sink().dispatched('db', 'emails', 'SendEmail', 1);
      sink().processed('db', 'emails', 'SendEmail', PROCESSED_OUTCOMES[i % 5]!, i / 100, i / 10);
    }
    sink().recovered('db', 'emails', 3);
    const parsed = parseExposition(await registry.metrics());
    const allowed = new Set(['connection', 'queue', 'job', 'outcome', 'le']);
    for (const sample of parsed.samples)
      for (const label of Object.keys(sample.labels)) expect(allowed).toContain(label);
    expect(sampleValue(parsed, METRIC.dispatched, { job: 'SendEmail' })).toBe(500);
    for (const outcome of PROCESSED_OUTCOMES) {
      expect(sampleValue(parsed, METRIC.processed, { outcome })).toBe(100);
      expect(sampleValue(parsed, `${METRIC.duration}_count`, { outcome })).toBe(100);
    }
    expect(sampleValue(parsed, `${METRIC.wait}_count`, { job: 'SendEmail' })).toBe(500);
    expect(sampleValue(parsed, METRIC.recovered, { queue: 'emails' })).toBe(3);
    // One series per outcome (and per bucket): 500 runs, not 500 series.
    const buckets = DURATION_BUCKETS.length + 1;
    expect(parsed.samples.filter((s) => s.name === `${METRIC.duration}_bucket`)).toHaveLength(5 * buckets);
    expect(parsed.samples.filter((s) => s.name === METRIC.processed)).toHaveLength(5);
  });

  it('is idempotent per registry, and a second registry shows the same families with the same counts', async () => {
    const first = registerErrandMetrics(new Registry(), { depth: false });
    expect(registerErrandMetrics(first.registry)).toBe(first);
    sink().dispatched('db', 'default', 'A', 2);
    const second = registerErrandMetrics(new Registry(), { depth: false });
    expect(second.registry).not.toBe(first.registry);
    sink().dispatched('db', 'default', 'A', 1);
    for (const { registry } of [first, second])
      expect(sampleValue(parseExposition(await registry.metrics()), METRIC.dispatched, { job: 'A' })).toBe(3);
    // With no registry: errand's own, the same one each time.
    expect(registerErrandMetrics().registry).toBe(registerErrandMetrics().registry);
  });

  it('registers the depth gauges unless depth: false, one sampler for every registry of the process; stop() takes them out, not the counters', async () => {
    const first = registerErrandMetrics(new Registry());
    const second = registerErrandMetrics(new Registry());
    expect(first.depth).toBeDefined();
    expect(second.depth).toBe(first.depth);
    for (const { registry } of [first, second])
      expect(parseExposition(await registry.metrics()).families.has(METRIC.depthSampler)).toBe(true);
    expect(registerErrandMetrics(new Registry(), { depth: false }).depth).toBeUndefined();
    first.stop();
    for (const { registry } of [first, second]) {
      const families = parseExposition(await registry.metrics()).families;
      expect(families.has(METRIC.depthSampler)).toBe(false);
      expect(families.has(METRIC.processed)).toBe(true);
    }
    // Registered again after stop(), the registry gets depth gauges anew.
    const again = registerErrandMetrics(first.registry);
    expect(again).not.toBe(first);
    expect(again.depth).toBeDefined();
    expect(parseExposition(await again.registry.metrics()).families.has(METRIC.depthSampler)).toBe(true);
  });

  it("refuses a registry that holds another metric under one of errand's names, naming it", () => {
    const registry = new Registry();
    new Counter({ name: METRIC.dispatched, help: 'the app’s own', registers: [registry] });
    expect(() => registerErrandMetrics(registry, { depth: false })).toThrow(ConfigError);
    expect(() => registerErrandMetrics(registry, { depth: false })).toThrow(
      /\[errand_jobs_dispatched_total\] that is not errand's/,
    );
  });
});

describe('dispatched', () => {
  it('counts nothing on the sync connection, which runs the job instead of storing it', async () => {
    const { registry } = registerErrandMetrics(new Registry(), { depth: false });
    await AddToBufferJob.dispatch('inline');
    await Queue.bulk([new AddToBufferJob('inline-bulk')]);
    expect(sampleLines(parseExposition(await registry.metrics()), METRIC.dispatched)).toEqual([]);
  });
});

describe('the job label', () => {
  it('is the registered name, never the display name; unreadable payloads are "unknown"', () => {
    expect(jobLabelOf({ data: { commandName: 'SendEmail' } })).toBe('SendEmail');
    expect(jobLabelOf(undefined)).toBe(UNKNOWN_JOB);
    expect(jobLabelOf({ data: {} })).toBe(UNKNOWN_JOB);
    expect(jobLabelOfText('{"displayName":"Order 42","data":{"commandName":"Ship"}}')).toBe('Ship');
    expect(jobLabelOfText('{not json')).toBe(UNKNOWN_JOB);
  });
});

describe('the processor', () => {
  const reserved = (payload: string, waitMs?: number): ReservedJob => ({
    id: '1',
    queue: 'q',
    payload,
    attempts: 1,
    exceptions: 0,
    reservedBy: 'lease',
    waitMs,
  });
  const processor = (deps: { finish?: () => Promise<boolean>; fail?: () => Promise<boolean> }) =>
    new JobProcessor({
      driver: {
        connectionName: 'conn',
        defaultQueue: 'q',
        fail: deps.fail ?? (async () => true),
      } as unknown as WorkerQueue,
      failer: { log: async () => undefined } as unknown as FailedJobStore,
      events: new EventBus(() => undefined),
      container,
      options: { tries: 1, backoff: 0, timeout: 0 },
      report: () => undefined,
      finish: deps.finish,
    });
  const payloadOf = (job: object) => JSON.stringify(encodePayload(job, registeredJobOf(job).options, {}));

  it('counts completed with its wait, lease_lost when the finishing write finds the lease gone, and an unreadable job as unknown', async () => {
    const { registry } = registerErrandMetrics(new Registry(), { depth: false });
    expect(
      await processor({ finish: async () => true }).process(reserved(payloadOf(new AddToBufferJob('a')), 1500)),
    ).toBe('deleted');
    expect(await processor({ finish: async () => false }).process(reserved(payloadOf(new AddToBufferJob('b'))))).toBe(
      'lost',
    );
    expect(await processor({}).process(reserved('{"broken'))).toBe('failed');
    const parsed = parseExposition(await registry.metrics());
    expect(sampleLines(parsed, METRIC.processed)).toEqual([
      'connection=conn,queue=q,job=AddToBufferJob,outcome=completed 1',
      'connection=conn,queue=q,job=AddToBufferJob,outcome=lease_lost 1',
      'connection=conn,queue=q,job=unknown,outcome=failed 1',
    ]);
    // The wait is observed only where the store said it: the first claim.
    expect(sampleLines(parsed, `${METRIC.wait}_sum`)).toEqual(['connection=conn,queue=q,job=AddToBufferJob 1.5']);
    expect(sampleLines(parsed, `${METRIC.duration}_count`)).toHaveLength(3);
  });
});

describe('metricsHandler', () => {
  it('serves text 0.0.4 by default and OpenMetrics when asked, without renaming the counters for later scrapes', async () => {
    const registry = new Registry();
    registerErrandMetrics(registry, { depth: false });
    sink().dispatched('db', 'default', 'A', 4);
    const handler = metricsHandler({ registry });

    const text = await handler(new Request('http://x/metrics'));
    expect(text.status).toBe(200);
    expect(text.headers.get('content-type')).toBe(TEXT_TYPE);
    expect(sampleValue(parseExposition(await text.text()), METRIC.dispatched, { job: 'A' })).toBe(4);

    const open = await handler(
      new Request('http://x/metrics', {
        headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5' },
      }),
    );
    expect(open.headers.get('content-type')).toBe(OPENMETRICS_TYPE);
    const body = await open.text();
    expect(body.endsWith('# EOF\n')).toBe(true);
    expect(body).toContain('# TYPE errand_jobs_dispatched counter\n');
    const parsedOpen = parseExposition(body);
    expect(sampleValue(parsedOpen, 'errand_jobs_dispatched_total', { job: 'A' })).toBe(4);
    expect(parsedOpen.samples.some((s) => s.name.endsWith('_total_total'))).toBe(false);

    // prom-client renames counters when it renders OpenMetrics: the next text scrape must not see it.
    const again = await (await handler(new Request('http://x/metrics'))).text();
    expect(again).toContain('# TYPE errand_jobs_dispatched_total counter\n');
    expect(sampleValue(parseExposition(again), METRIC.dispatched, { job: 'A' })).toBe(4);
  });

  it('answers HEAD without a body and refuses other methods with 405 and Allow', async () => {
    const handler = metricsHandler({ registry: new Registry() });
    const head = await handler(new Request('http://x/metrics', { method: 'HEAD' }));
    expect([head.status, await head.text()]).toEqual([200, '']);
    const post = await handler(new Request('http://x/metrics', { method: 'POST', body: 'x' }));
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
  });

  it("with no registry serves errand's own, registered by the call, through the Node form too", async () => {
    const handler = metricsHandler();
    sink().dispatched('db', 'default', 'B', 2);
    const server: Server = createServer((req, res) => void handler.node(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/anything`);
      expect(response.headers.get('content-type')).toBe(TEXT_TYPE);
      expect(sampleValue(parseExposition(await response.text()), METRIC.dispatched, { job: 'B' })).toBe(2);
      const open = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'application/openmetrics-text' } });
      expect(open.headers.get('content-type')).toBe(OPENMETRICS_TYPE);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('the dashboard with metrics: true', () => {
  it('serves the exposition at <base>/metrics to a scraper, behind its own access check', async () => {
    const data = {} as DashboardData;
    const open = createDashboard({ basePath: '/jobs', metrics: true, authorize: () => true, data });
    sink().dispatched('db', 'default', 'C', 5);
    const scrape = await open(
      new Request('http://x/jobs/metrics', { headers: { accept: 'text/plain;version=0.0.4' } }),
    );
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toBe(TEXT_TYPE);
    expect(sampleValue(parseExposition(await scrape.text()), METRIC.dispatched, { job: 'C' })).toBe(5);
    const prometheus = await open(
      new Request('http://x/jobs/metrics', {
        headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' },
      }),
    );
    expect(prometheus.headers.get('content-type')).toBe(OPENMETRICS_TYPE);

    const closed = createDashboard({ basePath: '/jobs', metrics: true, authorize: () => false, data });
    const refused = await closed(new Request('http://x/jobs/metrics', { headers: { accept: 'text/plain' } }));
    expect(refused.status).toBe(403);
    expect(await refused.text()).not.toContain('errand_jobs');
  });
});

describe('the metrics server (queue:work --metrics-port)', () => {
  it('serves /metrics, 404 elsewhere, and names host:port with a hint when the port is taken', async () => {
    const first = await serveMetrics({ port: 0 });
    try {
      const port = Number(first.address.split(':').pop());
      expect(first.address).toBe(`127.0.0.1:${port}`);
      const ok = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(ok.status).toBe(200);
      expect(parseExposition(await ok.text()).families.has(METRIC.processed)).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      const taken = serveMetrics({ port });
      await expect(taken).rejects.toThrow(ConfigError);
      await expect(serveMetrics({ port })).rejects.toThrow(
        `--metrics-port: 127.0.0.1:${port} is already in use. Each worker process needs its own metrics port`,
      );
    } finally {
      await first.close();
    }
  });

  it('a port already taken starts nothing of errand’s metrics: no counting, no depth sampler holding its lease', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = squatter.address() as AddressInfo;
      await expect(serveMetrics({ port })).rejects.toThrow(`127.0.0.1:${port} is already in use`);
      // Registration (and with it the depth sampler's lease) comes only once the port is ours.
      expect(processMetrics).toBeUndefined();
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('on loopback answers 421 to a Host other than localhost, 127.x.x.x or [::1] (DNS rebinding)', async () => {
    const server = await serveMetrics({ port: 0 });
    try {
      const port = Number(server.address.split(':').pop());
      const asHost = (host: string) =>
        new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port, path: '/metrics', headers: { host } }, (res) => {
            let body = '';
            res.setEncoding('utf8');
            res.on('data', (chunk: string) => (body += chunk));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        });
      const rebound = await asHost(`attacker.example:${port}`);
      expect(rebound.status).toBe(421);
      expect(rebound.body).toContain('"attacker.example:');
      expect(rebound.body).toContain('DNS rebinding');
      expect(rebound.body).not.toContain('errand_jobs');
      for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, 'localhost'])
        expect((await asHost(host)).status).toBe(200);
    } finally {
      await server.close();
    }
  });
});
