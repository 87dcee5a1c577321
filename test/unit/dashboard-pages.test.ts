import { beforeAll, describe, expect, it } from 'vitest';

import type {
  BatchBody,
  JobBody,
  MetricsBody,
  OverviewBody,
  QueueBody,
  WorkerBody,
} from '../../src/dashboard/api-types.js';
import { type DashboardApi, DashboardHttpError } from '../../src/dashboard/dashboard-api.js';
import type { PageContext, PageName } from '../../src/dashboard/page-context.js';
import { assetVersions } from '../../src/dashboard/pages/assets.js';
import { formatAge, formatCount } from '../../src/dashboard/pages/format.js';
import { html } from '../../src/dashboard/pages/html.js';
import { renderPage } from '../../src/dashboard/pages/index.js';

/*
 * The page renderers over fixed API bodies (the HTTP core and the stores are the browser test's
 * business): the figures appear as text, every URL is relative to <base>, values are escaped,
 * read-only renders no action, a fragment is only <main>'s content. The assets come from the build
 * (`npm run build` runs before the suite).
 */

const overview: OverviewBody = {
  status: 'running',
  jobsPerMinute: 12.5,
  failedLastHour: 9,
  longestWait: { connection: 'default', queue: 'q1', seconds: 125 },
  busiestQueue: { connection: 'default', queue: 'q2', jobsPerMinute: 7 },
  slowestQueue: { connection: 'default', queue: 'q3', runtimeMs: 1500 },
  workers: { live: 1, lost: 1, busySlots: 1, slots: 4 },
  pending: 5,
  delayed: 2,
  reserved: 1,
  failed: 9,
  capped: false,
};

const queues: QueueBody[] = [
  {
    connection: 'default',
    name: 'q1',
    pending: 3,
    delayed: 1,
    reserved: 0,
    failed: 4,
    capped: false,
    oldestPendingAge: 61,
    paused: false,
  },
  {
    connection: 'default',
    name: 'q2',
    pending: 2,
    delayed: 1,
    reserved: 1,
    failed: 5,
    capped: false,
    oldestPendingAge: null,
    paused: true,
  },
  {
    connection: 'default',
    name: 'big',
    pending: 100_000,
    delayed: 0,
    reserved: 0,
    failed: 0,
    capped: true,
    oldestPendingAge: 5,
    paused: false,
  },
];

function failedJob(i: number, name: string, queue: string): JobBody {
  return {
    connection: 'default',
    id: String(i),
    uuid: `uuid-${i}`,
    queue,
    state: 'failed',
    name,
    attempts: null,
    createdAt: 1_800_000_000,
    availableAt: 1_800_000_000,
    reservedAt: null,
    reservedBy: null,
    failedAt: 1_800_000_100,
    exception: `Error: <b>boom</b> ${i}\n    at handle (job.ts:1:1)`,
  };
}

const failed = [
  ...[1, 2, 3, 4].map((i) => failedJob(i, 'ClassA', 'q1')),
  ...[5, 6, 7].map((i) => failedJob(i, 'ClassB', 'q2')),
  ...[8, 9].map((i) => failedJob(i, 'ClassA', 'q2')),
];

const pendingJob: JobBody = {
  connection: 'default',
  id: '42',
  queue: 'q1',
  state: 'pending',
  name: 'ClassA',
  attempts: 0,
  createdAt: 1_800_000_000,
  availableAt: 1_800_000_000,
  reservedAt: null,
  reservedBy: null,
  payload: { data: { password: '[redacted]', note: '</pre><script>alert(1)</script>' } },
  batchId: 'batch-1',
  chained: ['ClassB'],
};

const batch: BatchBody = {
  id: 'batch-1',
  name: 'Import',
  totalJobs: 10,
  pendingJobs: 4,
  failedJobs: 2,
  processedJobs: 4,
  progress: 40,
  failedJobIds: ['uuid-1', 'uuid-2'],
  createdAt: 1_800_000_000,
  finishedAt: null,
  cancelledAt: null,
};

const workers: WorkerBody[] = [
  {
    connection: 'default',
    id: 'w1',
    name: 'worker-1',
    hostname: 'host-h',
    pid: 4242,
    queues: ['q1', 'q2'],
    concurrency: 4,
    busySlots: 1,
    startedAt: 1_800_000_000,
    heartbeatAge: 2,
    status: 'live',
    jobs: ['42'],
  },
  {
    connection: 'default',
    id: 'w2',
    name: 'worker-2',
    hostname: 'host-h',
    pid: 4243,
    queues: ['q3'],
    concurrency: 1,
    busySlots: 0,
    startedAt: 1_800_000_000,
    heartbeatAge: 95,
    status: 'lost',
    jobs: [],
  },
];

