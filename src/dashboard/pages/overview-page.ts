import type { OverviewBody } from '../api-types.js';
import { link, stat } from './components.js';
import { formatAge, formatCount, formatMs, formatRate } from './format.js';
import { html } from './html.js';
import type { PageContent } from './layout.js';

const STATUS_TEXT: Record<OverviewBody['status'], string> = {
  running: 'Running',
  paused: 'Paused',
  inactive: 'Inactive (no live worker)',
};

/** The overview: status, rates, the queue figures that stand out, totals and workers. */
export function overviewPage(o: OverviewBody): PageContent {
  const queueLink = (q: { connection: string; queue: string }) =>
    html`<a href="${link('jobs', { state: 'pending', connection: q.connection, queue: q.queue })}">${q.queue}</a> <span class="muted">(${q.connection})</span>`;
  const body = html`<p class="status status-${o.status}">Status: <strong data-stat="status">${STATUS_TEXT[o.status]}</strong></p>
<dl class="stats">
${stat('jobsPerMinute', 'Jobs per minute', formatRate(o.jobsPerMinute))}
${stat('failedLastHour', 'Failed in the last hour', formatCount(o.failedLastHour))}
${stat('pending', 'Pending', html`<a href="jobs?state=pending">${formatCount(o.pending, o.capped)}</a>`)}
${stat('delayed', 'Delayed', html`<a href="jobs?state=delayed">${formatCount(o.delayed, o.capped)}</a>`)}
${stat('reserved', 'Reserved', html`<a href="jobs?state=reserved">${formatCount(o.reserved, o.capped)}</a>`)}
${stat('failed', 'Failed', html`<a href="failed">${formatCount(o.failed, o.capped)}</a>`)}
</dl>
<h2>Queues</h2>
<dl class="stats">
${stat('longestWait', 'Longest wait', o.longestWait ? formatAge(o.longestWait.seconds) : '—', o.longestWait && queueLink(o.longestWait))}
${stat('busiestQueue', 'Busiest queue', o.busiestQueue ? html`${formatRate(o.busiestQueue.jobsPerMinute)}/min` : '—', o.busiestQueue && queueLink(o.busiestQueue))}
${stat('slowestQueue', 'Slowest queue', o.slowestQueue ? formatMs(o.slowestQueue.runtimeMs) : '—', o.slowestQueue && queueLink(o.slowestQueue))}
</dl>
<h2><a href="workers">Workers</a></h2>
<dl class="stats">
${stat('workersLive', 'Live workers', formatCount(o.workers.live))}
${stat('workersLost', 'Lost workers', formatCount(o.workers.lost))}
${stat('busySlots', 'Busy slots', `${formatCount(o.workers.busySlots)} of ${formatCount(o.workers.slots)}`)}
</dl>`;
  return { title: 'Overview', section: 'overview', body };
}
