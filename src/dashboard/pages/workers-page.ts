import type { WorkerBody } from '../api-types.js';
import { table } from './components.js';
import { formatAge, formatTime } from './format.js';
import { html } from './html.js';
import { jobLink } from './jobs-page.js';
import type { PageContent } from './layout.js';

/** Registered workers: where they run, what they serve, how busy, and whether they still beat. */
export function workersPage(workers: readonly WorkerBody[]): PageContent {
  const rows = workers.map(
    (w) => html`<tr data-id="${w.id}" data-pid="${w.pid}" class="${w.status}">
<td>${w.name}</td><td>${w.hostname}</td><td class="num">${w.pid}</td><td class="muted">${w.connection}</td>
<td>${w.queues.join(', ')}</td><td class="num">${w.concurrency}</td><td class="num" data-col="busySlots">${w.busySlots}</td>
<td class="num" data-col="heartbeatAge">${formatAge(w.heartbeatAge)}</td><td>${formatTime(w.startedAt)}</td>
<td data-col="status"><span class="badge ${w.status}">${w.status}</span></td>
<td>${w.jobs.length === 0 ? '—' : w.jobs.map((id, i) => html`${i > 0 ? ', ' : ''}<a href="${jobLink({ id, connection: w.connection })}">${id}</a>`)}</td>
</tr>`,
  );
  const live = workers.filter((w) => w.status === 'live').length;
  const body = html`<p class="total"><span data-stat="live">${live}</span> live, <span data-stat="lost">${workers.length - live}</span> lost</p>
${table(['Worker', 'Host', 'PID', 'Connection', 'Queues', 'Concurrency', 'Busy slots', 'Heartbeat age', 'Started', 'Status', 'Current jobs'], rows, 'No workers registered.')}`;
  return { title: 'Workers', section: 'workers', body };
}