const metrics: MetricsBody = {
  range: '1h',
  step: 60,
  since: 1_800_000_000,
  until: 1_800_000_120,
  times: [1_800_000_000, 1_800_000_060],
  queues: [
    {
      connection: 'default',
      name: 'q1',
      throughput: [600, 60],
      failureRate: [0, 0.5],
      totals: { completed: 600, failed: 60, released: 3, runtimeP50Ms: 10, runtimeP95Ms: 25, waitP95Ms: 1200 },
    },
  ],
  jobs: [],
};

const notFound = (what: string) => new DashboardHttpError(404, `No ${what}.`);

const api: DashboardApi = {
  connections: ['default'],
  defaultConnection: 'default',
  overview: async () => overview,
  queues: async () => ({ items: queues, errors: [] }),
  jobs: async (q) => ({ items: q.state === 'pending' ? [pendingJob] : [], next: q.state === 'pending' ? 'c1' : null }),
  job: async (_connection, id) => {
    if (id === '42') return pendingJob;
    throw notFound(`job ${id}`);
  },
  failed: async (q) => {
    const items = failed.filter((j) => (!q.job || j.name === q.job) && (!q.queue || j.queue === q.queue));
    return { items, next: null, total: items.length, capped: false };
  },
  failedJob: async (uuid) => failed.find((j) => j.uuid === uuid) ?? Promise.reject(notFound(`failed job ${uuid}`)),
  batches: async () => ({ items: [batch], next: null }),
  batch: async (id) => (id === batch.id ? batch : Promise.reject(notFound(`batch ${id}`))),
  workers: async () => ({ items: workers, errors: [] }),
  metrics: async () => metrics,
};

/** The page at `path` (as the core routes it), with `query`. */
function page(path: string, query = '', over: Partial<PageContext> = {}): Promise<string> {
  const [first = '', id] = path.split('/');
  const detail: Record<string, PageName> = { jobs: 'job', failed: 'failed-job', batches: 'batch' };
  const name = (id ? detail[first] : first || 'overview') as PageName;
  const params: Record<string, string> = id ? { [first === 'failed' ? 'uuid' : 'id']: id } : {};
  return renderPage({
    page: name,
    params,
    query: new URLSearchParams(query),
    basePath: '/admin/jobs/',
    nonce: 'n0nce',
    readOnly: false,
    pollMs: 3000,
    fragment: false,
    api,
    request: new Request(`http://localhost/admin/jobs/${path}`),
    ...over,
  });
}

/** Text of the element carrying data-stat=key. */
function statText(markup: string, key: string): string | undefined {
  const match = new RegExp(`data-stat="${key}">(.*?)</`, 's').exec(markup);
  return match?.[1]?.replace(/<[^>]+>/g, '');
}

const PAGES = [
  '',
  'queues',
  'jobs',
  'jobs/42',
  'failed',
  'failed/uuid-1',
  'batches',
  'batches/batch-1',
  'workers',
  'metrics',
];

beforeAll(async () => {
  // the assets must be built (npm run build) for the pages' version query
  expect(Object.values(await assetVersions())).not.toContain('0');
});

