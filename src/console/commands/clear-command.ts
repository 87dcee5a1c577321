import { createInterface } from 'node:readline/promises';

import type { Command } from 'commander';
import pc from 'picocolors';

import { ConfigError } from '../../errors/config-error.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand } from '../boot-from-cli.js';

/**
 * `errand queue:clear`: deletes every job of one queue (pending, delayed and reserved, as
 * Laravel's database queue does). Irreversible, so it asks first on a terminal and, with no one
 * to ask (cron, CI, a pipe), insists on `--force` rather than guessing.
 */
export function registerClearCommand(program: Command): void {
  program
    .command('queue:clear')
    .description('Delete every job of a queue')
    .argument('[connection]', 'the database or redis connection (default: the configured default)')
    .option('--queue <name>', "the queue (default: the connection's default queue)")
    .option('--force', 'clear without asking (required when stdin is not a terminal)')
    .addHelpText(
      'after',
      '\nExamples:\n  errand queue:clear --queue=emails\n  errand queue:clear database --queue=emails --force',
    )
    .action(async (connection: string | undefined, flags: { queue?: string; force?: boolean }, command: Command) => {
      if (flags.queue !== undefined && flags.queue.trim() === '')
        throw new ConfigError(
          'queue:clear: --queue is empty; name the queue to clear, or leave the option out for the default queue.',
        );
      const app = await bootFromCommand(command);
      try {
        const name = connection ?? app.config.default;
        // Only a driver that keeps jobs can clear them; worker() names the problem otherwise.
        const driver = app.queues.worker(name);
        const queue = flags.queue ?? driver.defaultQueue;
        const target = `${name}:${queue}`;
        if (!flags.force) {
          if (!process.stdin.isTTY) {
            throw new ConfigError(
              `Refusing to clear queue [${target}] without confirmation: stdin is not a terminal. Pass --force to clear it.`,
            );
          }
          if (!(await confirm(`  Delete every job of queue [${target}]? This cannot be undone. (yes/no) [no]: `))) {
            console.log('  Cancelled; nothing was cleared.');
            return;
          }
        }
        const count = await driver.clear(queue);
        console.log(`  ${pc.green(`Cleared ${count} job${count === 1 ? '' : 's'} from queue [${target}].`)}`);
      } finally {
        await shutdown();
      }
    });
}

async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
