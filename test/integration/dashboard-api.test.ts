import { afterAll, beforeAll, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { METRICS_BUCKETS_MS } from '../../src/contracts/metrics-repository.js';
import type {
  ActionBody,
  BatchBody,
  ErrorBody,
  JobBody,
  MetricsBody,
  OverviewBody,
  PageBody,
  QueueBody,
  WorkerBody,
} from '../../src/dashboard/api-types.js';
import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import { Job } from '../../src/decorators/job.js';
import { openMetricsRepository } from '../../src/drivers/connect.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { type ErrandRuntime, runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';

// The JSON API over real stores, seeded with known numbers (the scenario): 9 failed jobs
// of two classes on `q2`, 5 pending and 2 delayed on `q1`, 1 reserved by a registered worker; a
// job holding secrets; a batch; a minute of metrics. Every figure the API gives is checked.

@Job({ name: 'DashClassA', tries: 1 })
class DashClassA extends Queueable {
  constructor(public n: number) {
    super();
  }
  async handle() {
    throw new Error(`class A failed ${this.n}`);
  }
}

@Job({ name: 'DashClassB', tries: 1 })
class DashClassB extends Queueable {
  constructor(public n: number) {
    super();
  }
  async handle() {
    throw new Error(`class B timed out ${this.n}`);
  }
}

@Job({ name: 'DashSecretJob' })
class DashSecretJob extends Queueable {
  constructor(
    public n: number,
    public password = 'hunter2-password-value',
    public apiKey = 'key-value-AKIA123',
    public profile = { name: 'kept', secretAnswer: 'blue-secret-answer' },
  ) {
    super();
  }
  async handle() {}
}

const SECRETS = ['hunter2-password-value', 'key-value-AKIA123', 'blue-secret-answer'];
const WORKER_ID = 'dashboard-api-worker';

await describeEachEngine('the dashboard API', (engine) => {
  let app: ErrandRuntime;
  let connection: string;
  const handler = () => createDashboard({ runtime: app, authorize: () => true, countCacheSeconds: 0 });
  const get = async <T>(path: string, status = 200): Promise<T> => {
    const response = await handler()(new Request(`http://dash.test/admin/jobs/api/${path}`));
    const body = (await response.json()) as T;
    expect(response.status, `${path}: ${JSON.stringify(body)}`).toBe(status);
    return body;
  };
  const post = async <T>(path: string, body: unknown = {}, status = 200): Promise<T> => {
    const response = await createDashboard({ runtime: app, authorize: () => true, basePath: '/admin/jobs' })(
      new Request(`http://dash.test/admin/jobs/api/${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
        body: JSON.stringify(body),
      }),
    );
    const answer = (await response.json()) as T;
    expect(response.status, `${path}: ${JSON.stringify(answer)}`).toBe(status);
    return answer;
  };
  const queue = async (name: string) => (await get<QueueBody[]>('queues')).find((row) => row.name === name);

  beforeAll(async () => {
    const store = await freshStore(engine, 'dashboard_api');
    await boot({ default: store.default, connections: storeConnections(store), report: () => undefined });
    await runMigrations();
    app = await runtime();
    connection = store.default;
    for (let n = 0; n < 6; n++) await DashClassA.dispatch(n).onQueue('q2');
    for (let n = 0; n < 3; n++) await DashClassB.dispatch(n).onQueue('q2');
    await createWorker({ queues: ['q2'], stopWhenEmpty: true, sleep: 0 }).run();
    for (let n = 0; n < 6; n++) await DashSecretJob.dispatch(n).onQueue('q1');
    for (let n = 0; n < 2; n++)
      await DashSecretJob.dispatch(10 + n)
        .onQueue('q1')
        .delay(600);
    const worker = app.queues.worker();
    await worker.registerWorker({
      id: WORKER_ID,
      name: 'dash-host:1',
      connection,
      queues: ['q1'],
      hostname: 'dash-host',
      pid: 4242,
      concurrency: 3,
    });
    await worker.claim('q1', 1, WORKER_ID);
    await Bus.batch([new DashSecretJob(20), new DashSecretJob(21)])
      .name('dash-batch')
      .onQueue('q3')
      .dispatch();
    // On a queue and job of their own, so these figures are exact beside what the worker above
    // added to the rollup for q2.
    const minute = Math.floor(Date.now() / 1000 / 60) * 60 - 120;
    const buckets = (at: number) => [...METRICS_BUCKETS_MS, 'overflow'].map((_, i) => (i === at ? 4 : 0));
    await openMetricsRepository(app.queues.worker(), app.config.metrics).record([
      {
        minute,
        queue: 'qm',
        job: 'DashMetricsJob',
        completed: 3,
        failed: 1,
        released: 0,
        runtimeMsSum: 400,
        runtimeBuckets: buckets(6),
        waitMsSum: 40,
        waitBuckets: buckets(3),
      },
    ]);
  });
  afterAll(() => shutdown());

  it('counts each queue by state, with the failed records of its connection', async () => {
    const q1 = await queue('q1');
    expect(q1).toMatchObject({
      connection,
      pending: 5,
      delayed: 2,
      reserved: 1,
      failed: 0,
      paused: false,
      capped: false,
    });
    expect(q1!.oldestPendingAge).not.toBeNull();
    expect(await queue('q2')).toMatchObject({ pending: 0, delayed: 0, reserved: 0, failed: 9 });
  });

  it('sums them in the overview, with the workers and the last hour of metrics', async () => {
    const overview = await get<OverviewBody>('overview');
    expect(overview).toMatchObject({
      status: 'running',
      pending: 7,
      delayed: 2,
      reserved: 1,
      failed: 9,
      capped: false,
      workers: { live: 1, lost: 0, busySlots: 1, slots: 3 },
    });
    expect(overview.longestWait?.queue).toMatch(/^q[13]$/);
    expect(overview.busiestQueue).toMatchObject({ connection, queue: 'qm', jobsPerMinute: 3 / 60 });
    expect(overview.slowestQueue).toMatchObject({ connection, queue: 'qm', runtimeMs: 100 });
    // The overview's failures are the hour's rollup: what the metrics API adds up to (q2's nine
    // failures, as the worker recorded them, and qm's one).
    const hour = await get<MetricsBody>('metrics?range=1h');
    expect(overview.failedLastHour).toBe(hour.queues.reduce((sum, series) => sum + series.totals.failed, 0));
    expect(overview.failedLastHour).toBe(10);
  });

  it('lists jobs by state and queue, and shows one with its secrets redacted', async () => {
    const pending = await get<PageBody<JobBody>>('jobs?state=pending&queue=q1');
    expect(pending.items).toHaveLength(5);
    expect(pending.items.every((job) => job.name === 'DashSecretJob' && job.state === 'pending')).toBe(true);
    expect((await get<PageBody<JobBody>>('jobs?state=delayed&queue=q1')).items).toHaveLength(2);
    const reserved = await get<PageBody<JobBody>>('jobs?state=reserved');
    expect(reserved.items.map((job) => job.reservedBy)).toEqual([WORKER_ID]);
    const twoByTwo = await get<PageBody<JobBody>>('jobs?state=pending&queue=q1&limit=2');
    expect(twoByTwo.items).toHaveLength(2);
    const rest = await get<PageBody<JobBody>>(`jobs?state=pending&queue=q1&limit=10&cursor=${twoByTwo.next}`);
    expect(rest.items).toHaveLength(3);

    const response = await handler()(new Request(`http://dash.test/api/jobs/${pending.items[0]!.id}`));
    const text = await response.text();
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    const detail = JSON.parse(text) as JobBody & { payload: { data: { command: Record<string, unknown> } } };
    expect(detail.payload.data.command).toMatchObject({
      password: '[redacted]',
      apiKey: '[redacted]',
      profile: { name: 'kept', secretAnswer: '[redacted]' },
    });
    expect((await get<ErrorBody>('jobs/999999999', 404)).error).toContain('999999999');
    expect((await get<ErrorBody>('jobs?state=finished', 400)).error).toContain('state');
    expect((await get<ErrorBody>('jobs?state=pending&connection=nope', 404)).error).toContain('[nope]');
  });

  it('lists and counts failed jobs by class, and shows one with its exception', async () => {
    const all = await get<PageBody<JobBody>>('failed');
    expect(all).toMatchObject({ total: 9, capped: false });
    const classA = await get<PageBody<JobBody>>('failed?job=DashClassA');
    expect(classA.total).toBe(6);
    expect(classA.items).toHaveLength(6);
    expect(classA.items[0]!.exception).toMatch(/^Error: class A failed \d$/);
    const byText = await get<PageBody<JobBody>>('failed?text=timed%20out');
    expect(byText.total).toBe(3);
    const one = await get<JobBody>(`failed/${classA.items[0]!.uuid}`);
    expect(one.exception).toContain('\n');
    expect(one.name).toBe('DashClassA');
    // failed_jobs keeps no attempt count: unknown, never a false 0
    expect(classA.items[0]!.attempts).toBeNull();
    expect(one.attempts).toBeNull();
  });

  it('lists the workers with the jobs they hold, and the batches', async () => {
    const workers = await get<WorkerBody[]>('workers');
    const worker = workers.find((row) => row.id === WORKER_ID);
    expect(worker).toMatchObject({ status: 'live', busySlots: 1, concurrency: 3, pid: 4242, queues: ['q1'] });
    const reserved = await get<PageBody<JobBody>>('jobs?state=reserved');
    expect(worker!.jobs).toEqual([reserved.items[0]!.id]);
    const batches = await get<PageBody<BatchBody>>('batches');
    const batch = batches.items.find((row) => row.name === 'dash-batch');
    expect(batch).toMatchObject({ totalJobs: 2, pendingJobs: 2, failedJobs: 0, progress: 0 });
    expect((await get<BatchBody>(`batches/${batch!.id}`)).id).toBe(batch!.id);
  });

  it('charts the rollup per queue and per job over a range, and refuses an unknown range', async () => {
    const metrics = await get<MetricsBody>('metrics?range=1h');
    expect(metrics.times).toHaveLength(60);
    expect(metrics.step).toBe(60);
    const qm = metrics.queues.find((series) => series.name === 'qm');
    expect(qm?.totals).toEqual({
      completed: 3,
      failed: 1,
      released: 0,
      runtimeP50Ms: 100,
      runtimeP95Ms: 100,
      waitP95Ms: 10,
    });
    expect(qm!.throughput.reduce((a, b) => a + b, 0)).toBe(4);
    expect(qm!.failureRate.filter((rate) => rate !== null)).toEqual([0.25]);
    const q2 = metrics.queues.find((series) => series.name === 'q2');
    expect(q2?.totals).toMatchObject({ completed: 0, failed: 9 });
    expect(metrics.jobs.map((series) => series.name)).toEqual(['DashClassA', 'DashClassB', 'DashMetricsJob']);
    const classA = await get<MetricsBody>('metrics?range=24h&job=DashClassA');
    expect(classA.jobs.map((series) => [series.name, series.totals.failed])).toEqual([['DashClassA', 6]]);
    expect((await get<MetricsBody>('metrics?range=7d')).times).toHaveLength(168);
    expect((await get<ErrorBody>('metrics?range=2w', 400)).error).toContain('range');
  });

  it('pauses and resumes a queue', async () => {
    expect((await post<ActionBody>('queues/q1/pause')).message).toBe(`Paused queue [${connection}:q1]`);
    expect((await queue('q1'))?.paused).toBe(true);
    expect((await post<ActionBody>('queues/q1/pause')).message).toBe(`Queue [${connection}:q1] was already paused`);
    expect((await post<ActionBody>('queues/q1/resume')).message).toBe(`Resumed queue [${connection}:q1]`);
    expect((await queue('q1'))?.paused).toBe(false);
  });

  it('retries every failed job of a class, then one, forgets one, and flushes the rest', async () => {
    const retried = await post<ActionBody>('failed/retry', { filter: { job: 'DashClassA' } });
    expect(retried).toEqual({ ok: true, message: 'Retried 6 jobs', count: 6 });
    expect(await queue('q2')).toMatchObject({ pending: 6, failed: 3 });
    const [first, second, third] = (await get<PageBody<JobBody>>('failed')).items;
    expect((await post<ActionBody>(`failed/${first!.uuid}/retry`)).message).toBe('Retried 1 job');
    expect((await post<ActionBody>(`failed/${second!.uuid}/forget`)).message).toBe(
      `Forgot failed job [${second!.uuid}]`,
    );
    expect((await post<ErrorBody>(`failed/${second!.uuid}/forget`, {}, 404)).error).toContain(second!.uuid!);
    const selected = await post<ActionBody>('failed/retry', { uuids: [third!.uuid, 'gone-uuid'] });
    expect(selected.message).toBe('Retried 1 job; not found: gone-uuid');
    expect((await post<ActionBody>('failed/flush')).message).toBe('Flushed 0 failed jobs');
    expect(await queue('q2')).toMatchObject({ pending: 8, failed: 0 });
    expect((await post<ErrorBody>('failed/retry', { uuids: 'x' }, 400)).error).toContain('uuids');
    const huge = { uuids: Array.from({ length: 20_000 }, (_, i) => `uuid-${i}-${'x'.repeat(20)}`) };
    expect((await post<ErrorBody>('failed/retry', huge, 413)).error).toContain('262144 bytes');
  });

  it('clears a queue', async () => {
    const cleared = await post<ActionBody>('queues/q2/clear');
    expect(cleared).toEqual({ ok: true, message: `Cleared 8 jobs from [${connection}:q2]`, count: 8 });
    expect((await queue('q2'))?.pending ?? 0).toBe(0);
  });
});
