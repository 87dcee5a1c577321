import { type Command, InvalidArgumentError } from 'commander';
import pc from 'picocolors';

import type { StoredFailedJob } from '../../contracts/failed-job-store.js';
import { ConfigError } from '../../errors/config-error.js';
import { findFailedJobsToRetry } from '../../failed/find-failed-jobs-to-retry.js';
import { retryFailedRecord } from '../../failed/retry-failed-job.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand, loadJobClassesForRetry } from '../boot-from-cli.js';
import { hours } from '../parse-options.js';
import { progressBar } from '../progress-bar.js';
import { textTable } from '../text-table.js';

/** Above this many jobs, `queue:retry` on a terminal draws a progress bar instead of a line each. */
const PROGRESS_BAR_ABOVE = 20;

/**
 * `errand queue:failed`, `queue:retry`, `queue:forget`, `queue:flush` and `queue:prune-failed`:
 * the operator's view of the failed-job store configured under `failed`.
 */
export function registerFailedCommands(program: Command): void {
  program
    .command('queue:failed')
    .description('List the failed jobs, newest first')
    .option('--json', 'print the records as a JSON array')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        const records = await app.queues.failer().all();
        if (flags.json) {
          console.log(JSON.stringify(records.map(toJson), null, 2));
        } else if (records.length === 0) {
          console.log('  No failed jobs.');
        } else {
          const rows = records.map((r) => [
            r.id,
            r.uuid,
            r.connection,
            r.queue,
            displayName(r.payload),
            formatTime(r.failedAt),
            firstLine(r.exception),
          ]);
          console.log(textTable(['ID', 'UUID', 'Connection', 'Queue', 'Job', 'Failed at', 'Error'], rows));
        }
      } finally {
        await shutdown();
      }
    });

  program
    .command('queue:retry')
    .description('Push failed jobs back onto their connection and queue (attempts reset, same uuid)')
    .argument('[ids...]', 'failed job ids or uuids, or `all`')
    .option('--queue <name>', 'retry every failed job of this queue')
    .option('--range <from-to>', 'retry the ids in this inclusive range, e.g. 3-7 (repeatable)', collectRange)
    .option(
      '--json',
      'print one JSON object per retried job ({ id, uuid, job, connection, queue, newId }) instead of text',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  errand queue:retry 5 9\n  errand queue:retry all\n  errand queue:retry --queue=emails\n  errand queue:retry --range=3-7',
    )
    .action(
      async (
        ids: string[],
        flags: { queue?: string; range?: Array<[number, number]>; json?: boolean },
        command: Command,
      ) => {
        if (ids.length === 0 && flags.queue === undefined && flags.range === undefined) {
          throw new ConfigError(
            'Say which failed jobs to retry: ids or uuids, `all`, --queue=<name> or --range=<from-to>.',
          );
        }
        const app = await bootFromCommand(command);
        const failures: string[] = [];
        try {
          const { records, missing } = await findFailedJobsToRetry(app.queues.failer(), {
            keys: ids,
            queue: flags.queue,
            ranges: flags.range,
          });
          for (const key of missing) failures.push(`No failed job has the id or uuid [${key}].`);
          if (records.length === 0 && missing.length === 0 && !flags.json) console.log('  No failed jobs to retry.');
          // Always: listeners of JobRetryRequested and the job classes behind retryUntil live there.
          if (records.length > 0) await loadJobClassesForRetry(app);
          const bar =
            records.length > PROGRESS_BAR_ABOVE && process.stdout.isTTY && !flags.json
              ? progressBar(records.length)
              : undefined;
          let retried = 0;
          for (const record of records) {
            try {
              const newId = await retryFailedRecord(app, record);
              retried++;
              const { id, uuid, connection, queue } = record;
              if (flags.json)
                console.log(
                  JSON.stringify({ id: String(id), uuid, job: displayName(record.payload), connection, queue, newId }),
                );
              else if (!bar)
                console.log(
                  `  ${pc.green('Retried')} ${record.uuid} [${record.id}] ${displayName(record.payload)} → ${record.connection}:${record.queue}`,
                );
            } catch (error) {
              // One job that cannot go back (its connection was removed) must not stop the rest.
              failures.push((error as Error).message);
            }
            bar?.tick();
          }
          bar?.finish();
          if (!flags.json && (bar || records.length > 1))
            console.log(`  ${pc.green(`Retried ${retried} failed job${retried === 1 ? '' : 's'}.`)}`);
        } finally {
          await shutdown();
        }
        if (failures.length > 0) throw new ConfigError(failures.join('\n '));
      },
    );

  program
    .command('queue:forget')
    .description('Delete one failed job record')
    .argument('<id>', 'the failed job id or uuid')
    .action(async (key: string, _flags: unknown, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        if (!(await app.queues.failer().forget(key)))
          throw new ConfigError(`No failed job has the id or uuid [${key}].`);
        console.log(`  ${pc.green(`Failed job [${key}] deleted.`)}`);
      } finally {
        await shutdown();
      }
    });

  program
    .command('queue:flush')
    .description('Delete every failed job record, or only the old ones')
    .option('--hours <n>', 'only delete records that failed at least this many hours ago', hours('--hours'))
    .action(async (flags: { hours?: number }, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        const count = await app.queues.failer().flush(flags.hours);
        const which = flags.hours === undefined ? '' : ` older than ${flags.hours} hour${flags.hours === 1 ? '' : 's'}`;
        console.log(`  ${pc.green(`${count} failed job${count === 1 ? '' : 's'}${which} deleted.`)}`);
      } finally {
        await shutdown();
      }
    });

  program
    .command('queue:prune-failed')
    .description('Delete failed job records older than some hours (for a daily cron)')
    .option('--hours <n>', 'delete records that failed at least this many hours ago', hours('--hours'), 24)
    .action(async (flags: { hours: number }, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        const count = await app.queues.failer().flush(flags.hours);
        console.log(
          `  ${pc.green(`${count} failed job${count === 1 ? '' : 's'} older than ${flags.hours} hour${flags.hours === 1 ? '' : 's'} pruned.`)}`,
        );
      } finally {
        await shutdown();
      }
    });
}

function toJson(record: StoredFailedJob) {
  return {
    id: record.id,
    uuid: record.uuid,
    connection: record.connection,
    queue: record.queue,
    job: displayName(record.payload),
    failedAt: record.failedAt.toISOString(),
    exception: record.exception,
  };
}

// The payload is stored raw; a row written by hand or by another language may not parse, and the
// listing must still show it.
function displayName(payload: string): string {
  try {
    const parsed = JSON.parse(payload) as { displayName?: unknown; job?: unknown };
    if (typeof parsed.displayName === 'string') return parsed.displayName;
    if (typeof parsed.job === 'string') return parsed.job;
  } catch {
    // fall through
  }
  return '(unreadable payload)';
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0]!.trim();
  return line.length > 100 ? `${line.slice(0, 99)}…` : line;
}

// UTC, to the second: the same on every operator's machine and close to what the database shows.
function formatTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

function collectRange(value: string, previous: Array<[number, number]> = []): Array<[number, number]> {
  const match = /^(\d+)-(\d+)$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError(`--range must be two ids joined by a dash, like 3-7, got "${value}".`);
  const from = Number(match[1]);
  const to = Number(match[2]);
  if (from > to) throw new InvalidArgumentError(`--range must go from the lower id to the higher one, got "${value}".`);
  return [...previous, [from, to]];
}
