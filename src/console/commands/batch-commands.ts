import type { Command } from 'commander';
import pc from 'picocolors';
import { Batch } from '../../bus/batch.js';
import { ConfigError } from '../../errors/config-error.js';
import { retryFailedJob } from '../../failed/retry-failed-job.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand, loadJobClassesForRetry } from '../boot-from-cli.js';
import { MAX_HOURS } from '../parse-options.js';

/** `errand queue:retry-batch` and `queue:prune-batches`. */
export function registerBatchCommands(program: Command): void {
  program
    .command('queue:retry-batch')
    .description("Push a batch's failed jobs back onto their queues")
    .argument('<id>', 'the batch id')
    .action(async (id: string, _flags: unknown, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        const row = await app.queues.batches().find(id);
        if (!row) throw new ConfigError(`No batch has the id [${id}].`);
        const batch = new Batch(row);
        if (batch.failedJobIds.length === 0) {
          console.log(`  Batch [${id}] has no failed jobs.`);
          return;
        }
        await loadJobClassesForRetry(app);
        for (const uuid of batch.failedJobIds) {
          await retryFailedJob(app, uuid);
          console.log(`  ${pc.green('Retried')} ${uuid}`);
        }
      } finally {
        await shutdown();
      }
    });

  program
    .command('queue:prune-batches')
    .description('Delete old batch records')
    .option('--hours <n>', 'delete finished batches older than this many hours', '24')
    .option('--unfinished <n>', 'also delete unfinished batches older than this many hours')
    .option('--cancelled <n>', 'also delete cancelled batches older than this many hours')
    .action(async (flags: { hours: string; unfinished?: string; cancelled?: string }, command: Command) => {
      const hours = (name: string, value: string | undefined) => {
        if (value === undefined) return undefined;
        const n = Number(value);
        // Turned into seconds before now and compared with a bigint column: bounded like every duration.
        if (!Number.isFinite(n) || n < 0 || n > MAX_HOURS)
          throw new ConfigError(`--${name} must be a number of hours from 0 to ${MAX_HOURS}, got ${value}.`);
        return n;
      };
      const prune = {
        finishedHours: hours('hours', flags.hours)!,
        unfinishedHours: hours('unfinished', flags.unfinished),
        cancelledHours: hours('cancelled', flags.cancelled),
      };
      const app = await bootFromCommand(command);
      try {
        const count = await app.queues.batches().prune(prune);
        console.log(
          `  ${pc.green(`${count} entr${count === 1 ? 'y' : 'ies'} deleted`)} from ${app.config.batching!.table}.`,
        );
      } finally {
        await shutdown();
      }
    });
}
