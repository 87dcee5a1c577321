import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { ConfigError } from '../errors/config-error.js';
import type { ErrandConfig, ResolvedConfig } from './config-types.js';
import { resolveConfig } from './resolve-config.js';

/** The file names looked for in the working directory, in this order. */
export const CONFIG_FILES = ['errand.config.js', 'errand.config.mjs', 'errand.config.cjs'];

/**
 * Finds and reads the configuration: `file` when given, else the first of `CONFIG_FILES` in
 * `cwd`; with neither, the defaults (SQLite under the working directory).
 */
export async function loadConfig(options: { file?: string; cwd?: string } = {}): Promise<ResolvedConfig> {
  const cwd = options.cwd ?? process.cwd();
  const file = options.file ? path.resolve(cwd, options.file) : findConfigFile(cwd);
  if (!file) return resolveConfig(undefined, { baseDir: cwd });
  if (!existsSync(file)) throw new ConfigError(`Config file ${file} does not exist.`);
  if (/\.(c|m)?ts$/.test(file)) {
    throw new ConfigError(`Config file ${file} is TypeScript: compile it (tsc) and pass the .js file with --config.`);
  }
  let module: { default?: ErrandConfig };
  try {
    module = (await import(pathToFileURL(file).href)) as { default?: ErrandConfig };
  } catch (error) {
    throw new ConfigError(`Config file ${file} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  const config = module.default ?? (module as ErrandConfig);
  return { ...resolveConfig(config, { baseDir: path.dirname(file), source: file }), source: file };
}

function findConfigFile(cwd: string): string | undefined {
  for (const name of CONFIG_FILES) {
    const candidate = path.join(cwd, name);
    if (existsSync(candidate)) return candidate;
  }
  if (existsSync(path.join(cwd, 'errand.config.ts'))) {
    throw new ConfigError(`Found errand.config.ts in ${cwd}: compile it (tsc) and pass the .js file with --config.`);
  }
  return undefined;
}
