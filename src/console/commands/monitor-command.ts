import type { Command } from 'commander';
import pc from 'picocolors';

import type { QueueStats } from '../../contracts/worker-queue.js';
import { serverSummary } from '../../drivers/connect.js';
import { ConfigError } from '../../errors/config-error.js';
import { QueueBusy } from '../../events/queue-busy.js';
import { dispatchEvent } from '../../listeners/event-dispatcher.js';
import { shutdown } from '../../runtime/boot.js';
import { type ErrandRuntime, events } from '../../runtime/current.js';
import { bootFromCommand, importBootstrap } from '../boot-from-cli.js';
import { textTable } from '../text-table.js';

/** One queue's line of `queue:monitor`. */
export interface MonitorRow extends QueueStats {
  connection: string;
  queue: string;
  max: number;
  status: 'OK' | 'ALERT';
}

/**
 * The exit status of `queue:monitor` when a queue is at or over `--max` (decision 0043): not 1,
 * which is every command's status for an error, so a health check can tell "too many jobs" from
 * "could not look".
 */
const QUEUE_OVER_MAX_STATUS = 2;

/**
 * `errand queue:monitor conn:queue,… [--max=N] [--json] [--watch[=s]]`: each queue's size by state
 * and the age of its oldest pending job; a queue at or over `--max` is an ALERT and fires
 * `QueueBusy` (to `Queue.on(QueueBusy, …)` listeners and `@Listener`s of the bootstrap modules).
 * The command exits with QUEUE_OVER_MAX_STATUS when its last look found an ALERT, 0 otherwise.
 */
export function registerMonitorCommand(program: Command): void {
  program
    .command('queue:monitor')
    .description(
      `Show the size of queues, and alert (QueueBusy, exit status ${QUEUE_OVER_MAX_STATUS}) when one reaches --max`,
    )
    .argument('[queues]', 'comma-separated queues: connection:queue, or a queue of the default connection')
    .option('--max <n>', 'alert when a queue holds this many jobs or more', '1000')
    .option('--json', 'one JSON object per queue and line')
    .option('--watch [seconds]', 'redraw every few seconds (default 2) until interrupted')
    .action(
      async (
        queues: string | undefined,
        flags: { max: string; json?: boolean; watch?: string | boolean },
        command: Command,
      ) => {
        // `--watch events`: the optional seconds took the queue list; give it back.
        if (queues === undefined && typeof flags.watch === 'string' && !/^\d/.test(flags.watch))
          [queues, flags.watch] = [flags.watch, true];
        if (queues === undefined)
          throw new ConfigError(
            'queue:monitor: name the queues to watch, e.g. errand queue:monitor database:default,emails',
          );
        if (!/^\d+$/.test(flags.max) || Number(flags.max) < 1)
          throw new ConfigError(`--max must be a whole number ≥ 1, got ${flags.max}.`);
        const max = Number(flags.max);
        const every = flags.watch === undefined ? undefined : flags.watch === true ? 2 : Number(flags.watch);
        if (every !== undefined && (!Number.isFinite(every) || every <= 0))
          throw new ConfigError(`--watch must be a number of seconds > 0, got ${String(flags.watch)}.`);
        const app = await bootFromCommand(command);
        try {
          await importBootstrap(app);
          const targets = parseTargets(queues, app);
          // Read once, not on every redraw: a server's version and settings change rarely.
          const header = flags.json ? [] : await serverHeader(app, targets);
          // Under --watch a queue that stays over --max fires QueueBusy once, when it crosses, not on every redraw.
          const alerting = new Set<string>();
          const once = async () => {
            const rows = await monitor(app, targets, max, alerting);
            if (every !== undefined && !flags.json && process.stdout.isTTY) process.stdout.write('\x1b[2J\x1b[H');
            for (const line of header) console.log(line);
            print(rows, Boolean(flags.json));
            process.exitCode = rows.some((row) => row.status === 'ALERT') ? QUEUE_OVER_MAX_STATUS : 0;
          };
          await once();
          if (every === undefined) return;
          let stopped = false;
          const stop = () => void (stopped = true);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
          while (!stopped) {
            await sleepUnless(every * 1000, () => stopped);
            if (!stopped) await once();
          }
        } finally {
          await shutdown();
        }
      },
    );
}

