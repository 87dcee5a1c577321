import type { ErrandRuntime } from '../runtime/current.js';
import type { DashboardData } from './dashboard-api.js';

/** Basic credentials the dashboard accepts (compared in constant time). */
export interface BasicAuthCredentials {
  readonly username: string;
  readonly password: string;
}

/** How `createDashboard` serves, whom it lets in, and where it reads. */
export interface DashboardOptions {
  /**
   * The path the dashboard is mounted under (`/admin/jobs`). Without it the mount is taken from
   * Express's `req.originalUrl` (through `toNodeHandler`), else from the request URL's tail.
   */
  readonly basePath?: string;
  /**
   * Decides alone when given: true lets the request in, false refuses it (403); `basicAuth` and
   * loopback access are then not consulted (the host app's own session, a role check …).
   */
  readonly authorize?: (request: Request) => boolean | Promise<boolean>;
  /** Lets a request in whose Basic credentials match; a request without them gets 401 and a prompt. */
  readonly basicAuth?: BasicAuthCredentials;
  /**
   * Lets in, without login, a client on this machine: a loopback socket (through `toNodeHandler`)
   * whose Host header is localhost, 127.x.x.x or [::1] (any other Host gets 403, against DNS
   * rebinding). Default: on when `NODE_ENV` is development or local. Not consulted when `authorize`
   * is given. Behind a reverse proxy on the same host every request comes from loopback: leave it off.
   */
  readonly allowLoopback?: boolean;
  /** Refuse every change (403 naming `readOnly`) and render no action buttons. */
  readonly readOnly?: boolean;
  /**
   * Payload keys whose values are shown as "[redacted]": matched case-insensitively as parts of a
   * name (`key` hides `apiKey`) of an object key, a `[name, value]` pair or a `{ name | key, value }`
   * object; inside strings, of a `name=value` pair. Default: passw, pwd, secret, token,
   * authorization, cookie, credential, key. Failed jobs' exceptions are scrubbed of what was hidden.
   */
  readonly redact?: readonly string[];
  /** How often the pages refresh themselves, milliseconds (default 3000). */
  readonly pollMs?: number;
  /** Seconds a queue's or the failed store's capped counts are reused before counting again (default 5). */
  readonly countCacheSeconds?: number;
  /** The most a count goes to before it shows as "at least" (default 100,000). */
  readonly countCap?: number;
  /** The errand runtime to read (default: the booted one, booting from the working directory's config on first use). */
  readonly runtime?: ErrandRuntime | (() => Promise<ErrandRuntime>);
  /** Read and change through this instead of a runtime (tests, or a custom source). */
  readonly data?: DashboardData;
  /**
   * Serves errand's Prometheus metrics (errand/metrics, needs prom-client) at `<base>/metrics`,
   * behind the dashboard's own access checks, to a scraper: a request whose Accept header names
   * `text/plain` or `application/openmetrics-text` (as Prometheus's does) gets the exposition,
   * a browser still gets the Metrics page. Registers errand's metrics in this process, so the
   * depth gauges may be sampled here. Default false.
   */
  readonly metrics?: boolean;
}

/** The payload keys hidden by default. */
export const DEFAULT_REDACT: readonly string[] = [
  'passw',
  'pwd',
  'secret',
  'token',
  'authorization',
  'cookie',
  'credential',
  'key',
];
