import type { Command } from 'commander';
import pc from 'picocolors';

import { listenerRegistry } from '../../listeners/listener-registry.js';
import { shutdown } from '../../runtime/errand.js';
import { bootFromCommand, importBootstrap } from '../boot-from-cli.js';
import { ownProperty } from '../../config/own-property.js';

/**
 * One line per listener of each event; queued ones say where they are pushed. `defaultQueueOf`
 * names the queue a connection pushes to when the listener names none (its configured `queue`).
 */
export function describeListeners(
  defaultConnection: string,
  defaultQueueOf: (connection: string) => string = () => 'default',
): Array<{ event: string; listeners: Array<{ name: string; queued: boolean; connection?: string; queue?: string }> }> {
  return listenerRegistry.events().map((event) => ({
    event: event.name,
    listeners: listenerRegistry.listenersOf(event).map((wiring) => {
      if (wiring.kind === 'function') return { name: wiring.fn.name ? `${wiring.fn.name} (function)` : '(anonymous function)', queued: false };
      const { listener } = wiring;
      if (!listener.options.queued) return { name: listener.name, queued: false };
      const connection = listener.options.connection ?? defaultConnection;
      return { name: listener.name, queued: true, connection, queue: listener.options.queue ?? defaultQueueOf(connection) };
    }),
  }));
}

/** `errand event:list`: each event with its listeners, queued ones with their connection and queue. */
export function registerEventListCommand(program: Command): void {
  program
    .command('event:list')
    .description("List the application's events and their listeners (queued ones with their connection and queue)")
    .option('--event <name>', 'only events whose name contains this')
    .option('--json', 'print JSON', false)
    .action(async (flags: { event?: string; json: boolean }, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        await importBootstrap(app);
        const defaultQueueOf = (name: string) => {
          const connection = ownProperty(app.config.connections, name);
          return connection?.driver === 'database' ? connection.queue : 'default';
        };
        const rows = describeListeners(app.config.default, defaultQueueOf).filter((row) => !flags.event || row.event.includes(flags.event));
        if (flags.json) {
          console.log(JSON.stringify(rows));
          return;
        }
        if (rows.length === 0) {
          console.log(`  ${pc.yellow('No events with listeners were found')} (is the bootstrap or \`listeners\` in the config set?).`);
          return;
        }
        for (const row of rows) {
          console.log(`  ${pc.bold(row.event)}`);
          for (const listener of row.listeners) {
            const where = listener.queued ? pc.dim(` (queued on ${listener.connection}:${listener.queue})`) : '';
            console.log(`    ⇂ ${listener.name}${where}`);
          }
        }
      } finally {
        await shutdown();
      }
    });
}
