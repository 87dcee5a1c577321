import { pathToFileURL } from 'node:url';

import type { Command } from 'commander';

import { ConfigError } from '../errors/config-error.js';
import { boot, type ErrandRuntime } from '../runtime/errand.js';

/** Boots from `--config` (or the working directory) for a command. */
export async function bootFromCommand(command: Command): Promise<ErrandRuntime> {
  const { config } = command.optsWithGlobals<{ config?: string }>();
  return boot(undefined, { configFile: config });
}

/** Imports the configured bootstrap modules, so their jobs are registered before the worker runs. */
export async function importBootstrap(app: ErrandRuntime): Promise<void> {
  for (const file of app.config.bootstrap) {
    try {
      await import(pathToFileURL(file).href);
    } catch (error) {
      throw new ConfigError(`The bootstrap module ${file} could not be loaded: ${(error as Error).message}`, { cause: error });
    }
  }
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
