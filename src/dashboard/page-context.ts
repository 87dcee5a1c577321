import type { DashboardApi } from './dashboard-api.js';

/** The server-rendered pages, by route (relative to the mount): what `renderPage` is asked for. */
export const PAGE_ROUTES = {
  overview: '',
  queues: 'queues',
  jobs: 'jobs',
  job: 'jobs/:id',
  failed: 'failed',
  'failed-job': 'failed/:uuid',
  batches: 'batches',
  batch: 'batches/:id',
  workers: 'workers',
  metrics: 'metrics',
} as const;

/** A page's name. */
export type PageName = keyof typeof PAGE_ROUTES;

/**
 * What a page renderer gets: the seam between the HTTP core (routing, auth, headers) and the
 * pages. The core has already authorized the request; the renderer reads its data through
 * `api` and answers HTML.
 */
export interface PageContext {
  readonly page: PageName;
  /** The route's parameters: `id` (job, batch), `uuid` (failed job), already decoded. */
  readonly params: Readonly<Record<string, string>>;
  /** The request URL's query (`state`, `connection`, `queue`, `job`, `cursor`, `text`, `range` …). */
  readonly query: URLSearchParams;
  /**
   * The mount's path with a trailing slash (`/admin/jobs/`, or `/`): the page's `<base href>`.
   * Every other URL in the HTML is relative to it.
   */
  readonly basePath: string;
  /** This response's CSP nonce: every `<script>` carries `nonce="…"`. */
  readonly nonce: string;
  /** No mutation is allowed: render no action buttons. */
  readonly readOnly: boolean;
  /** How often the client script refreshes the page, milliseconds. */
  readonly pollMs: number;
  /**
   * The request asked for the page's `<main>` only (header `X-Errand-Fragment: 1`, sent by the
   * client script's live refresh).
   */
  readonly fragment: boolean;
  readonly api: DashboardApi;
  readonly request: Request;
}

/** The header the client script sends to ask for `<main>` only. */
export const FRAGMENT_HEADER = 'x-errand-fragment';

/** Renders one page's HTML (a whole document, or `<main>` only when `fragment`). */
export type PageRenderer = (context: PageContext) => Promise<string>;
