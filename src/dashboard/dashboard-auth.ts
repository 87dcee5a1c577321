import { createHash, timingSafeEqual } from 'node:crypto';

import type { DashboardOptions } from './dashboard-options.js';
import { errorResponse } from './responses.js';

// What only the Node adapter knows about a Request: the client's address. Kept beside the
// Request, not in a header a client could forge.
const clientAddresses = new WeakMap<Request, string>();

/** Records the address a Request came from (the Node adapter's socket address). */
export function setClientAddress(request: Request, address: string | undefined): void {
  if (address) clientAddresses.set(request, address);
}

/** Whether an address is this machine's own (IPv4, IPv6, or IPv4 mapped into IPv6). */
export function isLoopback(address: string | undefined): boolean {
  if (!address) return false;
  const plain = address.startsWith('::ffff:') ? address.slice(7) : address;
  return plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

function developmentEnvironment(): boolean {
  const env = process.env.NODE_ENV;
  return env === 'development' || env === 'local';
}

// Hashing both sides first gives equal lengths, so the compare leaks neither content nor length.
function sameSecret(given: string, expected: string): boolean {
  const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function basicCredentials(request: Request): { username: string; password: string } | undefined {
  const header = request.headers.get('authorization');
  const match = header?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i);
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

// A Host a browser sends only when it was pointed at this machine by a loopback name or address.
// After DNS rebinding (a page's own name re-pointed at 127.0.0.1) the Host is still the page's
// name, so the loopback socket alone proves nothing about who opened the page.
const LOOPBACK_HOST = /^(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])(?::\d{1,5})?$/i;

/** Whether a Host header names this machine: localhost, 127.x.x.x or [::1], with any port. */
export function isLoopbackHostHeader(host: string | null): boolean {
  return host !== null && LOOPBACK_HOST.test(host);
}

/**
 * Access granted because the client is this machine: the socket must be loopback and the Host
 * header a loopback name, else a rebound name would let any web page in. Resolves to undefined
 * when let in, to the 403 answer when only the Host is wrong, to false when the client is not on
 * loopback at all.
 */
function loopbackAccess(request: Request): Response | false | undefined {
  if (!isLoopback(clientAddresses.get(request))) return false;
  const host = request.headers.get('host');
  if (isLoopbackHostHeader(host)) return undefined;
  return errorResponse(
    403,
    `This request came from this machine but for the host ${JSON.stringify(host ?? '')}, not localhost, 127.x.x.x or [::1]: a web page may have re-pointed its own name here (DNS rebinding). Open the dashboard at http://localhost:<port>/, or set \`authorize\` or \`basicAuth\` (errand dashboard: --user/--password).`,
    'authorize',
  );
}

/**
 * Closed by default. When `authorize` is given its answer is final: true lets the request in,
 * anything else is 403. Without it, a request gets in when its Basic credentials match, or when
 * loopback access is on (`allowLoopback`, by default in development: `NODE_ENV`
 * development/local) and both the client's socket and the Host header are this machine's.
 * Resolves to undefined when let in, else the 401/403 answer naming the option to set.
 */
export async function checkAccess(request: Request, options: DashboardOptions): Promise<Response | undefined> {
  if (options.authorize) {
    if ((await options.authorize(request)) === true) return undefined;
    return errorResponse(403, 'The dashboard refused this request: `authorize` said no.', 'authorize');
  }
  const basic = options.basicAuth;
  if (basic) {
    const given = basicCredentials(request);
    // Both compares always run, so a right username takes as long as a wrong one.
    const userOk = sameSecret(given?.username ?? '', basic.username);
    const passwordOk = sameSecret(given?.password ?? '', basic.password);
    if (given && userOk && passwordOk) return undefined;
  }
  if (options.allowLoopback ?? developmentEnvironment()) {
    const loopback = loopbackAccess(request);
    if (loopback !== false) return loopback;
  }
  if (basic) {
    return errorResponse(401, 'The dashboard needs the username and password set in `basicAuth`.', 'basicAuth', {
      'WWW-Authenticate': 'Basic realm="errand", charset="UTF-8"',
    });
  }
  return errorResponse(
    403,
    'The dashboard is closed by default: set `authorize` (a callback that lets a request in) or `basicAuth` (a username and password) in createDashboard(). In development (NODE_ENV=development) a request from this machine is let in.',
    'authorize',
  );
}

/**
 * Browsers say where a request came from; a change is allowed only from the dashboard's own
 * pages (`Sec-Fetch-Site: same-origin`, or `none` for one the user typed), or, from a browser that
 * sends no such header, with an `Origin` whose host is the request's. Resolves to the 403 answer
 * when refused.
 */
export function checkSameOrigin(request: Request): Response | undefined {
  const site = request.headers.get('sec-fetch-site');
  if (site !== null) {
    if (site === 'same-origin' || site === 'none') return undefined;
    return errorResponse(
      403,
      `A change must come from the dashboard's own pages; this one came from a ${site} page (Sec-Fetch-Site).`,
    );
  }
  const origin = request.headers.get('origin');
  const host = request.headers.get('host') ?? new URL(request.url).host;
  if (origin !== null && origin !== 'null') {
    try {
      if (new URL(origin).host === host) return undefined;
    } catch {
      // An unreadable Origin is refused below.
    }
  }
  return errorResponse(
    403,
    "A change must come from the dashboard's own pages: send `Sec-Fetch-Site: same-origin` or an `Origin` header matching the host.",
  );
}
