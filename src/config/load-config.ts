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
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`Config file ${file} could not be loaded: ${(error as Error).message}`, { cause: error });
  }
  return resolveConfig(defaultExport(file, module) as ErrandConfig, { baseDir: path.dirname(file), source: file });
}

/**
 * The configuration a config module exports. ES modules must export it as `default`: reading the
 * named exports instead would take `export const config = {…}` as an empty configuration and run
 * on the defaults. A CommonJS module's `module.exports` is its `default` when imported; one
 * compiled from `export default` (`exports.default` beside `__esModule`) is unwrapped.
 */
function defaultExport(file: string, module: Record<string, unknown>): unknown {
  // `export default undefined` too: resolveConfig would take undefined for "no file" and run on the defaults.
  if (module.default === undefined) {
    const named = Object.keys(module).filter((name) => name !== 'default');
    throw new ConfigError(
      `Config file ${file} has no default export${named.length > 0 ? ` (only ${named.map((name) => `\`${name}\``).join(', ')})` : ''}: ` +
        'write `export default defineConfig({ ... })` (in a CommonJS file, `module.exports = defineConfig({ ... })`).',
    );
  }
  const exported = module.default;
  const compiled =
    exported !== null &&
    typeof exported === 'object' &&
    (exported as { __esModule?: unknown }).__esModule === true &&
    Object.hasOwn(exported, 'default');
  return compiled ? (exported as { default: unknown }).default : exported;
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
