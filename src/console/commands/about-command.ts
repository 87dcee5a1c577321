import type { Command } from 'commander';
import pc from 'picocolors';

import type { ResolvedConfig } from '../../config/config-types.js';
import { describeStore, type StoreFact } from '../../drivers/connect.js';
import { errorSummary } from '../../errors/error-text.js';
import { shutdown } from '../../runtime/boot.js';
import type { ErrandRuntime } from '../../runtime/current.js';
import { bootFromCommand } from '../boot-from-cli.js';
import { packageVersion } from '../package-version.js';

/** One section of `errand about`: a title and its label/value lines. */
export interface AboutSection {
  title: string;
  lines: StoreFact[];
}

/**
 * `errand about [--json]`: errand's and Node's versions, the config in use, where failed jobs,
 * batches, locks and rate limits live, and for each connection what its store's server says of
 * itself (for Redis: version, persistence and memory policy). A server that cannot be reached is
 * shown as such; the command still prints the rest and exits 0, since it is for looking, not a
 * health check.
 */
export function registerAboutCommand(program: Command): void {
  program
    .command('about')
    .description('Show versions, the configuration in use and what each connection’s server says of itself')
    .option('--json', 'print the sections as one JSON object')
    .action(async (flags: { json?: boolean }, command: Command) => {
      const app = await bootFromCommand(command);
      try {
        const sections = await about(app);
        if (flags.json) {
          const json = Object.fromEntries(sections.map((s) => [s.title, Object.fromEntries(s.lines)]));
          console.log(JSON.stringify(json, null, 2));
        } else print(sections);
      } finally {
        await shutdown();
      }
    });
}

/** What `errand about` prints, section by section. */
export async function about(app: ErrandRuntime): Promise<AboutSection[]> {
  const { config } = app;
  const sections: AboutSection[] = [
    {
      title: 'Environment',
      lines: [
        ['errand', packageVersion()],
        ['Node.js', process.version],
        ['Config', config.source ?? '(none: defaults and environment)'],
        ['Default connection', config.default],
      ],
    },
    { title: 'Stores', lines: storeLines(config) },
  ];
  for (const name of Object.keys(config.connections)) {
    const connection = config.connections[name]!;
    const lines: StoreFact[] = [['Driver', connection.driver]];
    if (connection.driver === 'database' || connection.driver === 'redis') {
      try {
        lines.push(...(await describeStore(app.queues.worker(name))));
      } catch (error) {
        lines.push(['Server', `could not ask: ${errorSummary(error)}`]);
      }
    }
    sections.push({ title: `Connection [${name}]`, lines });
  }
  return sections;
}

function storeLines(config: ResolvedConfig): StoreFact[] {
  return [
    [
      'Failed jobs',
      config.failed.driver === 'database' ? `[${config.failed.connection}] ${config.failed.table}` : 'not kept (null)',
    ],
    ['Batches', config.batching ? `[${config.batching.connection}] ${config.batching.table}` : 'none'],
    ['Locks', config.locks ? sharedStore(config, config.locks, 'lock') : 'in memory'],
    ['Rate limits', config.rateLimits ? sharedStore(config, config.rateLimits, 'limit') : 'none'],
  ];
}

/** Where locks or rate limits live: a table, or on a redis connection the keys under its prefix (`kind` names them). */
function sharedStore(config: ResolvedConfig, home: { connection: string; table: string }, kind: string): string {
  const connection = config.connections[home.connection];
  if (connection?.driver === 'redis') return `[${home.connection}] keys ${connection.prefix}${kind}:*`;
  return `[${home.connection}] ${home.table}`;
}

function print(sections: AboutSection[]): void {
  const width = Math.max(...sections.flatMap((s) => s.lines.map(([label]) => label.length))) + 2;
  for (const section of sections) {
    console.log(`\n  ${pc.bold(pc.green(section.title))}`);
    for (const [label, value] of section.lines)
      console.log(`  ${label} ${pc.gray('.'.repeat(Math.max(2, width - label.length)))} ${value}`);
  }
  console.log('');
}
