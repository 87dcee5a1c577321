import type { Command } from 'commander';
import pc from 'picocolors';

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

type WorkFlags = Omit<WorkerOptions, 'connection' | 'queues'> & { queue?: string[]; json: boolean };

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
    .action(async (connection: string | undefined, flags: WorkFlags, command: Command) => {
      const app = await bootFromCommand(command);
      const imported = await importBootstrap(app);
      // Warn, not refuse: a worker may rightly start before its first job class ships (decision 0046).
      const warning = noJobsWarning(app.config, imported);
      if (warning) process.stderr.write(`\n ${pc.bgYellow(pc.black(' WARN '))} ${warning}\n`);
      const { json, queue, ...options } = flags;
      const queues = queuesToWork(queue, app.queues.worker(connection).defaultQueue);
      const worker = buildWorker(app, { ...options, connection, queues });
      if (json) {
        attachJsonOutput(events);
      } else {
        process.stdout.write(
          `\n ${pc.bgBlue(pc.white(' INFO '))} Processing jobs from the [${queues.join(',')}] queue.\n\n`,
        );
        attachWorkerOutput(events, undefined, { verbose: isVerbose() });
      }
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
        await shutdown();
      }
    });
}
