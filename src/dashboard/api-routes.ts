import { JOB_STATES, type JobState } from '../contracts/queue-inspector.js';
import type { MetricsBody } from './api-types.js';
import {
  type DashboardData,
  DashboardHttpError,
  type FailedQuery,
  type FailedSelection,
  type Listed,
} from './dashboard-api.js';
import { checkSameOrigin } from './dashboard-auth.js';
import { readLimitedBody } from './limited-body.js';
import { openApiDocument } from './openapi.js';
import { handlePush } from './push/handle-push.js';
import { errorResponse, jsonResponse } from './responses.js';
import { API_ROUTES, type ApiRouteName } from './route-table.js';

/** What the API routes need besides the request. */
export interface ApiContext {
  readonly data: DashboardData;
  readonly readOnly: boolean;
}

const RANGES: readonly MetricsBody['range'][] = ['1h', '24h', '7d'];
/** The answer to any change while the dashboard is `readOnly`. */
export function readOnlyRefusal(): Response {
  return errorResponse(403, 'The dashboard is read-only (`readOnly`): it changes nothing.', 'readOnly');
}

/** The most rows a page holds, whatever `limit` asks. */
export const MAX_PAGE_LIMIT = 500;

/**
 * Answers one API route. Changes (POST) are checked here: refused when `readOnly`, or when they
 * do not come from the dashboard's own pages.
 */
export async function handleApi(
  name: ApiRouteName,
  params: Record<string, string>,
  request: Request,
  context: ApiContext,
): Promise<Response> {
  const { data } = context;
  const query = new URL(request.url).searchParams;
  if (API_ROUTES[name][0] === 'POST') {
    if (context.readOnly) return readOnlyRefusal();
    const crossSite = checkSameOrigin(request);
    if (crossSite) return crossSite;
  }
  const connection = () => connectionParam(query, data);
  switch (name) {
    case 'overview':
      return jsonResponse(await data.overview());
    case 'queues':
      return listedResponse(await data.queues());
    case 'pause':
      return jsonResponse(await data.pauseQueue(connection(), params.queue!));
    case 'resume':
      return jsonResponse(await data.resumeQueue(connection(), params.queue!));
    case 'clear':
      return jsonResponse(await data.clearQueue(connection(), params.queue!));
    case 'push':
      // createDashboard answers it before the dashboard's own auth; reached only by a caller that skipped that.
      return handlePush(request, { queue: params.queue! });
    case 'jobs':
      return jsonResponse(
        await data.jobs({
          state: stateParam(query),
          connection: connection(),
          ...optional(query, 'queue', 'job', 'cursor'),
          limit: limitParam(query),
        }),
      );
    case 'job':
      return jsonResponse(await data.job(connection(), params.id!));
    case 'failed':
      return jsonResponse(await data.failed({ ...failedFilter(query), limit: limitParam(query) }));
    case 'failedJob':
      return jsonResponse(await data.failedJob(params.uuid!));
    case 'retryFailed':
      return jsonResponse(await data.retryFailed(await selectionBody(request)));
    case 'retryOneFailed':
      return jsonResponse(await data.retryFailed({ uuids: [params.uuid!] }));
    case 'forgetFailed':
      return jsonResponse(await data.forgetFailed(params.uuid!));
    case 'flushFailed':
      return jsonResponse(await data.flushFailed());
    case 'batches':
      return jsonResponse(await data.batches(query.get('cursor') ?? undefined, limitParam(query)));
    case 'batch':
      return jsonResponse(await data.batch(params.id!));
    case 'retryBatch':
      return jsonResponse(await data.retryBatch(params.id!));
    case 'workers':
      return listedResponse(await data.workers());
    case 'metrics':
      return jsonResponse(await data.metrics({ range: rangeParam(query), ...optional(query, 'queue', 'job') }));
    case 'openapi':
      return jsonResponse(openApiDocument());
  }
}

function connectionParam(query: URLSearchParams, data: DashboardData): string {
  const name = query.get('connection') || data.defaultConnection;
  if (!data.connections.includes(name)) {
    throw new DashboardHttpError(
      404,
      `Connection [${name}] is not one whose jobs workers claim. Connections: ${data.connections.join(', ') || 'none'}.`,
    );
  }
  return name;
}

