import type { Command } from 'commander';
import pc from 'picocolors';

import { shutdown } from '../../runtime/boot.js';
import { runMigrations } from '../../runtime/run-migrations.js';
import { bootFromCommand } from '../boot-from-cli.js';

/** `errand migrate [connection]`: creates or updates errand's tables. */
export function registerMigrateCommand(program: Command): void {
  program
    .command('migrate')
    .description(
      "Create or update errand's tables (jobs, failed_jobs, workers, controls, locks, rate limits, job batches) on every database connection",
    )
    .argument('[connection]', 'only this queue connection')
    .action(async (connection: string | undefined, _flags: unknown, command: Command) => {
      await bootFromCommand(command);
      try {
        for (const report of await runMigrations(connection)) {
          if (report.ran.length === 0) console.log(`  ${pc.gray(`[${report.connection}]`)} Nothing to migrate.`);
          for (const step of report.ran)
            console.log(`  ${pc.gray(`[${report.connection}]`)} ${step} ${pc.green('DONE')}`);
        }
      } finally {
        await shutdown();
      }
    });
}
