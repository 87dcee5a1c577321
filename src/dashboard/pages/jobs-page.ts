import { JOB_STATES } from '../../contracts/queue-inspector.js';
import type { JobBody, PageBody } from '../api-types.js';
import type { JobsQuery } from '../dashboard-api.js';
import { filterForm, link, nextLink, segment, table } from './components.js';
import { formatTime, plural } from './format.js';
import { html } from './html.js';
import type { PageContent } from './layout.js';

const STATES = JOB_STATES;

/** The link to one job's detail page. */
export function jobLink(job: { id: string; connection: string }): string {
  return link(`jobs/${segment(job.id)}`, { connection: job.connection });
}

/** Stored jobs in one state, filtered by queue and job name, a page at a time. */
export function jobsPage(query: JobsQuery, page: PageBody<JobBody>): PageContent {
  const filters = { connection: query.connection, queue: query.queue, job: query.job };
  const tabs = STATES.map(
    (state) =>
      html`<a href="${link('jobs', { state, ...filters })}"${state === query.state ? html` aria-current="page"` : ''}>${state}</a>`,
  );
  const rows = page.items.map(
    (j) => html`<tr data-id="${j.id}">
<td><a href="${jobLink(j)}">${j.id}</a></td><td>${j.name ?? '?'}</td><td>${j.queue}</td><td class="muted">${j.connection}</td>
<td class="num">${j.attempts ?? '—'}</td><td>${formatTime(j.createdAt)}</td><td>${formatTime(j.availableAt)}</td>
${query.state === 'reserved' ? html`<td>${formatTime(j.reservedAt)}</td><td>${j.reservedBy ?? '—'}</td>` : ''}
</tr>`,
  );
  const headers = ['ID', 'Job', 'Queue', 'Connection', 'Attempts', 'Created', 'Available'];
  if (query.state === 'reserved') headers.push('Reserved', 'Reserved by');
  const body = html`<nav class="tabs">${tabs}</nav>
${filterForm(
  'jobs',
  [
    { name: 'queue', label: 'Queue', value: query.queue },
    { name: 'job', label: 'Job', value: query.job, placeholder: 'class name' },
  ],
  { state: query.state, connection: query.connection },
)}
<p class="total" data-stat="shown">${plural(page.items.length, 'job')} on this page</p>
${table(headers, rows, `No ${query.state} jobs${query.queue ? ` on ${query.queue}` : ''}${query.job ? ` named ${query.job}` : ''}.`)}
${nextLink('jobs', { state: query.state, ...filters }, page.next)}`;
  return { title: `Jobs: ${query.state}`, section: 'jobs', body };
}