function stateParam(query: URLSearchParams): JobState {
  const state = query.get('state') ?? 'pending';
  if (!(JOB_STATES as readonly string[]).includes(state)) {
    throw new DashboardHttpError(400, `state must be one of ${JOB_STATES.join(', ')}; got ${state}.`);
  }
  return state as JobState;
}

function rangeParam(query: URLSearchParams): MetricsBody['range'] {
  const range = query.get('range') ?? '1h';
  if (!(RANGES as readonly string[]).includes(range)) {
    throw new DashboardHttpError(400, `range must be one of ${RANGES.join(', ')}; got ${range}.`);
  }
  return range as MetricsBody['range'];
}

function limitParam(query: URLSearchParams): number | undefined {
  const raw = query.get('limit');
  if (raw === null || raw === '') return undefined;
  const limit = Number(raw);
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE_LIMIT) {
    throw new DashboardHttpError(400, `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}; got ${raw}.`);
  }
  return limit;
}

function optional<K extends string>(query: URLSearchParams, ...keys: K[]): Partial<Record<K, string>> {
  const found: Partial<Record<K, string>> = {};
  for (const key of keys) {
    const value = query.get(key);
    if (value) found[key] = value;
  }
  return found;
}

function failedFilter(query: URLSearchParams): FailedQuery {
  return optional(query, 'connection', 'queue', 'job', 'text', 'cursor');
}

/** The body's text, read no further than `max` bytes: past it, a 413 naming the limit. */
async function limitedText(request: Request, max: number): Promise<string> {
  const body = await readLimitedBody(
    request,
    max,
    () => new DashboardHttpError(413, `The body is over ${max} bytes; select by filter instead of listing uuids.`),
  );
  return Buffer.from(body).toString('utf8');
}

/** The largest selection body read: 500 uuids or a filter fit in a small fraction of it. */
const MAX_SELECTION_BYTES = 256 * 1024;

async function selectionBody(request: Request): Promise<FailedSelection> {
  let body: unknown;
  const text = await limitedText(request, MAX_SELECTION_BYTES);
  try {
    body = JSON.parse(text);
  } catch {
    throw new DashboardHttpError(400, 'The body must be JSON: { "uuids": [...] } or { "filter": { ... } }.');
  }
  if (body && typeof body === 'object') {
    const { uuids, filter } = body as { uuids?: unknown; filter?: unknown };
    if (Array.isArray(uuids) && uuids.every((uuid) => typeof uuid === 'string' && uuid !== '')) {
      if (uuids.length > MAX_PAGE_LIMIT) {
        throw new DashboardHttpError(400, `uuids holds at most ${MAX_PAGE_LIMIT} ids; use a filter for more.`);
      }
      return { uuids };
    }
    if (filter && typeof filter === 'object' && !Array.isArray(filter)) {
      const fields = filter as Record<string, unknown>;
      const picked: Record<string, string> = {};
      for (const [key, value] of Object.entries(fields)) {
        if (!['connection', 'queue', 'job', 'text'].includes(key) || typeof value !== 'string') {
          throw new DashboardHttpError(
            400,
            `filter.${key} is not a filter (connection, queue, job, text take strings).`,
          );
        }
        if (value !== '') picked[key] = value;
      }
      return { filter: picked };
    }
  }
  throw new DashboardHttpError(
    400,
    'The body must be { "uuids": ["…"] } (non-empty strings) or { "filter": { connection?, queue?, job?, text? } }.',
  );
}

/**
 * A list's rows as the JSON array clients read, and the connections left out in the
 * `Errand-Connection-Errors` header (JSON, non-ASCII escaped: header values are bytes).
 */
function listedResponse<T>(listed: Listed<T>): Response {
  if (listed.errors.length === 0) return jsonResponse(listed.items);
  const errors = JSON.stringify(listed.errors).replace(
    /[\u007f-\uffff]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return jsonResponse(listed.items, 200, { 'Errand-Connection-Errors': errors });
}
