import type { JobBody, PageBody } from '../api-types.js';
import type { FailedQuery } from '../dashboard-api.js';
import type { PageContext } from '../page-context.js';
import { action, filterForm, nextLink, segment, table } from './components.js';
import { formatTime, plural } from './format.js';
import { html } from './html.js';
import type { PageContent } from './layout.js';

/** The first line of an exception, for the listing. */
function firstLine(text: string | undefined): string {
  const line = (text ?? '').split('\n', 1)[0] ?? '';
  return line.length > 160 ? `${line.slice(0, 159)}…` : line;
}

/** Failed jobs, searchable by connection, queue, job name and exception text, with retry and forget. */
export function failedPage(ctx: PageContext, query: FailedQuery, page: PageBody<JobBody>): PageContent {
  const filter = { connection: query.connection, queue: query.queue, job: query.job, text: query.text };
  const filtered = Object.values(filter).some((v) => v);
  const total = page.total ?? page.items.length;
  const rows = page.items.map((j) => {
    const uuid = j.uuid ?? j.id;
    return html`<tr data-uuid="${uuid}">
${ctx.readOnly ? '' : html`<td><input type="checkbox" name="uuid" value="${uuid}" aria-label="Select ${uuid}"></td>`}
<td><a href="failed/${segment(uuid)}">${j.name ?? '?'}</a></td><td>${j.queue}</td><td class="muted">${j.connection}</td>
<td>${formatTime(j.failedAt)}</td><td class="exception-line">${firstLine(j.exception)}</td>
<td class="actions">${action(ctx, { post: `api/failed/${segment(uuid)}/retry`, label: 'Retry' })} ${action(ctx, {
      post: `api/failed/${segment(uuid)}/forget`,
      label: 'Forget',
      danger: true,
    })}</td>
</tr>`;
  });
  const selectAll = ctx.readOnly
    ? ''
    : html`<input type="checkbox" data-select-all="uuid" aria-label="Select all on this page">`;
  const matching = plural(total, 'job', page.capped);
  const body = html`${filterForm('failed', [
    { name: 'queue', label: 'Queue', value: query.queue },
    { name: 'job', label: 'Job', value: query.job, placeholder: 'class name' },
    { name: 'text', label: 'Exception', value: query.text, placeholder: 'text in the exception' },
    { name: 'connection', label: 'Connection', value: query.connection },
  ])}
<p class="total"><span data-stat="total">${matching}</span>${filtered ? ' match' : ' failed'}</p>
${
  ctx.readOnly || page.items.length === 0
    ? ''
    : html`<p class="actions bulk">${action(ctx, { post: 'api/failed/retry', label: 'Retry selection', selection: true })} ${action(
        ctx,
        {
          post: 'api/failed/retry',
          label: filtered ? `Retry all ${matching} matching` : `Retry all ${matching}`,
          body: { filter: Object.fromEntries(Object.entries(filter).filter(([, v]) => v)) },
          confirm: `Retry ${matching}?`,
        },
      )} ${action(ctx, { post: 'api/failed/flush', label: 'Flush all failed jobs', danger: true, confirm: 'Delete every failed job record?' })}</p>`
}
${table([selectAll, 'Job', 'Queue', 'Connection', 'Failed', 'Exception', ctx.readOnly ? '' : 'Actions'], rows, filtered ? 'No failed job matches.' : 'No failed jobs.')}
${nextLink('failed', filter, page.next)}`;
  return { title: 'Failed jobs', section: 'failed', body };
}
