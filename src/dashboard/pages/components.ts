// Pieces several pages share: relative links with queries, figures, action buttons the client
// script turns into JSON POSTs, filter forms and the "next page" link.

import type { PageContext } from '../page-context.js';
import { type HtmlValue, html, type SafeHtml } from './html.js';

/** A relative URL: `path` (segments already encoded) plus the non-empty `params`. */
export function link(path: string, params: Record<string, string | number | undefined | null> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== '') query.set(key, String(value));
  }
  const text = query.toString();
  return text ? `${path}?${text}` : path;
}

/** One path segment, encoded (ids and queue names may hold any character). */
export function segment(value: string): string {
  return encodeURIComponent(value);
}

/** A figure with its label; `key` becomes `data-stat` so scripts and tests can find it. */
export function stat(key: string, label: string, value: HtmlValue, note?: HtmlValue): SafeHtml {
  return html`<div class="stat"><dt>${label}</dt><dd data-stat="${key}">${value}</dd>${note ? html`<dd class="note">${note}</dd>` : ''}</div>`;
}

/** Options of an action button. */
export interface ActionOptions {
  /** The API path to POST to, relative to the base (`api/queues/q1/pause?connection=default`). */
  post: string;
  label: string;
  /** A JSON body; omitted → `{}`. */
  body?: unknown;
  /** Asked before posting. */
  confirm?: string;
  /** Posts `{ "uuids": [...] }` from the checked boxes named `uuid` instead of `body`. */
  selection?: boolean;
  danger?: boolean;
}

/** A button the client script turns into a `fetch` POST; nothing in read-only mode. */
export function action(ctx: PageContext, options: ActionOptions): SafeHtml {
  if (ctx.readOnly) return html``;
  return html`<button type="button" class="action${options.danger ? ' danger' : ''}" data-post="${options.post}"${
    options.body !== undefined ? html` data-body="${JSON.stringify(options.body)}"` : ''
  }${options.confirm ? html` data-confirm="${options.confirm}"` : ''}${options.selection ? html` data-selection="uuid"` : ''}>${options.label}</button>`;
}

/** A GET form of text inputs that reloads the page with the filter in its query. */
export function filterForm(
  action: string,
  fields: readonly { name: string; label: string; value?: string; placeholder?: string }[],
  hidden: Record<string, string | undefined> = {},
): SafeHtml {
  return html`<form class="filters" method="get" action="${action}">
${Object.entries(hidden).map(([name, value]) => (value ? html`<input type="hidden" name="${name}" value="${value}">` : ''))}
${fields.map(
  (f) =>
    html`<label>${f.label} <input type="search" name="${f.name}" value="${f.value ?? ''}" placeholder="${f.placeholder ?? ''}"></label>`,
)}
<button type="submit">Filter</button> <a href="${link(action, hidden)}">Clear</a>
</form>`;
}

/** "Next page" when there is one. */
export function nextLink(path: string, params: Record<string, string | undefined>, next: string | null): SafeHtml {
  if (!next) return html``;
  return html`<p class="pager"><a rel="next" href="${link(path, { ...params, cursor: next })}">Next page →</a></p>`;
}

/** A table, or a sentence when there are no rows. */
export function table(headers: readonly HtmlValue[], rows: readonly SafeHtml[], empty: string): SafeHtml {
  if (rows.length === 0) return html`<p class="empty">${empty}</p>`;
  return html`<table><thead><tr>${headers.map((h) => html`<th>${h}</th>`)}</tr></thead><tbody>
${rows}
</tbody></table>`;
}
