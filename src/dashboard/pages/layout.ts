// The frame around every page: `<base href>` (so every link, asset and API URL in the page is
// relative to the mount), the navigation, the flash area actions write to, and `<main>`, which
// the client script swaps on each refresh.

import type { ConnectionErrorBody } from '../api-types.js';
import type { PageContext } from '../page-context.js';
import { assetVersions } from './assets.js';
import { html, type SafeHtml } from './html.js';

/** The navigation's entries: page key, relative href, label. */
const NAV: readonly [string, string, string][] = [
  ['overview', './', 'Overview'],
  ['queues', 'queues', 'Queues'],
  ['jobs', 'jobs', 'Jobs'],
  ['failed', 'failed', 'Failed'],
  ['batches', 'batches', 'Batches'],
  ['workers', 'workers', 'Workers'],
  ['metrics', 'metrics', 'Metrics'],
];

/** A page's content before framing. */
export interface PageContent {
  /** The `<title>` and `<h1>`. */
  title: string;
  /** Which navigation entry to mark current. */
  section: string;
  body: SafeHtml;
  /** Connections the page's figures leave out because reading them failed. */
  errors?: readonly ConnectionErrorBody[];
}

/** `/admin/jobs` → `/admin/jobs/`; the base must end in a slash for relative URLs to resolve under it. */
export function baseHref(basePath: string): string {
  const path = basePath.startsWith('/') ? basePath : `/${basePath}`;
  return path.endsWith('/') ? path : `${path}/`;
}

/** The inside of `<main>`: what a fragment request (the live refresh) receives. */
export function mainContent(content: PageContent): SafeHtml {
  const errors = content.errors ?? [];
  const notice =
    errors.length > 0
      ? html`<div class="notice error" role="alert">${errors.map((error) => html`<p data-connection-error="${error.connection}">${error.message}</p>`)}</div>\n`
      : '';
  return html`<h1>${content.title}</h1>\n${notice}${content.body}`;
}

/** The whole document. */
export async function layout(ctx: PageContext, content: PageContent): Promise<string> {
  const v = await assetVersions();
  const nav = NAV.map(
    ([key, href, label]) =>
      html`<a href="${href}"${key === content.section ? html` aria-current="page"` : ''}>${label}</a>`,
  );
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<base href="${baseHref(ctx.basePath)}">
<title>${content.title} · errand</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="assets/app.css?v=${v['app.css']}">
<script src="assets/app.js?v=${v['app.js']}" nonce="${ctx.nonce}" defer></script>
</head>
<body data-poll-ms="${ctx.pollMs}"${ctx.readOnly ? html` data-read-only` : ''}>
<header class="top">
<a class="brand" href="./">errand</a>
<nav>${nav}</nav>
${ctx.readOnly ? html`<span class="badge">read-only</span>` : ''}
<span class="live" id="live" hidden>live</span>
</header>
<div id="flash" role="status" aria-live="polite"></div>
<main id="main" data-section="${content.section}">
${mainContent(content)}
</main>
</body>
</html>
`.value;
}
