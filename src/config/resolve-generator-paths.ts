import path from 'node:path';

import { ConfigError } from '../errors/config-error.js';
import type { GeneratorPaths } from './config-types.js';

/** Where the `make:*` generators write when neither the config nor `--path` says. */
export const DEFAULT_GENERATOR_PATHS: Required<GeneratorPaths> = {
  jobs: 'src/jobs',
  listeners: 'src/listeners',
  events: 'src/events',
  middleware: 'src/jobs/middleware',
};

/** Checks `paths` (its keys and kinds are the schema's) and resolves each directory against the config file's directory. */
export function resolveGeneratorPaths(
  raw: GeneratorPaths | undefined,
  baseDir: string,
  where: string,
): Required<GeneratorPaths> {
  const keys = Object.keys(DEFAULT_GENERATOR_PATHS) as Array<keyof GeneratorPaths>;
  const resolved = { ...DEFAULT_GENERATOR_PATHS };
  for (const key of keys) {
    const value = raw?.[key] ?? DEFAULT_GENERATOR_PATHS[key];
    if (typeof value !== 'string' || value.trim() === '') {
      throw new ConfigError(`\`paths.${key}\`${where} must be a directory path, got ${JSON.stringify(value)}.`);
    }
    resolved[key] = path.resolve(baseDir, value);
  }
  return resolved;
}
