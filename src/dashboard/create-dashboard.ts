import { randomBytes } from 'node:crypto';

import { registerErrandMetrics } from '../metrics/errand-metrics.js';
import { loadPromClient } from '../metrics/load-prom-client.js';
import { type MetricsHandler, metricsHandler } from '../metrics/metrics-handler.js';
import { bootedRuntime, type ErrandRuntime, report as reportError } from '../runtime/current.js';
import { withoutCredentials } from '../runtime/without-credentials.js';
import { handleApi, readOnlyRefusal } from './api-routes.js';
import { serveAsset } from './asset-route.js';
import { type DashboardData, DashboardHttpError } from './dashboard-api.js';
import { checkAccess } from './dashboard-auth.js';
import { dataFromOptions } from './dashboard-data-source.js';
import type { DashboardOptions } from './dashboard-options.js';
import { FRAGMENT_HEADER } from './page-context.js';
import { renderPage } from './pages/index.js';
import { handlePush } from './push/handle-push.js';
import { errorResponse, escapeHtml, htmlResponse, securityHeaders, withHeaders } from './responses.js';
import { guessMount, resolveRoute } from './route-table.js';

/** A Fetch-style handler: what `createDashboard` returns and `toNodeHandler` adapts. */
export type DashboardHandler = (request: Request) => Promise<Response>;

// The mount Express stripped off (`app.use('/admin/jobs', …)`), recorded by the Node adapter.
const mounts = new WeakMap<Request, string>();

/** Records the path a framework mounted the handler under (the Node adapter, from `req.originalUrl`). */
export function setMount(request: Request, mount: string): void {
  mounts.set(request, mount);
}

