import type { Command } from 'commander';

import { importModules } from '../config/module-paths.js';
import { boot } from '../runtime/boot.js';
import { type ErrandRuntime } from '../runtime/current.js';

/** Boots from `--config` (or the working directory) for a command. */
export async function bootFromCommand(command: Command): Promise<ErrandRuntime> {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  return boot(undefined, { configFile: config });
}

/**
 * Imports the configured bootstrap modules (files, directories, globs), so their jobs are
 * registered before the worker runs. Resolves to the files imported.
 */
export function importBootstrap(app: ErrandRuntime): Promise<string[]> {
  return importModules(app.config.bootstrap, 'bootstrap', app.config);
}

/**
 * Before a retry, imports the bootstrap modules: the job classes (whose `retryUntil` options are
 * evaluated again) and the listeners of `JobRetryRequested` live there. A bootstrap that fails to
 * load must not block a retry: the warning names it, and deadlines use the original window.
 */
export async function loadJobClassesForRetry(app: ErrandRuntime): Promise<void> {
  try {
    await importBootstrap(app);
  } catch (error) {
    console.error(`  ${(error as Error).message} retryUntil is recomputed from each job's original window instead.`);
  }
}
