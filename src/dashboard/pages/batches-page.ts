import type { BatchBody, PageBody } from '../api-types.js';
import type { PageContext } from '../page-context.js';
import { action, nextLink, segment, table } from './components.js';
import { formatCount, formatTime } from './format.js';
import { html } from './html.js';
import type { PageContent } from './layout.js';

function progress(b: BatchBody) {
  return html`<progress max="100" value="${b.progress}"></progress> <span data-col="progress">${b.progress}%</span>`;
}

function state(b: BatchBody): string {
  if (b.cancelledAt !== null) return 'cancelled';
  if (b.finishedAt !== null) return b.failedJobs > 0 ? 'finished with failures' : 'finished';
  return b.failedJobs > 0 ? 'running with failures' : 'running';
}

/** Batches, newest first, with their progress and failure counts. */
export function batchesPage(page: PageBody<BatchBody>): PageContent {
  const rows = page.items.map(
    (b) => html`<tr data-id="${b.id}">
<td><a href="batches/${segment(b.id)}">${b.name || b.id}</a></td><td>${progress(b)}</td>
<td class="num">${formatCount(b.totalJobs)}</td><td class="num">${formatCount(b.pendingJobs)}</td>
<td class="num">${formatCount(b.processedJobs)}</td><td class="num">${formatCount(b.failedJobs)}</td>
<td>${state(b)}</td><td>${formatTime(b.createdAt)}</td>
</tr>`,
  );
  const body = html`${table(['Batch', 'Progress', 'Total', 'Pending', 'Processed', 'Failed', 'State', 'Created'], rows, 'No batches.')}
${nextLink('batches', {}, page.next)}`;
  return { title: 'Batches', section: 'batches', body };
}

/** One batch: its figures, its failed jobs, and retrying them. */
export function batchPage(ctx: PageContext, b: BatchBody): PageContent {
  const row = (label: string, value: unknown) => html`<div><dt>${label}</dt><dd>${value as string}</dd></div>`;
  const body = html`${
    b.failedJobs > 0
      ? html`<p class="actions">${action(ctx, { post: `api/batches/${segment(b.id)}/retry`, label: `Retry ${formatCount(b.failedJobs)} failed` })}</p>`
      : ''
  }
<dl class="fields">
${row('ID', b.id)}
${row('Name', b.name || '—')}
${row('Progress', progress(b))}
${row('State', state(b))}
${row('Total jobs', formatCount(b.totalJobs))}
${row('Pending', formatCount(b.pendingJobs))}
${row('Processed', formatCount(b.processedJobs))}
${row('Failed', formatCount(b.failedJobs))}
${row('Created', formatTime(b.createdAt))}
${row('Finished', formatTime(b.finishedAt))}
${b.cancelledAt !== null ? row('Cancelled', formatTime(b.cancelledAt)) : ''}
</dl>
${
  b.failedJobIds.length > 0
    ? html`<h2>Failed jobs</h2><ul class="ids">${b.failedJobIds.map((id) => html`<li><a href="failed/${segment(id)}">${id}</a></li>`)}</ul>`
    : ''
}`;
  return { title: `Batch ${b.name || b.id}`, section: 'batches', body };
}
