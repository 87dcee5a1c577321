import type { Command } from 'commander';
import pc from 'picocolors';

import { ConfigError } from '../../errors/config-error.js';
import { DEFAULT_METRICS_HOST, type MetricsServer, serveMetrics } from '../../metrics/metrics-server.js';
import { shutdown } from '../../runtime/boot.js';
import { events } from '../../runtime/current.js';
import { isVerbose } from '../../runtime/verbosity.js';
import { buildWorker } from '../../worker/create-worker.js';
import { attachJsonOutput } from '../../worker/json-output.js';
import { queuesToWork, WORKER_DEFAULTS, type WorkerOptions } from '../../worker/worker-options.js';
import { attachWorkerOutput } from '../../worker/worker-output.js';
import { bootFromCommand, importBootstrap } from '../boot-from-cli.js';
import { noJobsWarning } from '../no-jobs-warning.js';
import { queueList, seconds, wholeNumber } from '../parse-options.js';

type WorkFlags = Omit<WorkerOptions, 'connection' | 'queues'> & {
  queue?: string[];
  json: boolean;
  metricsPort?: number;
  metricsHost?: string;
};

/** `errand queue:work [connection]`: runs a worker until a stop condition or a signal. */
export function registerWorkCommand(program: Command): void {
  const d = WORKER_DEFAULTS;
  program
    .command('queue:work')
    .description('Process jobs on the queue (queues in priority order)')
    .argument('[connection]', 'the queue connection (default: the configured default)')
    .option('--queue <names>', 'queues to work, highest priority first (comma-separated)', queueList)
    .option('--name <name>', 'the worker name shown in the workers table', d.name)
    .option('--concurrency <n>', 'jobs run at once in this process', wholeNumber('--concurrency'), d.concurrency)
    .option(
      '--prefetch <n>',
      'jobs claimed ahead of free slots (leases kept alive, handed back on exit)',
      wholeNumber('--prefetch'),
      d.prefetch,
    )
    .option('--tries <n>', 'attempts for jobs that set no tries (0 = unlimited)', wholeNumber('--tries'), d.tries)
    .option('--backoff <seconds>', 'seconds before retrying a job that threw', seconds('--backoff'), d.backoff)
    .option('--sleep <seconds>', 'seconds to sleep when no job is available', seconds('--sleep'), d.sleep)
    .option(
      '--timeout <seconds>',
      'seconds a job may run (0 = no limit)',
      wholeNumber('--timeout', 'seconds'),
      d.timeout,
    )
    .option(
      '--grace <seconds>',
      'after SIGTERM, seconds in-flight jobs may run before their signals abort (default: --timeout)',
      seconds('--grace'),
    )
    .option('--once', 'process one job, then stop', false)
    .option('--stop-when-empty', 'stop when no job is available', false)
    .option(
      '--stop-when-empty-for <seconds>',
      'stop once no job has been claimed for this long',
      seconds('--stop-when-empty-for'),
      d.stopWhenEmptyFor,
    )
    .option('--max-jobs <n>', 'stop after this many jobs (0 = no limit)', wholeNumber('--max-jobs'), d.maxJobs)
    .option(
      '--max-time <seconds>',
      'stop after this many seconds (0 = no limit)',
      wholeNumber('--max-time', 'seconds'),
      d.maxTime,
    )
    .option('--memory <mb>', 'stop with status 12 above this many megabytes', wholeNumber('--memory'), d.memory)
    .option('--rest <seconds>', 'seconds to rest between jobs', seconds('--rest'), d.rest)
    .option('--json', 'print one JSON object per event line', false)
    .option(
      '--metrics-port <port>',
      'serve Prometheus metrics at /metrics on this port (one port per worker process)',
      wholeNumber('--metrics-port'),
    )
    .option('--metrics-host <host>', `the address --metrics-port listens on (default: ${DEFAULT_METRICS_HOST})`)
    .action(async (connection: string | undefined, flags: WorkFlags, command: Command) => {
      const { json, queue, metricsPort, metricsHost, ...options } = flags;
      if (metricsPort !== undefined && (metricsPort < 1 || metricsPort > 65_535))
        throw new ConfigError(`--metrics-port must be from 1 to 65535, got ${metricsPort}.`);
      if (metricsHost !== undefined && metricsPort === undefined)
        throw new ConfigError(
          `--metrics-host ${metricsHost} was given without --metrics-port: metrics are served only on a port; add --metrics-port <port> (or drop --metrics-host).`,
        );
      const app = await bootFromCommand(command);
      const imported = await importBootstrap(app);
      // Warn, not refuse: a worker may rightly start before its first job class ships (decision 0046).
      const warning = noJobsWarning(app.config, imported);
      if (warning) process.stderr.write(`\n ${pc.bgYellow(pc.black(' WARN '))} ${warning}\n`);
      const queues = queuesToWork(queue, app.queues.worker(connection).defaultQueue);
      // Before the worker is built and claims, so every attempt is counted; a port already taken
      // stops the command here, before anything is claimed.
      let metrics: MetricsServer | undefined;
      if (metricsPort !== undefined) metrics = await serveMetrics({ port: metricsPort, host: metricsHost });
      let worker: ReturnType<typeof buildWorker>;
      try {
        worker = buildWorker(app, { ...options, connection, queues });
      } catch (error) {
        // Not left serving, nor holding the depth sampler's lease, for a worker that never ran.
        await metrics?.close();
        throw error;
      }
      if (json) {
        attachJsonOutput(events);
      } else {
        process.stdout.write(
          `\n ${pc.bgBlue(pc.white(' INFO '))} Processing jobs from the [${queues.join(',')}] queue.\n\n`,
        );
        attachWorkerOutput(events, undefined, { verbose: isVerbose() });
      }
      if (metrics && !json) process.stdout.write(` Serving metrics at http://${metrics.address}/metrics\n\n`);
      const handlers: Array<[NodeJS.Signals, () => void]> = [
        ['SIGTERM', () => worker.stop()],
        ['SIGINT', () => worker.stop()],
        ['SIGQUIT', () => worker.stop()],
        ['SIGUSR2', () => worker.pause()],
        ['SIGCONT', () => worker.resume()],
      ];
      for (const [signal, handler] of handlers) process.on(signal, handler);
      try {
        process.exitCode = await worker.run();
      } finally {
        for (const [signal, handler] of handlers) process.off(signal, handler);
        await metrics?.close();
        await shutdown();
      }
    });
}
