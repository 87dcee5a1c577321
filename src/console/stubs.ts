import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError } from '../errors/config-error.js';

/** The stubs shipped with errand (the package's own `stubs/`). */
export const PACKAGE_STUBS = fileURLToPath(new URL('../../stubs/', import.meta.url));

/** A stub's text: the app's own `stubs/<name>` when it has one, else errand's. */
export function readStub(name: string, cwd: string = process.cwd()): string {
  for (const dir of [path.join(cwd, 'stubs'), PACKAGE_STUBS]) {
    const file = path.join(dir, name);
    if (existsSync(file)) return readFileSync(file, 'utf8');
  }
  throw new ConfigError(`Stub ${name} was found neither in ${path.join(cwd, 'stubs')} nor in ${PACKAGE_STUBS}.`);
}

/** Replaces `{{ key }}` placeholders; a placeholder without a value is an error naming it. */
export function renderStub(template: string, values: Record<string, string>): string {
  return template.replace(/\{\{\s*(\w+)\s*\}\}/g, (_, key: string) => {
    const value = values[key];
    if (value === undefined) throw new ConfigError(`The stub needs a value for {{ ${key} }}.`);
    return value;
  });
}
