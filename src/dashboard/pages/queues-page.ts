import type { QueueBody } from '../api-types.js';
import type { PageContext } from '../page-context.js';
import { action, link, segment, table } from './components.js';
import { formatAge, formatCount } from './format.js';
import { html } from './html.js';
import type { PageContent } from './layout.js';

/** Every queue of every connection workers claim from, with its counts and pause/resume/clear. */
export function queuesPage(ctx: PageContext, queues: readonly QueueBody[]): PageContent {
  const rows = queues.map((q) => {
    const api = (verb: string) => link(`api/queues/${segment(q.name)}/${verb}`, { connection: q.connection });
    const jobs = (state: string, n: number) =>
      html`<a href="${link('jobs', { state, connection: q.connection, queue: q.name })}">${formatCount(n, q.capped)}</a>`;
    return html`<tr data-connection="${q.connection}" data-queue="${q.name}">
<td>${q.connection}</td><td class="name">${q.name}</td>
<td class="num" data-col="pending">${jobs('pending', q.pending)}</td>
<td class="num" data-col="delayed">${jobs('delayed', q.delayed)}</td>
<td class="num" data-col="reserved">${jobs('reserved', q.reserved)}</td>
<td class="num" data-col="failed"><a href="${link('failed', { connection: q.connection, queue: q.name })}">${formatCount(q.failed, q.capped)}</a></td>
<td class="num" data-col="oldestPendingAge">${formatAge(q.oldestPendingAge)}</td>
<td data-col="state">${q.paused ? html`<span class="badge paused">paused</span>` : 'active'}</td>
<td class="actions">${
      q.paused
        ? action(ctx, { post: api('resume'), label: 'Resume' })
        : action(ctx, { post: api('pause'), label: 'Pause' })
    } ${action(ctx, {
      post: api('clear'),
      label: 'Clear',
      danger: true,
      confirm: `Delete every pending and delayed job of ${q.name} (${q.connection})?`,
    })}</td>
</tr>`;
  });
  const body = table(
    [
      'Connection',
      'Queue',
      'Pending',
      'Delayed',
      'Reserved',
      'Failed',
      'Oldest pending',
      'State',
      ctx.readOnly ? '' : 'Actions',
    ],
    rows,
    'No queues yet: a queue appears when a job is pushed to it or a worker serves it.',
  );
  return { title: 'Queues', section: 'queues', body };
}
