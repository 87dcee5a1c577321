import { PAGE_ROUTES, type PageName } from './page-context.js';

/** What a matched route leads to. */
export type RouteTarget =
  | { readonly kind: 'page'; readonly page: PageName }
  | { readonly kind: 'api'; readonly name: ApiRouteName }
  | { readonly kind: 'asset' };

/** The JSON API's routes (relative to the mount), by name. */
export const API_ROUTES = {
  overview: ['GET', 'api/overview'],
  queues: ['GET', 'api/queues'],
  pause: ['POST', 'api/queues/:queue/pause'],
  resume: ['POST', 'api/queues/:queue/resume'],
  clear: ['POST', 'api/queues/:queue/clear'],
  push: ['POST', 'api/queues/:queue/jobs'],
  jobs: ['GET', 'api/jobs'],
  job: ['GET', 'api/jobs/:id'],
  failed: ['GET', 'api/failed'],
  retryFailed: ['POST', 'api/failed/retry'],
  flushFailed: ['POST', 'api/failed/flush'],
  failedJob: ['GET', 'api/failed/:uuid'],
  retryOneFailed: ['POST', 'api/failed/:uuid/retry'],
  forgetFailed: ['POST', 'api/failed/:uuid/forget'],
  batches: ['GET', 'api/batches'],
  batch: ['GET', 'api/batches/:id'],
  retryBatch: ['POST', 'api/batches/:id/retry'],
  workers: ['GET', 'api/workers'],
  metrics: ['GET', 'api/metrics'],
  openapi: ['GET', 'api/openapi.json'],
} as const satisfies Record<string, readonly ['GET' | 'POST', string]>;

/** An API route's name. */
export type ApiRouteName = keyof typeof API_ROUTES;

interface Route {
  readonly method: 'GET' | 'POST';
  readonly segments: readonly string[];
  readonly target: RouteTarget;
}

const ROUTES: Route[] = [
  ...Object.entries(PAGE_ROUTES).map(([page, path]) => ({
    method: 'GET' as const,
    segments: path.split('/'),
    target: { kind: 'page' as const, page: page as PageName },
  })),
  ...Object.entries(API_ROUTES).map(([name, [method, path]]) => ({
    method,
    segments: path.split('/'),
    target: { kind: 'api' as const, name: name as ApiRouteName },
  })),
];

/** A path (below the mount) matched to its route. */
export interface RouteMatch {
  readonly target: RouteTarget;
  readonly params: Record<string, string>;
}

/** What a path below the mount leads to: the route for its method, or the methods it allows. */
export type Resolved = { readonly match: RouteMatch } | { readonly allow: string[] } | undefined;

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const want = pattern[i]!;
    const got = segments[i]!;
    if (want.startsWith(':')) {
      if (got === '') return undefined;
      params[want.slice(1)] = got;
    } else if (want !== got) return undefined;
  }
  return params;
}

/** Finds the route of `segments` (the path below the mount, split on `/` and decoded). */
export function resolveRoute(method: string, segments: readonly string[]): Resolved {
  if (segments[0] === 'assets' && segments.length > 1) {
    return method === 'GET' || method === 'HEAD'
      ? { match: { target: { kind: 'asset' }, params: { path: segments.slice(1).join('/') } } }
      : { allow: ['GET', 'HEAD'] };
  }
  const allow = new Set<string>();
  for (const route of ROUTES) {
    const params = matchSegments(route.segments, segments);
    if (!params) continue;
    const wanted = method === 'HEAD' ? 'GET' : method;
    if (route.method === wanted) return { match: { target: route.target, params } };
    allow.add(route.method);
  }
  return allow.size > 0 ? { allow: [...allow] } : undefined;
}

/**
 * The mount of a path when nothing else says it: the path less its dashboard route
 * (`/admin/jobs/failed/7` → `/admin/jobs`). An `api/…` or `assets/…` tail wins, as the longest
 * one (`/x/api/queues` is the API, not a page `queues` under `/x/api`); else the shortest page
 * route (`/jobs/queues` is the queues page under `/jobs`). A guess the `basePath` option replaces.
 */
export function guessMount(segments: readonly string[]): string | undefined {
  const head = (tail: number) => segments.slice(0, segments.length - tail).join('/');
  for (let tail = segments.length; tail >= 2; tail--) {
    const rest = segments.slice(segments.length - tail);
    if (rest[0] === 'assets') return head(tail);
    if (rest[0] === 'api' && ROUTES.some((route) => route.target.kind === 'api' && matchSegments(route.segments, rest)))
      return head(tail);
  }
  for (let tail = 1; tail <= segments.length; tail++) {
    const rest = segments.slice(segments.length - tail);
    if (ROUTES.some((route) => route.target.kind === 'page' && matchSegments(route.segments, rest))) return head(tail);
  }
  return undefined;
}
