import type { Command } from 'commander';

import { generateKey } from '../../payload/keyring.js';

/**
 * `errand key:generate`: prints a new key for ERRAND_KEY. It writes no file: where secrets live
 * (an .env, a secret store) is the deployment's business.
 */
export function registerKeyCommand(program: Command): void {
  program
    .command('key:generate')
    .description('Print a new encryption key for ERRAND_KEY (encrypted jobs)')
    .option('--show', 'print the key alone, for scripts', false)
    .action((flags: { show: boolean }) => {
      const key = generateKey();
      if (flags.show) console.log(key);
      else
        console.log(
          `ERRAND_KEY=${key}\n  When rotating, move the old key to ERRAND_PREVIOUS_KEYS so queued encrypted jobs still open.`,
        );
    });
}
