import type { IncomingMessage, ServerResponse } from 'node:http';

import type { Registry, RegistryContentType } from 'prom-client';

import { registerErrandMetrics } from './errand-metrics.js';
import { renderExposition, wantsOpenMetrics } from './exposition.js';

/** Options of {@link metricsHandler}. */
export interface MetricsHandlerOptions {
  /**
   * The registry to serve. Default: errand's own, registered by this call (`registerErrandMetrics()`),
   * so counting starts when the handler is made. A registry of the app's is served whole; register
   * errand's families in it first with `registerErrandMetrics(registry)`.
   */
  readonly registry?: Registry<RegistryContentType>;
}

/** The Node form of a metrics handler: a node:http listener, also an Express/Connect middleware. */
export type NodeMetricsHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/**
 * A Fetch handler serving a scrape (`GET`, `HEAD`) wherever it is mounted: the Prometheus text
 * format 0.0.4, or OpenMetrics when the Accept header asks; `node` is the same for node:http.
 */
export type MetricsHandler = ((request: Request) => Promise<Response>) & { readonly node: NodeMetricsHandler };

/** What a scrape answers, shared by both forms. */
interface Answer {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

/**
 * Serves errand's metrics (or a whole registry of the app's) to Prometheus: mount it at
 * `/metrics` in any server that speaks Fetch (`handler(request)`) or node:http (`handler.node`).
 * It holds no authentication: put it behind the app's own, or on a port only Prometheus reaches.
 */
export function metricsHandler(options: MetricsHandlerOptions = {}): MetricsHandler {
  const registry = options.registry ?? registerErrandMetrics().registry;
  const answer = async (method: string, accept: string | null | undefined): Promise<Answer> => {
    if (method !== 'GET' && method !== 'HEAD') {
      return {
        status: 405,
        headers: { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' },
        body: `The metrics endpoint takes GET or HEAD, not ${method}.\n`,
      };
    }
    const { body, contentType } = await renderExposition(registry, wantsOpenMetrics(accept));
    return { status: 200, headers: { 'content-type': contentType, 'cache-control': 'no-store' }, body };
  };
  const handler = async (request: Request): Promise<Response> => {
    const { status, headers, body } = await answer(request.method, request.headers.get('accept'));
    return new Response(request.method === 'HEAD' ? null : body, { status, headers });
  };
  const node: NodeMetricsHandler = async (req, res) => {
    let reply: Answer;
    try {
      reply = await answer(req.method ?? 'GET', req.headers.accept);
    } catch (error) {
      reply = {
        status: 500,
        headers: { 'content-type': 'text/plain; charset=utf-8' },
        body: `The metrics could not be rendered: ${(error as Error)?.message ?? String(error)}\n`,
      };
    }
    res.writeHead(reply.status, reply.headers);
    res.end(req.method === 'HEAD' ? undefined : reply.body);
  };
  return Object.assign(handler, { node });
}
