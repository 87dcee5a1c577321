import type { Command } from 'commander';
import pc from 'picocolors';

import { events, report, shutdown } from '../../runtime/errand.js';
import { attachWorkerOutput } from '../../worker/worker-output.js';
import { Worker } from '../../worker/worker.js';
import { WORKER_DEFAULTS, type WorkerOptions } from '../../worker/worker-options.js';
import { bootFromCommand, importBootstrap } from '../boot-from-cli.js';
import { queueList, seconds, wholeNumber } from '../parse-options.js';

/** `errand queue:work [connection]`: runs a worker until a stop condition or a signal. */
export function registerWorkCommand(program: Command): void {
  const d = WORKER_DEFAULTS;
  program
    .command('queue:work')
    .description('Process jobs on the queue (queues in priority order)')
    .argument('[connection]', 'the queue connection (default: the configured default)')
    .option('--queue <names>', 'queues to work, highest priority first (comma-separated)', queueList)
    .option('--tries <n>', 'attempts for jobs that set no tries (0 = unlimited)', wholeNumber('--tries'), d.tries)
    .option('--backoff <seconds>', 'seconds before retrying a job that threw', seconds('--backoff'), d.backoff)
    .option('--sleep <seconds>', 'seconds to sleep when no job is available', seconds('--sleep'), d.sleep)
    .option('--timeout <seconds>', 'seconds a job may run (0 = no limit)', wholeNumber('--timeout'), d.timeout)
    .option('--once', 'process one job, then stop', false)
    .option('--stop-when-empty', 'stop when no job is available', false)
    .option('--max-jobs <n>', 'stop after this many jobs (0 = no limit)', wholeNumber('--max-jobs'), d.maxJobs)
    .option('--max-time <seconds>', 'stop after this many seconds (0 = no limit)', wholeNumber('--max-time'), d.maxTime)
    .option('--memory <mb>', 'stop with status 12 above this many megabytes', wholeNumber('--memory'), d.memory)
    .option('--rest <seconds>', 'seconds to rest between jobs', seconds('--rest'), d.rest)
    .action(async (connection: string | undefined, flags: Omit<WorkerOptions, 'connection' | 'queues'> & { queue?: string[] }, command: Command) => {
      const app = await bootFromCommand(command);
      await importBootstrap(app);
      const driver = app.queues.connection(connection);
      const queues = flags.queue ?? [driver.defaultQueue];
      const worker = new Worker(
        { driver, failer: app.queues.failer(), events, container: app.container, report },
        { ...flags, connection, queues },
      );
      process.stdout.write(`\n ${pc.bgBlue(pc.white(' INFO '))} Processing jobs from the [${queues.join(',')}] queue.\n\n`);
      attachWorkerOutput(events);
      const stop = () => worker.stop();
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
      try {
        process.exitCode = await worker.run();
      } finally {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        await shutdown();
      }
    });
}
