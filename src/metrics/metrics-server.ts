import { createServer } from 'node:http';

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
  const registration = registerErrandMetrics();
  const handler = metricsHandler({ registry: registration.registry });
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') return void handler.node(req, res);
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