function normalizeBase(path: string): string {
  // Repeated slashes collapse: a base of `//host` would be read as another host.
  const trimmed = path.replace(/\/{2,}/g, '/').replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/**
 * The dashboard and its JSON API as one Fetch handler, mountable under any path: every URL it
 * writes is relative to the mount. Closed by default (see `authorize`, `basicAuth`); changes are
 * POST only, from the dashboard's own pages, and refused when `readOnly`.
 *
 * @example
 * ```ts
 * const dashboard = createDashboard({ basicAuth: { username: 'ops', password: process.env.DASH_PASSWORD! } });
 * app.use('/admin/jobs', toNodeHandler(dashboard));
 * ```
 */
export function createDashboard(options: DashboardOptions = {}): DashboardHandler {
  if (options.basicAuth && (!options.basicAuth.username || !options.basicAuth.password)) {
    throw new TypeError('createDashboard: `basicAuth` needs a non-empty username and password.');
  }
  const pollMs = options.pollMs ?? 3000;
  if (!Number.isInteger(pollMs) || pollMs < 250) {
    throw new TypeError(
      `createDashboard: \`pollMs\` must be a whole number of milliseconds, at least 250; got ${options.pollMs}.`,
    );
  }
  for (const [name, value, least] of [
    ['countCap', options.countCap, 1],
    ['countCacheSeconds', options.countCacheSeconds, 0],
  ] as const) {
    if (value !== undefined && (!Number.isInteger(value) || value < least)) {
      throw new TypeError(`createDashboard: \`${name}\` must be a whole number, at least ${least}; got ${value}.`);
    }
  }
  if (options.redact && !options.redact.every((key) => typeof key === 'string' && key !== '')) {
    throw new TypeError('createDashboard: `redact` must list non-empty key names.');
  }
  const fixedBase = options.basePath === undefined ? undefined : normalizeBase(options.basePath);
  // Made now: a missing prom-client is an error at creation, not at the first scrape.
  // A runtime given as a function is seen once the dashboard's data first asks for it; the depth
  // gauges read that one (never booting errand themselves) and, before it, the booted one.
  let givenRuntime: ErrandRuntime | undefined;
  const given = options.runtime;
  const dataOptions: DashboardOptions =
    typeof given === 'function' ? { ...options, runtime: async () => (givenRuntime = await given()) } : options;
  const metrics: MetricsHandler | undefined =
    options.metrics !== true
      ? undefined
      : given === undefined
        ? metricsHandler()
        : metricsHandler({
            registry: registerErrandMetrics(new (loadPromClient().Registry)(), {
              depth: { runtime: typeof given === 'function' ? () => givenRuntime ?? bootedRuntime() : given },
            }).registry,
          });
  let data: Promise<DashboardData> | undefined;
  // Read on first use (booting errand then, when no runtime was given); a failed boot is tried again.
  const source = (): Promise<DashboardData> => {
    data ??= dataFromOptions(dataOptions);
    data.catch(() => {
      data = undefined;
    });
    return data;
  };

  return async (request) => {
    const nonce = randomBytes(16).toString('base64');
    const response = await answer(request, nonce).catch((error: unknown) => failure(error, request));
    return withHeaders(response, securityHeaders(nonce));
  };

  async function answer(request: Request, nonce: string): Promise<Response> {
    const url = new URL(request.url);
    const path = url.pathname;
    const mount = fixedBase ?? mounts.get(request) ?? guessMount(path.split('/')) ?? '';
    // An empty segment would make the base href `//evil.com/`, another host for every relative link.
    if (mount.split('/').slice(1).includes('')) {
      return errorResponse(
        400,
        `The path ${path} has an empty segment (//) where the dashboard's mount would be; set \`basePath\`.`,
        'basePath',
      );
    }
    if (path === mount) return redirect(`${path}/${url.search}`);
    if (!path.startsWith(`${mount}/`)) {
      return errorResponse(404, `This dashboard is mounted at ${mount || '/'}; ${path} lies outside it.`, 'basePath');
    }
    const segments = path
      .slice(mount.length + 1)
      .split('/')
      .map(decodeSegment);
    if (segments.includes(undefined)) return errorResponse(400, `The path ${path} is not valid URL encoding.`);
    const resolved = resolveRoute(request.method, segments as string[]);
    if (!resolved) return notFound(path, segments[0] === 'api');
    if ('allow' in resolved) {
      return errorResponse(
        405,
        `${request.method} is not allowed here; use ${resolved.allow.join(' or ')}.`,
        undefined,
        {
          Allow: resolved.allow.join(', '),
        },
      );
    }
    const { target, params } = resolved.match;
    // Assets hold no data and the login prompt's page needs them: served to anyone.
    if (target.kind === 'asset') return serveAsset(params.path!, request);
    // The push API is for other hosts: its own tokens or signatures (config `api`), not the
    // dashboard's login and same-origin rule; `readOnly` still closes it.
    if (target.kind === 'api' && target.name === 'push') {
      if (options.readOnly === true) return readOnlyRefusal();
      return handlePush(request, { queue: params.queue! });
    }
    const denied = await checkAccess(request, options);
    if (denied) return denied;
    if (metrics && target.kind === 'page' && target.page === 'metrics' && wantsExposition(request)) {
      return metrics(request);
    }
    if (target.kind === 'api') {
      return handleApi(target.name, params, request, {
        data: await source(),
        readOnly: options.readOnly === true,
      });
    }
    const html = await renderPage({
      page: target.page,
      params,
      query: url.searchParams,
      basePath: `${mount}/`,
      nonce,
      readOnly: options.readOnly === true,
      pollMs,
      fragment: request.headers.get(FRAGMENT_HEADER) === '1',
      api: await source(),
      request,
    });
    return htmlResponse(html);
  }

  function failure(error: unknown, request: Request): Response {
    const known = error instanceof DashboardHttpError;
    if (!known) reportError(error);
    const status = known ? error.status : 500;
    const message = known
      ? error.message
      : `The dashboard failed: ${withoutCredentials(String((error as Error)?.message ?? error))}`;
    if (new URL(request.url).pathname.includes('/api/'))
      return errorResponse(status, message, known ? error.option : undefined);
    return htmlResponse(`<!doctype html><title>errand</title><p>${escapeHtml(message)}</p>`, status);
  }
}

/**
 * Whether a request to the Metrics page is a scrape: its Accept names the exposition's types, as
 * Prometheus's does. A browser's (text/html, then *\/*) and the pages' own fetches never do.
 */
function wantsExposition(request: Request): boolean {
  const accept = request.headers.get('accept') ?? '';
  return /(^|[\s,])(text\/plain|application\/openmetrics-text)\b/.test(accept);
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

function redirect(location: string): Response {
  return new Response(null, { status: 308, headers: { Location: location } });
}

function notFound(path: string, api: boolean): Response {
  const message = `Nothing is served at ${path}.`;
  return api
    ? errorResponse(404, message)
    : htmlResponse(`<!doctype html><title>Not found</title><p>${escapeHtml(message)}</p>`, 404);
}