/**
 * Reads each queue's figures; fires QueueBusy for each queue at or over `max` that is not in
 * `alerting` (the queues already over it at the last look), and keeps `alerting` up to date.
 */
export async function monitor(
  app: ErrandRuntime,
  targets: Array<{ connection: string; queue: string }>,
  max: number,
  alerting = new Set<string>(),
): Promise<MonitorRow[]> {
  const rows: MonitorRow[] = [];
  for (const { connection, queue } of targets) {
    const stats = await app.queues.worker(connection).stats(queue);
    const status = stats.size >= max ? 'ALERT' : 'OK';
    rows.push({ connection, queue, ...stats, max, status });
    const key = `${connection}:${queue}`;
    if (status === 'OK') alerting.delete(key);
    else if (!alerting.has(key)) {
      alerting.add(key);
      const busy = new QueueBusy(connection, queue, stats.size);
      await events.emit(busy);
      await dispatchEvent(busy);
    }
  }
  return rows;
}

function parseTargets(list: string, app: ErrandRuntime): Array<{ connection: string; queue: string }> {
  const targets = list
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const at = item.indexOf(':');
      const connection = at === -1 ? app.config.default : item.slice(0, at).trim();
      const queue = at === -1 ? item : item.slice(at + 1).trim();
      if (!connection || !queue)
        throw new ConfigError(`queue:monitor: [${item}] is not connection:queue or a queue name.`);
      app.queues.worker(connection);
      return { connection, queue };
    });
  if (targets.length === 0)
    throw new ConfigError(
      'queue:monitor: name at least one queue (connection:queue or a queue of the default connection).',
    );
  return targets;
}

/**
 * A line per Redis server behind the targets (each master of a cluster): its version, persistence
 * and memory policy, which decide whether the jobs counted below survive a restart or memory
 * pressure. A server that cannot be asked is left out: the counts below report the failure.
 */
async function serverHeader(app: ErrandRuntime, targets: Array<{ connection: string }>): Promise<string[]> {
  const lines: string[] = [];
  for (const connection of new Set(targets.map((target) => target.connection))) {
    const summary = await serverSummary(app.queues.worker(connection)).catch(() => []);
    lines.push(...summary.map((line) => `  [${connection}] ${line}`));
  }
  if (lines.length > 0) lines.push('');
  return lines;
}

function print(rows: MonitorRow[], json: boolean): void {
  if (json) {
    for (const row of rows) console.log(JSON.stringify(row));
    return;
  }
  const cells = rows.map((row) => [
    `[${row.connection}] ${row.queue}`,
    String(row.size),
    String(row.pending),
    String(row.delayed),
    String(row.reserved),
    row.oldestPendingAge === null ? '-' : formatAge(row.oldestPendingAge),
    row.status,
  ]);
  const [header, rule, ...lines] = textTable(
    ['Queue', 'Size', 'Pending', 'Delayed', 'Reserved', 'Oldest pending', 'Status'],
    cells,
  ).split('\n');
  console.log(pc.bold(header!));
  console.log(rule);
  for (const [i, line] of lines.entries()) console.log(rows[i]!.status === 'ALERT' ? pc.red(line) : line);
}

/** 75 → "1m 15s", 7300 → "2h 1m". */
export function formatAge(seconds: number): string {
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ${seconds % 60}s`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ${Math.floor((seconds % 3600) / 60)}m`;
  return `${Math.floor(seconds / 86400)}d ${Math.floor((seconds % 86400) / 3600)}h`;
}

async function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!stopped() && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, Math.min(100, until - Date.now())));
}
