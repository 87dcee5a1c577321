import { readFileSync } from 'node:fs';

/**
 * errand's version, read from its own package.json (two levels above both `src/console` and
 * `dist/console`), so `errand --version` says what is installed without a build step copying it.
 */
export function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}
