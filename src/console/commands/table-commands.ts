import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import type { Command } from 'commander';
import pc from 'picocolors';
import { ownProperty } from '../../config/own-property.js';
import { ConfigError } from '../../errors/config-error.js';
import { shutdown } from '../../runtime/boot.js';
import { bootFromCommand } from '../boot-from-cli.js';
import { readStub, renderStub } from '../stubs.js';

/**
 * `errand queue:table`, `queue:failed-table`, `queue:workers-table`, `queue:controls-table`, `queue:locks-table` and
 * `queue:rate-limits-table`:
 * write knex migrations into an app that runs its own migrations instead of `errand migrate`.
 */
export function registerTableCommands(program: Command): void {
  addTableCommand(program, 'queue:table', 'jobs', 'migration.jobs.stub', (app) => {
    const connection = ownProperty(app.config.connections, app.config.default);
    return connection?.driver === 'database' ? connection.table : 'jobs';
  });
  addTableCommand(program, 'queue:failed-table', 'failed jobs', 'migration.failed-jobs.stub', (app) =>
    app.config.failed.driver === 'database' ? app.config.failed.table : 'failed_jobs',
  );
  addTableCommand(program, 'queue:workers-table', 'workers (heartbeats)', 'migration.workers.stub', (app) => {
    const connection = ownProperty(app.config.connections, app.config.default);
    return connection?.driver === 'database' ? connection.workersTable : 'queue_workers';
  });
  addTableCommand(
    program,
    'queue:controls-table',
    'queue controls (restart, pause)',
    'migration.controls.stub',
    (app) => {
      const connection = ownProperty(app.config.connections, app.config.default);
      return connection?.driver === 'database' ? connection.controlsTable : 'queue_controls';
    },
  );
  addTableCommand(
    program,
    'make:queue-batches-table',
    'job batches',
    'migration.job-batches.stub',
    (app) => app.config.batching?.table ?? 'job_batches',
  );
  addTableCommand(
    program,
    'queue:locks-table',
    'locks (unique jobs, WithoutOverlapping)',
    'migration.locks.stub',
    (app) => app.config.locks?.table ?? 'locks',
  );
  addTableCommand(
    program,
    'queue:rate-limits-table',
    'rate limits (RateLimited, ThrottlesExceptions)',
    'migration.rate-limits.stub',
    (app) => app.config.rateLimits?.table ?? 'rate_limits',
  );
}

function addTableCommand(
  program: Command,
  name: string,
  what: string,
  stub: string,
  defaultTable: (app: Awaited<ReturnType<typeof bootFromCommand>>) => string,
): void {
  program
    .command(name)
    .description(`Write a knex migration for the ${what} table into the app`)
    .option('--table <name>', 'table name (default: from the config)')
    .option('--path <dir>', 'migrations directory', 'migrations')
    .action(async (flags: { table?: string; path: string }, command: Command) => {
      const app = await bootFromCommand(command);
      await shutdown();
      const table = flags.table ?? defaultTable(app);
      const file = writeMigration(path.resolve(flags.path), table, readStub(stub));
      console.log(`  ${pc.green('Migration created')} ${path.relative(process.cwd(), file)}`);
    });
}

/** Renders a migration stub into `dir`; refuses when a migration for that table already exists. */
export function writeMigration(dir: string, table: string, template: string, now: Date = new Date()): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table))
    throw new ConfigError(`--table: [${table}] is not a valid table name.`);
  mkdirSync(dir, { recursive: true });
  const suffix = `_create_${table}_table.js`;
  const existing = readdirSync(dir).find((f) => f.endsWith(suffix));
  if (existing)
    throw new ConfigError(`A migration to create the ${table} table already exists: ${path.join(dir, existing)}.`);
  const stamp = now.toISOString().replace(/[-:T]/g, '').slice(0, 14);
  const file = path.join(dir, `${stamp}${suffix}`);
  writeFileSync(file, renderStub(template, { table }));
  return file;
}
