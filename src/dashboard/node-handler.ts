import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import type { TLSSocket } from 'node:tls';

import { type DashboardHandler, setMount } from './create-dashboard.js';
import { setClientAddress } from './dashboard-auth.js';

/** What `toNodeHandler` returns: a node:http listener, also an Express middleware. */
export type NodeDashboardHandler = (
  req: IncomingMessage,
  res: ServerResponse,
  next?: (error?: unknown) => void,
) => Promise<void>;

/** An Express request: the mount's path was stripped from `url` and kept in `originalUrl`. */
interface FrameworkRequest extends IncomingMessage {
  originalUrl?: string;
  /** A body a framework's parser already read off the stream. */
  body?: unknown;
}

function pathOf(url: string): string {
  const at = url.indexOf('?');
  return at < 0 ? url : url.slice(0, at);
}

/** The path Express mounted the handler under, from `originalUrl` less the `url` it left. */
function mountOf(req: FrameworkRequest): string | undefined {
  if (req.originalUrl === undefined || req.originalUrl === req.url) return undefined;
  const full = pathOf(req.originalUrl);
  const rest = pathOf(req.url ?? '/');
  if (full.endsWith(rest)) return full.slice(0, full.length - rest.length).replace(/\/$/, '');
  // `/admin/jobs` (no slash) reaches the mount as `/`: the mount is the whole path.
  return rest === '/' ? full : undefined;
}

/**
 * The request's body: what a framework's parser already read, else the stream itself, handed on
 * unread so the handler decides how much to take (the push API stops at api.maxBodySize and checks
 * credentials first; buffering here would hold any upload whole before anything is checked).
 */
function bodyOf(req: FrameworkRequest): Uint8Array | ReadableStream<Uint8Array> | undefined {
  if (req.method === 'GET' || req.method === 'HEAD') return undefined;
  const parsed = req.body;
  if (parsed instanceof Uint8Array) return parsed;
  if (typeof parsed === 'string') return Buffer.from(parsed);
  if (parsed !== undefined && parsed !== null && req.readableEnded) return Buffer.from(JSON.stringify(parsed));
  if (req.readableEnded) return undefined;
  return Readable.toWeb(req) as ReadableStream<Uint8Array>;
}

/** The origin named by the Host header; one that is no plain host[:port] becomes localhost. */
function originOf(host: string | undefined, secure: boolean): string {
  const scheme = secure ? 'https' : 'http';
  if (host && /^[^/\\?#@\s]+$/.test(host)) {
    try {
      return new URL(`${scheme}://${host}`).origin;
    } catch {
      // An unreadable Host falls back below.
    }
  }
  return `${scheme}://localhost`;
}

/**
 * The path and query of a request target, to append to the origin. Resolving the target against
 * the origin instead would read `//evil.com/queues` as another host; an absolute-form target
 * (`http://host/path`, as sent to proxies) keeps only its path.
 */
function targetPath(target: string): string {
  if (target.startsWith('/')) return target;
  try {
    const url = new URL(target);
    return `${url.pathname}${url.search}`;
  } catch {
    return `/${target}`;
  }
}

/** The Fetch Request of a Node request, keeping its full URL (mount included). */
export async function toRequest(req: FrameworkRequest): Promise<Request> {
  const secure = (req.socket as Partial<TLSSocket>).encrypted === true;
  const url = new URL(`${originOf(req.headers.host, secure)}${targetPath(req.originalUrl ?? req.url ?? '/')}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const one of Array.isArray(value) ? value : [value]) headers.append(name, one);
  }
  const body = bodyOf(req);
  const init: RequestInit & { duplex?: 'half' } = {
    method: req.method,
    headers,
    body: body instanceof Uint8Array && body.length === 0 ? undefined : body,
    // A stream body must say so (the Fetch spec's half-duplex upload).
    ...(body !== undefined && !(body instanceof Uint8Array) ? { duplex: 'half' } : {}),
  };
  const request = new Request(url, init);
  setClientAddress(request, req.socket.remoteAddress);
  const mount = mountOf(req);
  if (mount !== undefined) setMount(request, mount);
  return request;
}

/** Writes a Fetch Response to a Node response. */
export async function writeResponse(response: Response, res: ServerResponse): Promise<void> {
  res.statusCode = response.status;
  for (const [name, value] of response.headers) {
    if (name === 'set-cookie') continue;
    res.setHeader(name, value);
  }
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) res.setHeader('set-cookie', cookies);
  if (response.body) {
    for await (const chunk of response.body) res.write(chunk);
  }
  res.end();
}

/**
 * Adapts the dashboard's Fetch handler to node:http, Express and Fastify:
 * `http.createServer(toNodeHandler(dashboard))`, `app.use('/admin/jobs', toNodeHandler(dashboard))`,
 * or in Fastify `(request, reply) => { reply.hijack(); return handler(request.raw, reply.raw); }`.
 * An error it cannot answer goes to Express's `next`, else becomes a 500.
 */
export function toNodeHandler(handler: DashboardHandler): NodeDashboardHandler {
  return async (req, res, next) => {
    try {
      await writeResponse(await handler(await toRequest(req)), res);
    } catch (error) {
      if (next) return next(error);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader('Content-Type', 'text/plain; charset=utf-8');
      }
      res.end(`The dashboard failed: ${(error as Error).message}`);
    }
  };
}
