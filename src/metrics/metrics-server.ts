import { createServer, type ServerResponse } from 'node:http';

import { isLoopback, isLoopbackHostHeader } from '../dashboard/dashboard-auth.js';
import { ConfigError } from '../errors/config-error.js';
import { registerErrandMetrics } from './errand-metrics.js';
import { metricsHandler } from './metrics-handler.js';

/** Where `queue:work --metrics-port` listens. */
export interface MetricsServerOptions {
  readonly port: number;
  /** Default 127.0.0.1: only this host scrapes unless asked otherwise. */
  readonly host?: string;
}

/** A running metrics server. */
export interface MetricsServer {
  /** The address it listens on, as `host:port` (the port the system chose when asked for 0). */
  readonly address: string;
  /** Stops listening and stops the depth gauges, letting the sampler lease go (the worker is exiting). */
  close(): Promise<void>;
}

/** The host `--metrics-host` defaults to. */
export const DEFAULT_METRICS_HOST = '127.0.0.1';

/**
 * Serves errand's metrics at `/metrics` (404 anywhere else) on its own port, registering them
 * in this process. A port already taken is a ConfigError naming host:port: each worker process
 * needs its own, since counters are per process.
 */
export async function serveMetrics(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? DEFAULT_METRICS_HOST;
  // Set once listening: nothing is registered (no counting, no depth sampler holding its lease)
  // unless the port was ours. No request can arrive before it is set.
  const served: { handler?: ReturnType<typeof metricsHandler> } = {};
  let loopbackOnly = false;
  const server = createServer((req, res) => {
    if (loopbackOnly && !isLoopbackHostHeader(req.headers.host ?? null)) return void misdirected(res, req.headers.host);
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics' && served.handler) return void served.handler.node(req, res);
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('Not found: errand serves its metrics at /metrics.\n');
  });
  // A scrape in flight must not hold the worker's exit.
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => reject(listenError(error, host, options.port)));
    server.listen(options.port, host, () => resolve());
  });
  const bound = server.address();
  const port = typeof bound === 'object' && bound ? bound.port : options.port;
  // On loopback only this machine connects, but a web page whose name was re-pointed at 127.0.0.1
  // (DNS rebinding) connects from this machine too, under its own Host: it would read queue, job
  // and host names. A scraper on this machine names a loopback host.
  loopbackOnly = typeof bound === 'object' && bound !== null && isLoopback(bound.address);
  let registration: ReturnType<typeof registerErrandMetrics>;
  try {
    registration = registerErrandMetrics();
  } catch (error) {
    server.close();
    throw error;
  }
  served.handler = metricsHandler({ registry: registration.registry });
  return {
    address: `${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        // Lets the depth sampler lease go (tracked, so shutdown() waits for it before closing the
        // store): another process takes over at its next sample instead of after the lease lapses.
        registration.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The answer to a request for a host other than localhost, 127.x.x.x or [::1] on a loopback server. */
function misdirected(res: ServerResponse, host: string | undefined): void {
  res.writeHead(421, { 'content-type': 'text/plain; charset=utf-8' });
  res.end(
    `Misdirected request: this metrics server listens on loopback and answers only for localhost, 127.x.x.x or [::1], not the host ${JSON.stringify(host ?? '')} (a web page may have re-pointed its own name here: DNS rebinding). Scrape it as http://127.0.0.1:<port>/metrics, or listen on another address with --metrics-host.\n`,
  );
}

function listenError(error: NodeJS.ErrnoException, host: string, port: number): Error {
  const at = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  if (error.code === 'EADDRINUSE') {
    return new ConfigError(
      `--metrics-port: ${at} is already in use. Each worker process needs its own metrics port ` +
        '(counters are per process): with supervisor, number them by process, e.g. ' +
        '`--metrics-port 94%(process_num)02d` for 9400, 9401 …',
      { cause: error },
    );
  }
  if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND' || error.code === 'EACCES') {
    return new ConfigError(`--metrics-port: cannot listen on ${at}: ${error.message}`, { cause: error });
  }
  return error;
}
