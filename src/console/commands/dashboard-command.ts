import { createServer } from 'node:http';

import type { Command } from 'commander';
import pc from 'picocolors';

import { createDashboard } from '../../dashboard/create-dashboard.js';
import { toNodeHandler } from '../../dashboard/node-handler.js';
import { ConfigError } from '../../errors/config-error.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand, loadJobClassesForRetry } from '../boot-from-cli.js';
import { wholeNumber } from '../parse-options.js';

interface DashboardFlags {
  host: string;
  port: number;
  basePath: string;
  readOnly: boolean;
  metrics: boolean;
  user?: string;
  password?: string;
}

/** Whether a listening host is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const plain = host.replace(/^\[|\]$/g, '');
  return plain === 'localhost' || plain === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(plain);
}

/** The Basic credentials of the flags or the environment; an error naming both flags when only one is set. */
function credentials(flags: DashboardFlags): { username: string; password: string } | undefined {
  const username = flags.user ?? process.env.ERRAND_DASHBOARD_USER ?? '';
  const password = flags.password ?? process.env.ERRAND_DASHBOARD_PASSWORD ?? '';
  if (username === '' && password === '') return undefined;
  if (username === '' || password === '') {
    throw new ConfigError(
      '--user/--password: give both a username and a password (or ERRAND_DASHBOARD_USER and ERRAND_DASHBOARD_PASSWORD), or neither.',
    );
  }
  return { username, password };
}

/**
 * `errand dashboard`: the dashboard and its API from the config, in its own HTTP server. On a
 * loopback host it lets in anyone who reaches it (the operator's own machine) unless credentials
 * are given; on any other host it refuses to start without `--user/--password`.
 */
export function registerDashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('Serve the dashboard and its HTTP API from the config')
    .option('--host <host>', 'the address to listen on', '127.0.0.1')
    .option('--port <port>', 'the port to listen on (0: any free one)', wholeNumber('--port'), 3000)
    .option('--base-path <path>', 'the path to serve under', '/')
    .option('--read-only', 'change nothing: no retry, forget, pause or clear', false)
    .option('--metrics', 'also serve Prometheus metrics at <base-path>/metrics to scrapers (needs prom-client)', false)
    .option('--user <name>', 'Basic auth username (or ERRAND_DASHBOARD_USER)')
    .option(
      '--password <password>',
      'Basic auth password; prefer ERRAND_DASHBOARD_PASSWORD (a flag shows in `ps` to every user)',
    )
    .action(async (flags: DashboardFlags, command: Command) => {
      if (flags.port > 65_535) throw new ConfigError(`--port must be from 0 to 65535, got ${flags.port}.`);
      const basicAuth = credentials(flags);
      const loopback = isLoopbackHost(flags.host);
      if (!loopback && !basicAuth) {
        throw new ConfigError(
          `The dashboard would be reachable by others on ${flags.host} with no login: set --user/--password (or ERRAND_DASHBOARD_USER/ERRAND_DASHBOARD_PASSWORD), or listen on 127.0.0.1.`,
        );
      }
      const app = await bootFromCommand(command);
      try {
        // Job classes (retryUntil on retry) and listeners of JobRetryRequested live in the bootstrap.
        await loadJobClassesForRetry(app);
        const handler = createDashboard({
          runtime: app,
          basePath: flags.basePath,
          readOnly: flags.readOnly,
          metrics: flags.metrics,
          basicAuth,
          // Only this machine reaches a loopback listener: it is the operator's own. Still checked
          // per request (loopback socket and a localhost Host), so a rebound web page gets 403.
          allowLoopback: basicAuth ? undefined : true,
        });
        const server = createServer(toNodeHandler(handler));
        await new Promise<void>((resolve, reject) => {
          server.once('error', (error: NodeJS.ErrnoException) =>
            reject(new ConfigError(`The dashboard cannot listen on ${flags.host}:${flags.port}: ${error.message}`)),
          );
          server.listen(flags.port, flags.host, resolve);
        });
        const address = server.address();
        const port = typeof address === 'object' && address ? address.port : flags.port;
        const host = flags.host.includes(':') ? `[${flags.host}]` : flags.host;
        const base = `/${flags.basePath.replace(/^\/+|\/+$/g, '')}/`.replace('//', '/');
        const access = basicAuth
          ? `Basic auth as ${basicAuth.username}`
          : 'no login: it listens on this machine only, so whoever can reach it is its operator';
        console.log(
          `  ${pc.green('Dashboard')} on http://${host}:${port}${base} (${access}${flags.readOnly ? '; read-only' : ''}).`,
        );
        await new Promise<void>((resolve) => {
          const stop = () => server.close(() => resolve());
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
      } finally {
        await shutdown();
      }
    });
}
