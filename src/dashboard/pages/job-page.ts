import type { JobBody } from '../api-types.js';
import type { PageContext } from '../page-context.js';
import { action, link, segment } from './components.js';
import { formatTime } from './format.js';
import { html } from './html.js';
import type { PageContent } from './layout.js';

/** One job, stored or failed: its fields, payload (already redacted by the API), exception, links. */
export function jobPage(ctx: PageContext, job: JobBody): PageContent {
  const failed = job.state === 'failed';
  const uuid = job.uuid ?? job.id;
  const row = (label: string, value: unknown) => html`<div><dt>${label}</dt><dd>${value as string}</dd></div>`;
  const actions = failed
    ? html`<p class="actions">${action(ctx, { post: `api/failed/${segment(uuid)}/retry`, label: 'Retry' })} ${action(
        ctx,
        {
          post: `api/failed/${segment(uuid)}/forget`,
          label: 'Forget',
          danger: true,
          confirm: 'Delete this failed job record?',
        },
      )}</p>`
    : html``;
  const body = html`${actions}
<dl class="fields">
${row('State', job.state)}
${row('Job', job.name ?? '?')}
${row('Queue', html`<a href="${link(failed ? 'failed' : 'jobs', { state: failed ? undefined : job.state, connection: job.connection, queue: job.queue })}">${job.queue}</a>`)}
${row('Connection', job.connection)}
${row('ID', job.id)}
${failed ? row('UUID', uuid) : ''}
${row('Attempts', job.attempts === null ? '—' : String(job.attempts))}
${row('Created', formatTime(job.createdAt))}
${row('Available', formatTime(job.availableAt))}
${job.reservedAt !== null ? row('Reserved', formatTime(job.reservedAt)) : ''}
${job.reservedBy ? row('Reserved by', job.reservedBy) : ''}
${failed ? row('Failed', formatTime(job.failedAt)) : ''}
${job.batchId ? row('Batch', html`<a href="batches/${segment(job.batchId)}">${job.batchId}</a>`) : ''}
${job.chained && job.chained.length > 0 ? row('Chain (still to run)', html`<ol class="chain">${job.chained.map((name) => html`<li>${name}</li>`)}</ol>`) : ''}
</dl>
${job.exception ? html`<h2>Exception</h2><pre class="exception">${job.exception}</pre>` : ''}
<h2>Payload</h2>
<pre class="payload">${JSON.stringify(job.payload ?? null, null, 2)}</pre>`;
  return { title: failed ? `Failed job ${uuid}` : `Job ${job.id}`, section: failed ? 'failed' : 'jobs', body };
}
