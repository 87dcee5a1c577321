import { existsSync, mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import { toNodeHandler } from '../../src/dashboard/node-handler.js';
import { Job } from '../../src/decorators/job.js';
import { openQueueInspector } from '../../src/drivers/connect.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { type ErrandRuntime, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { Fleet, ledgerEnv, ledgerRows } from '../helpers/daemon.js';
import { describeEachEngine, freshStore, storeConnections, type TestStore } from '../helpers/databases.js';
import { pushJobsForTest } from '../helpers/raw-jobs.js';
import { ROOT } from '../helpers/run-cli.js';
import { createWorkerApp, type StoreApp } from '../helpers/worker-process.js';

/*
 * The pages in a real browser (Debian's chromium driven by playwright-core), mounted at
 * /admin/jobs in node:http over real stores seeded with the issue's numbers: 9 failed (4 ClassA on
 * q1; 3 ClassB and 2 ClassA on q2), 5 pending and 1 reserved by a registered worker on q3, 2
 * delayed on q1. The pages must show exactly those numbers; "Retry selection" of the ClassA
 * filter retries 6; pausing q2 in the page keeps a running worker off it; a secret never reaches
 * the page or the JSON; every request the page makes stays under the mount and succeeds, and the
 * CSP reports nothing. With ERRAND_DASHBOARD_SCREENSHOTS=1, the SQLite run writes docs/dashboard/*.png.
 */

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const MOUNT = '/admin/jobs';
const SECRET = 'hunter2-browser-secret';
const WORKER_ID = 'browser-test-worker';

@Job({ name: 'BrClassA', tries: 1 })
class BrClassA extends Queueable {
  constructor(public n: number) {
    super();
  }
  async handle() {
    throw new Error(`class A failed ${this.n}`);
  }
}

@Job({ name: 'BrClassB', tries: 1 })
class BrClassB extends Queueable {
  constructor(public n: number) {
    super();
  }
  async handle() {
    throw new Error(`class B timed out ${this.n}`);
  }
}

@Job({ name: 'BrSecretJob' })
class BrSecretJob extends Queueable {
  constructor(
    public n: number,
    public password = SECRET,
  ) {
    super();
  }
  async handle() {}
}

if (!existsSync(CHROMIUM)) {
  if (process.env.CI === 'true')
    throw new Error(`No chromium at ${CHROMIUM}: install Debian's chromium package (or set CHROMIUM_PATH).`);
  console.warn(
    `dashboard-browser: skipped, no chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`,
  );
}

const describeIfChromium = existsSync(CHROMIUM) ? describeEachEngine : async (_t: string, _b: (e: never) => void) => {};

await describeIfChromium('the dashboard pages in a browser', (engine) => {
  let app: ErrandRuntime;
  let connection: string;
  let server: Server;
  let origin: string;
  let browser: Browser;
  let page: Page;
  let store: TestStore;
  let workerApp: StoreApp | undefined;
  const fleet = new Fleet();
  const requests: string[] = [];
  const failures: string[] = [];
  const consoleErrors: string[] = [];
  const screenshots = process.env.ERRAND_DASHBOARD_SCREENSHOTS === '1' && engine === 'sqlite';

  const open = async (path: string) => {
    const response = await page.goto(`${origin}${MOUNT}/${path}`);
    expect(response?.status(), path).toBe(200);
  };
  const stat = (key: string) => page.locator(`[data-stat="${key}"]`).first().innerText();
  const cell = (queue: string, col: string) =>
    page.locator(`tr[data-connection="${connection}"][data-queue="${queue}"] [data-col="${col}"]`).innerText();
  const shoot = async (name: string) => {
    if (!screenshots) return;
    mkdirSync('docs/dashboard', { recursive: true });
    await page.screenshot({ path: `docs/dashboard/${name}.png`, fullPage: true });
  };

  beforeAll(async () => {
    store = await freshStore(engine, 'dashboard_browser');
    await boot({ default: store.default, connections: storeConnections(store), report: () => undefined });
    await runMigrations();
    app = await runtime();
    connection = store.default;
    for (let n = 0; n < 4; n++) await BrClassA.dispatch(n).onQueue('q1');
    for (let n = 0; n < 3; n++) await BrClassB.dispatch(n).onQueue('q2');
    for (let n = 4; n < 6; n++) await BrClassA.dispatch(n).onQueue('q2');
    await createWorker({ queues: ['q1', 'q2'], stopWhenEmpty: true, sleep: 0 }).run();
    for (let n = 0; n < 6; n++) await BrSecretJob.dispatch(n).onQueue('q3');
    for (let n = 0; n < 2; n++)
      await BrSecretJob.dispatch(10 + n)
        .onQueue('q1')
        .delay(600);
    const worker = app.queues.worker();
    await worker.registerWorker({
      id: WORKER_ID,
      name: 'browser-host:1',
      connection,
      queues: ['q3'],
      hostname: 'browser-host',
      pid: 4242,
      concurrency: 2,
    });
    await worker.claim('q3', 1, WORKER_ID);

    const handler = toNodeHandler(
      createDashboard({ runtime: app, authorize: () => true, basePath: MOUNT, countCacheSeconds: 0, pollMs: 400 }),
    );
    server = createServer((req, res) => {
      if (req.url === MOUNT || req.url?.startsWith(`${MOUNT}/`)) return void handler(req, res);
      res.statusCode = 418;
      res.end('host');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('request', (r) => requests.push(r.url()));
    page.on('response', (r) => {
      if (r.status() >= 400) failures.push(`${r.status()} ${r.url()}`);
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('dialog', (d) => void d.accept());
  });

  afterAll(async () => {
    await fleet.killAll();
    await workerApp?.close();
    await browser?.close();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    await shutdown();
  });

  it('shows the seeded numbers on the overview and the queues page', async () => {
    await open('');
    expect(await stat('pending')).toBe('5');
    expect(await stat('delayed')).toBe('2');
    expect(await stat('reserved')).toBe('1');
    expect(await stat('failed')).toBe('9');
    expect(await stat('workersLive')).toBe('1');
    await shoot('overview');
    await open('queues');
    const rows = { q1: [0, 2, 0, 4], q2: [0, 0, 0, 5], q3: [5, 0, 1, 0] };
    for (const [queue, [pending, delayed, reserved, failed]] of Object.entries(rows)) {
      expect(await cell(queue, 'pending'), queue).toBe(String(pending));
      expect(await cell(queue, 'delayed'), queue).toBe(String(delayed));
      expect(await cell(queue, 'reserved'), queue).toBe(String(reserved));
      expect(await cell(queue, 'failed'), queue).toBe(String(failed));
    }
    await shoot('queues');
  });

  it('lists the reserved job on its worker, and shows a job with its secret redacted', async () => {
    await open('workers');
    const row = page.locator(`tr[data-id="${WORKER_ID}"]`);
    expect(await row.locator('[data-col="status"]').innerText()).toBe('live');
    expect(await row.innerText()).toContain('browser-host');
    expect(await row.innerText()).toContain('4242');
    await shoot('workers');
    await open('jobs?state=pending&queue=q3');
    expect(await stat('shown')).toBe('5 jobs on this page');
    await shoot('jobs');
    await page.locator('table tbody tr a').first().click();
    await page.waitForURL(/\/jobs\/[^?]+\?connection=/);
    const html = await page.content();
    expect(html).toContain('[redacted]');
    expect(html).not.toContain(SECRET);
    await shoot('job');
    const id = new URL(page.url()).pathname.split('/').pop() as string;
    const json = await page.evaluate(
      async (path) => (await fetch(path)).text(),
      `api/jobs/${id}?connection=${connection}`,
    );
    expect(json).toContain('[redacted]');
    expect(json).not.toContain(SECRET);
  });

  it('filters failed jobs by class and retries the selection', async () => {
    await open('failed');
    expect(await stat('total')).toBe('9 jobs');
    await shoot('failed');
    await page.getByRole('link', { name: 'BrClassB' }).first().click();
    await page.waitForURL(/\/failed\/[^/]+$/);
    expect(await page.locator('pre.exception').innerText()).toContain('class B timed out');
    await shoot('failed-job');
    await open('failed');
    await page.fill('input[name="job"]', 'BrClassA');
    await page.click('form.filters button[type="submit"]');
    await page.waitForURL(/job=BrClassA/);
    expect(await stat('total')).toBe('6 jobs');
    await page.check('input[data-select-all]');
    await page.getByRole('button', { name: 'Retry selection' }).click();
    await expect.poll(() => page.locator('#flash').innerText()).toBe('Retried 6 jobs');
    await expect.poll(() => stat('total')).toBe('0 jobs');
    // moved in the store, not only on the page: 3 failed records left, the 6 back on their queues
    expect(await app.queues.failer().count()).toBe(3);
    const inspector = openQueueInspector(app.queues.worker());
    expect((await inspector.queue('q1', 100)).pending).toBe(4);
    expect((await inspector.queue('q2', 100)).pending).toBe(2);
    await open('failed');
    expect(await stat('total')).toBe('3 jobs');
    await open('');
    expect(await stat('pending')).toBe('11');
  });

  it('pauses q2 in the page, and a running worker claims nothing from it until Resume', async () => {
    await open('queues');
    const q2 = page.locator(`tr[data-connection="${connection}"][data-queue="q2"]`);
    expect(await cell('q2', 'pending')).toBe('2'); // the two ClassA just retried
    await q2.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => page.locator('#flash').innerText()).toContain('Paused queue');
    await expect.poll(() => q2.getByRole('button', { name: 'Resume' }).count()).toBe(1);
    expect(await cell('q2', 'state')).toBe('paused');
    await createWorker({ queues: ['q2'], stopWhenEmpty: true, sleep: 0 }).run();
    expect(await app.queues.worker().size('q2')).toBe(2);
    expect(await cell('q2', 'failed')).toBe('3'); // the ClassB left after the retry
    await q2.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => q2.getByRole('button', { name: 'Pause' }).count()).toBe(1);
    await createWorker({ queues: ['q2'], stopWhenEmpty: true, sleep: 0 }).run();
    expect(await app.queues.worker().size('q2')).toBe(0);
    // the live refresh brings the worker's two new failures into the page without a reload
    await expect.poll(() => cell('q2', 'failed'), { timeout: 10_000 }).toBe('5');
  });

  it('pauses q2 in the page while a queue:work process claims from it, and it claims again on Resume', {
    timeout: 120_000,
  }, async () => {
    workerApp = await createWorkerApp(store, {
      bootstrap: [path.join(ROOT, 'test/fixtures/workers/reliability-jobs.mjs')],
      prefix: 'errand-dashboard-browser-',
      // A lapse of 4 s, so the worker SIGKILLed in the next test is lost soon.
      overrides: { heartbeat: { interval: 1, lapse: 4 } },
    });
    const ran = async (key: string) => (await ledgerRows(workerApp!.knex)).some((row) => row.job_key === key);
    const push = (queue: string, key: string) =>
      pushJobsForTest(workerApp!.queue(), 1, () => ({
        name: 'ReliableJob',
        command: { key, ms: 0 },
        queue,
        maxTries: 1,
      }));
    const worker = fleet.start(['queue:work', '--queue=q2,q4', '--sleep=0.1'], workerApp.dir, ledgerEnv(workerApp, 2));
    // running and claiming from q2 before the pause
    await push('q2', 'q2-before');
    await expect.poll(() => ran('q2-before'), { timeout: 60_000 }).toBe(true);

    await open('queues');
    const q2 = page.locator(`tr[data-connection="${connection}"][data-queue="q2"]`);
    await q2.getByRole('button', { name: 'Pause' }).click();
    await expect.poll(() => q2.getByRole('button', { name: 'Resume' }).count()).toBe(1);
    await worker.waitFor(/Queue q2 PAUSED/, 30_000);
    await push('q2', 'q2-paused-1');
    await push('q2', 'q2-paused-2');
    await push('q4', 'q4-while-paused');
    // the other queue still runs, so the worker is polling; q2's jobs sit unclaimed in the store
    await expect.poll(() => ran('q4-while-paused'), { timeout: 30_000 }).toBe(true);
    const inspector = openQueueInspector(app.queues.worker());
    const q2Counts = await inspector.queue('q2', 100);
    expect([q2Counts.pending, q2Counts.reserved]).toEqual([2, 0]);
    expect(await ran('q2-paused-1')).toBe(false);
    expect(await ran('q2-paused-2')).toBe(false);

    await q2.getByRole('button', { name: 'Resume' }).click();
    await expect.poll(() => q2.getByRole('button', { name: 'Pause' }).count()).toBe(1);
    await expect
      .poll(async () => (await ran('q2-paused-1')) && (await ran('q2-paused-2')), { timeout: 30_000 })
      .toBe(true);
    expect(worker.stderr()).toBe('');
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('shows a queue:work process live, then lost once SIGKILLed', async () => {
    // A lapse of 4 s, so the killed worker's registration runs out soon.
    // the app of the test before (one per store: it creates the ledger table), with its 4 s lapse
    workerApp ??= await createWorkerApp(store, {
      bootstrap: [],
      prefix: 'errand-dashboard-browser-',
      overrides: { heartbeat: { interval: 1, lapse: 4 } },
    });
    const worker = fleet.start(['queue:work', '--queue=q9', '--sleep=1'], workerApp.dir, workerApp.env);
    await open('workers');
    const status = () =>
      page
        .locator(`tr[data-pid="${worker.pid}"] [data-col="status"]`)
        .innerText({ timeout: 1000 })
        .catch(() => '');
    await expect.poll(status, { timeout: 30_000 }).toBe('live');
    worker.child.kill('SIGKILL');
    await worker.exited;
    // the live refresh turns the row without a reload
    await expect.poll(status, { timeout: 30_000 }).toBe('lost');
    await shoot('workers-lost');
  });

  it('renders the other pages', async () => {
    await open('batches');
    await shoot('batches');
    await open('metrics?range=1h');
    await shoot('metrics');
    expect(await page.locator('h1').innerText()).toBe('Metrics: last 1h');
  });

  it('made every request under the mount, none failed, and the CSP reported nothing', () => {
    expect(requests.length).toBeGreaterThan(10);
    for (const url of requests) expect(url.startsWith(`${origin}${MOUNT}/`), url).toBe(true);
    expect(failures).toEqual([]);
    expect(consoleErrors).toEqual([]);
  });
});
