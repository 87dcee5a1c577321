import type { Command } from 'commander';
import pc from 'picocolors';
import { ownProperty } from '../../config/own-property.js';
import type { RegisteredListener } from '../../listeners/listener-options.js';
import { listenerRegistry } from '../../listeners/listener-registry.js';
import { listenerRoute } from '../../listeners/listener-route.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand, importBootstrap } from '../boot-from-cli.js';

/** One listener of an event, as `event:list` shows it. */
export interface ListedListener {
  name: string;
  queued: boolean;
  connection?: string;
  queue?: string;
  /** Why the listener could not be built to ask its viaConnection()/viaQueue(): its options alone are shown. */
  unresolved?: string;
}

/**
 * One line per listener of each event; queued ones say where their jobs go, decided as the
 * dispatcher decides it (listenerRoute: viaConnection()/viaQueue() of an instance from
 * `instanceOf`, then the options), with what neither names filled in as dispatch fills it:
 * `defaultConnection`, and `defaultQueueOf` the queue a connection pushes to (its configured
 * `queue`). Without `instanceOf`, or when it throws, the options alone decide.
 */
export function describeListeners(
  defaultConnection: string,
  defaultQueueOf: (connection: string) => string = () => 'default',
  instanceOf?: (listener: RegisteredListener) => object,
): Array<{ event: string; listeners: ListedListener[] }> {
  return listenerRegistry.events().map((event) => ({
    event: event.name,
    listeners: listenerRegistry.listenersOf(event).map((wiring): ListedListener => {
      if (wiring.kind === 'function')
        return { name: wiring.fn.name ? `${wiring.fn.name} (function)` : '(anonymous function)', queued: false };
      const { listener } = wiring;
      if (!listener.options.queued) return { name: listener.name, queued: false };
      let route = listenerRoute(listener, {});
      let unresolved: string | undefined;
      try {
        route = listenerRoute(listener, instanceOf?.(listener) ?? {});
      } catch (error) {
        // A listener that cannot be built, or whose viaConnection()/viaQueue() throws, is listed
        // by its options with the reason rather than ending the whole listing.
        unresolved = error instanceof Error ? error.message : String(error);
      }
      const connection = route.connection ?? defaultConnection;
      const listed: ListedListener = {
        name: listener.name,
        queued: true,
        connection,
        queue: route.queue ?? defaultQueueOf(connection),
      };
      return unresolved === undefined ? listed : { ...listed, unresolved };
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
          return connection?.driver === 'database' || connection?.driver === 'redis' ? connection.queue : 'default';
        };
        const instanceOf = (listener: RegisteredListener) => app.container.resolve(listener.target) as object;
        const rows = describeListeners(app.config.default, defaultQueueOf, instanceOf).filter(
          (row) => !flags.event || row.event.includes(flags.event),
        );
        if (flags.json) {
          console.log(JSON.stringify(rows));
          return;
        }
        if (rows.length === 0) {
          console.log(
            `  ${pc.yellow('No events with listeners were found')} (is the bootstrap or \`listeners\` in the config set?).`,
          );
          return;
        }
        for (const row of rows) {
          console.log(`  ${pc.bold(row.event)}`);
          for (const listener of row.listeners) {
            const where = listener.queued ? pc.dim(` (queued on ${listener.connection}:${listener.queue})`) : '';
            const note =
              listener.unresolved === undefined
                ? ''
                : pc.yellow(` (could not be built to ask viaConnection()/viaQueue(): ${listener.unresolved})`);
            console.log(`    ⇂ ${listener.name}${where}${note}`);
          }
        }
      } finally {
        await shutdown();
      }
    });
}