describe('the dashboard pages', () => {
  it('escape interpolated values and insert SafeHtml as is', () => {
    expect(html`<p title="${'"x"'}">${'<b>&'}${html`<i>ok</i>`}${null}${false}${[1, '<']}</p>`.value).toBe(
      '<p title="&quot;x&quot;">&lt;b&gt;&amp;<i>ok</i>1&lt;</p>',
    );
  });

  it('write capped counts as "at least" and ages in units', () => {
    expect(formatCount(100_000, true)).toBe('100k+');
    expect(formatCount(1234)).toBe('1,234');
    expect(formatAge(125)).toBe('2m 5s');
    expect(formatAge(null)).toBe('—');
  });

  it.each(PAGES)('render %s with <base href> at the mount and only relative URLs', async (path) => {
    const markup = await page(path);
    expect(markup).toContain('<base href="/admin/jobs/">');
    expect(markup).toContain('<script src="assets/app.js?v=');
    expect(markup).toContain('nonce="n0nce"');
    const urls = [...markup.matchAll(/\s(?:href|src|action|data-post)="([^"]*)"/g)].map((m) => m[1] as string);
    expect(urls.length).toBeGreaterThan(3);
    for (const url of urls.filter((u) => u !== '/admin/jobs/' && u !== 'data:,'))
      expect(url).not.toMatch(/^(\/|[a-z]+:)/i);
    expect(markup).not.toMatch(/\sstyle="/); // the CSP allows no inline styles
  });

  it('show the overview figures as text', async () => {
    const markup = await page('');
    expect(statText(markup, 'status')).toBe('Running');
    expect(statText(markup, 'pending')).toBe('5');
    expect(statText(markup, 'delayed')).toBe('2');
    expect(statText(markup, 'reserved')).toBe('1');
    expect(statText(markup, 'failed')).toBe('9');
    expect(statText(markup, 'failedLastHour')).toBe('9');
    expect(statText(markup, 'longestWait')).toBe('2m 5s');
    expect(statText(markup, 'busySlots')).toBe('1 of 4');
  });

  it('offer Pause on an active queue and Resume on a paused one, and mark capped counts', async () => {
    const markup = await page('queues');
    const row = (q: string) =>
      new RegExp(`<tr data-connection="default" data-queue="${q}">(.*?)</tr>`, 's').exec(markup)?.[1] ?? '';
    expect(row('q1')).toContain('data-post="api/queues/q1/pause?connection=default"');
    expect(row('q2')).toContain('data-post="api/queues/q2/resume?connection=default"');
    expect(row('q2')).toContain('paused');
    expect(row('big')).toContain('100k+');
  });

  it('count the filtered failed jobs and post the filter for "retry all matching"', async () => {
    const markup = await page('failed', 'job=ClassA');
    expect(statText(markup, 'total')).toBe('6 jobs');
    expect(markup.match(/name="uuid" value=/g)).toHaveLength(6);
    expect(markup).toContain('data-selection="uuid"');
    expect(markup).toContain('data-body="{&quot;filter&quot;:{&quot;job&quot;:&quot;ClassA&quot;}}"');
    expect(markup).not.toContain('<b>boom</b>');
    expect(markup).toContain('&lt;b&gt;boom&lt;/b&gt;');
  });

  it('render no action in read-only mode', async () => {
    for (const path of PAGES) {
      const markup = await page(path, '', { readOnly: true });
      expect(markup).not.toContain('data-post=');
      expect(markup).not.toContain('<button type="button"');
    }
  });

  it('show a job payload escaped, with its batch and chain', async () => {
    const markup = await page('jobs/42', 'connection=default');
    expect(markup).toContain('[redacted]');
    expect(markup).not.toContain('<script>alert(1)');
    expect(markup).toContain('href="batches/batch-1"');
    expect(markup).toContain('<li>ClassB</li>');
  });

  it("show a failed job's unknown attempt count as a dash, a stored job's as its number", async () => {
    expect(await page('failed/uuid-1')).toMatch(/<dt>Attempts<\/dt><dd>—<\/dd>/);
    expect(await page('jobs/42', 'connection=default')).toMatch(/<dt>Attempts<\/dt><dd>0<\/dd>/);
  });

  it('show workers live and lost, and metrics totals as text', async () => {
    const w = await page('workers');
    expect(statText(w, 'live')).toBe('1');
    expect(statText(w, 'lost')).toBe('1');
    expect(w).toContain('host-h');
    const m = await page('metrics');
    expect(m).toContain('id="metrics-data"');
    expect(m).toMatch(/data-col="runtimeP50">10 ms</);
    expect(m).toMatch(/data-col="failureRate">9.1%</);
  });

  it('answer a fragment with <main> content only; a missing record is a 404 and a bad query a 400 naming the parameter', async () => {
    const fragment = await page('queues', '', { fragment: true });
    expect(fragment.startsWith('<h1>Queues</h1>')).toBe(true);
    expect(fragment).not.toContain('<html');
    await expect(page('jobs/404')).rejects.toMatchObject({ status: 404 });
    await expect(page('batches/none')).rejects.toMatchObject({ status: 404 });
    await expect(page('jobs', 'state=done')).rejects.toMatchObject({ status: 400, option: 'state' });
    await expect(page('metrics', 'range=2d')).rejects.toMatchObject({ status: 400, option: 'range' });
  });
});
