import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { ConfigError } from '../errors/config-error.js';

const MODULE = /\.(js|mjs|cjs)$/;

function modulesUnder(entry: string): string[] {
  if (!existsSync(entry)) throw new ConfigError(`The listener path ${entry} (config \`listeners\`) does not exist; build the app first, or fix the path.`);
  if (statSync(entry).isFile()) return [entry];
  return readdirSync(entry, { withFileTypes: true })
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((item) => {
      const full = path.join(entry, item.name);
      if (item.isDirectory()) return modulesUnder(full);
      return MODULE.test(item.name) && !item.name.endsWith('.d.ts') ? [full] : [];
    });
}

/**
 * Imports every module under the configured listener paths (sorted, so wiring order is stable),
 * so their `@Listener` classes register themselves.
 */
export async function discoverListeners(paths: readonly string[]): Promise<string[]> {
  const files = paths.flatMap(modulesUnder);
  for (const file of files) {
    try {
      await import(pathToFileURL(file).href);
    } catch (error) {
      throw new ConfigError(`The listener module ${file} could not be loaded: ${(error as Error).message}`, { cause: error });
    }
  }
  return files;
}
