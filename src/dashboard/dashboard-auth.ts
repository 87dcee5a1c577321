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

/**
 * Closed by default: a request gets in when `authorize` says so, or its Basic credentials match,
 * or errand runs in development (`NODE_ENV` development/local) and the client is this machine.
 * Resolves to undefined when let in, else the 401/403 answer naming the option to set.
 */
export async function checkAccess(request: Request, options: DashboardOptions): Promise<Response | undefined> {
  if (options.authorize && (await options.authorize(request)) === true) return undefined;
  const basic = options.basicAuth;
  if (basic) {
    const given = basicCredentials(request);
    // Both compares always run, so a right username takes as long as a wrong one.
    const userOk = sameSecret(given?.username ?? '', basic.username);
    const passwordOk = sameSecret(given?.password ?? '', basic.password);
    if (given && userOk && passwordOk) return undefined;
  }
  if (developmentEnvironment() && isLoopback(clientAddresses.get(request))) return undefined;
  if (basic) {
    return errorResponse(401, 'The dashboard needs the username and password set in `basicAuth`.', 'basicAuth', {
      'WWW-Authenticate': 'Basic realm="errand", charset="UTF-8"',
    });
  }
  if (options.authorize)
    return errorResponse(403, 'The dashboard refused this request: `authorize` said no.', 'authorize');
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
