import type { Command } from 'commander';
import pc from 'picocolors';

import { ConfigError } from '../../errors/config-error.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand } from '../boot-from-cli.js';

/**
 * `errand queue:restart`, `queue:pause` and `queue:resume`. The switches live in each database's
 * controls table (or a redis connection's controls keys), which every worker polls with its heartbeat.
 */
export function registerControlCommands(program: Command): void {
  program
    .command('queue:restart')
    .description('Make every worker exit after its in-flight jobs (the supervisor starts the new code)')
    .argument('[connection]', 'only the store of this connection (default: every database and redis connection)')
    .action(async (connection: string | undefined, _flags: unknown, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        const names = connection ? [connection] : workedConnections(app.config.connections);
        if (names.length === 0)
          throw new ConfigError('No database or redis queue connection is configured, so no worker can be restarted.');
        for (const name of names) await app.queues.worker(name).requestRestart();
        console.log(`  ${pc.green('Broadcasting queue restart signal')} (${names.join(', ')}).`);
      } finally {
        await shutdown();
      }
    });

  for (const paused of [true, false]) {
    program
      .command(paused ? 'queue:pause' : 'queue:resume')
      .description(
        paused
          ? 'Stop workers claiming from a queue (running jobs finish)'
          : 'Let workers claim from a paused queue again',
      )
      .argument('<queue>', 'connection:queue, or a queue of the default connection')
      .action(async (target: string, _flags: unknown, command: Command) => {
        const app = await bootFromCommand(command);
        try {
          const [connection, queue] = target.includes(':') ? splitTarget(target) : [app.config.default, target];
          const driver = app.queues.worker(connection);
          const changed = paused ? await driver.pause(queue) : await driver.resume(queue);
          const state = paused ? 'paused' : 'resumed';
          console.log(
            changed
              ? `  ${pc.green(`Queue [${connection}:${queue}] ${state}.`)}`
              : `  Queue [${connection}:${queue}] was already ${paused ? 'paused' : 'running'}.`,
          );
        } finally {
          await shutdown();
        }
      });
  }
}

function splitTarget(target: string): [string, string] {
  const at = target.indexOf(':');
  const connection = target.slice(0, at);
  const queue = target.slice(at + 1);
  if (!connection || !queue)
    throw new ConfigError(`Queue [${target}] must be written connection:queue (or just queue).`);
  return [connection, queue];
}

/** The connections whose jobs workers claim, and so whose workers a restart reaches. */
function workedConnections(connections: Record<string, { driver: string }>): string[] {
  return Object.keys(connections).filter((name) => ['database', 'redis'].includes(connections[name]!.driver));
}
