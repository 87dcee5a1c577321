import type { MetricsBody, MetricsSeries } from '../api-types.js';
import type { MetricsQueryParams as MetricsQuery } from '../dashboard-api.js';
import { filterForm, link, table } from './components.js';
import { formatCount, formatMs, formatPercent, formatRate } from './format.js';
import { html, jsonForScript } from './html.js';
import type { PageContent } from './layout.js';

const RANGES: readonly MetricsQuery['range'][] = ['1h', '24h', '7d'];

function rows(series: readonly MetricsSeries[]) {
  return series.map((s) => {
    const attempts = s.totals.completed + s.totals.failed;
    const minutes = s.throughput.length > 0 ? s.throughput.reduce((a, b) => a + b, 0) / s.throughput.length : 0;
    return html`<tr data-name="${s.name}" data-connection="${s.connection}">
<td class="name">${s.name}</td><td class="muted">${s.connection}</td>
<td class="num" data-col="throughput">${formatRate(minutes)}</td>
<td class="num" data-col="completed">${formatCount(s.totals.completed)}</td>
<td class="num" data-col="failed">${formatCount(s.totals.failed)}</td>
<td class="num" data-col="released">${formatCount(s.totals.released)}</td>
<td class="num" data-col="failureRate">${formatPercent(attempts === 0 ? null : s.totals.failed / attempts)}</td>
<td class="num" data-col="runtimeP50">${formatMs(s.totals.runtimeP50Ms)}</td>
<td class="num" data-col="runtimeP95">${formatMs(s.totals.runtimeP95Ms)}</td>
<td class="num" data-col="waitP95">${formatMs(s.totals.waitP95Ms)}</td>
</tr>`;
  });
}

const HEADERS = [
  'Connection',
  'Jobs/min (mean)',
  'Completed',
  'Failed',
  'Released',
  'Failure rate',
  'Runtime p50',
  'Runtime p95',
  'Wait p95',
];

/** Throughput and failure-rate charts per queue and job name, and the range's totals as text. */
export function metricsPage(query: MetricsQuery, m: MetricsBody): PageContent {
  const filters = { queue: query.queue, job: query.job };
  const tabs = RANGES.map(
    (range) =>
      html`<a href="${link('metrics', { range, ...filters })}"${range === m.range ? html` aria-current="page"` : ''}>${range}</a>`,
  );
  const body = html`<nav class="tabs">${tabs}</nav>
${filterForm(
  'metrics',
  [
    { name: 'queue', label: 'Queue', value: query.queue },
    { name: 'job', label: 'Job', value: query.job, placeholder: 'class name' },
  ],
  { range: m.range },
)}
<script type="application/json" id="metrics-data">${jsonForScript(m)}</script>
<div class="charts">
<figure><figcaption>Jobs per minute, by queue</figcaption><div class="chart" data-chart="queues.throughput"></div></figure>
<figure><figcaption>Failure rate, by queue</figcaption><div class="chart" data-chart="queues.failureRate"></div></figure>
<figure><figcaption>Jobs per minute, by job</figcaption><div class="chart" data-chart="jobs.throughput"></div></figure>
<figure><figcaption>Failure rate, by job</figcaption><div class="chart" data-chart="jobs.failureRate"></div></figure>
</div>
<h2>By queue</h2>
<div data-table="queues">${table(['Queue', ...HEADERS], rows(m.queues), 'No jobs finished in this range.')}</div>
<h2>By job</h2>
<div data-table="jobs">${table(['Job', ...HEADERS], rows(m.jobs), 'No jobs finished in this range.')}</div>`;
  return { title: `Metrics: last ${m.range}`, section: 'metrics', body };
}
