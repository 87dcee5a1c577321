import { cpSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { ROOT, runNode } from './run-cli.js';

/**
 * An app directory as `npm install errand` would leave it, but with some packages missing or
 * replaced: `node_modules/errand` holds this repository's dist, stubs and package.json, and every
 * other package of this repository's node_modules is linked in except those in `omit`;
 * `replace` names packages copied in instead of linked, each through a filter of its files.
 * Run it with `runInstalled`, which passes --preserve-symlinks: Node then resolves from the
 * links' own paths, so knex, linked in, looks for its client in the app and not in this
 * repository (where every client is installed).
 */
export function installedApp(omit: string[], replace: Record<string, (relative: string) => boolean> = {}): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-installed-'));
  const modules = path.join(dir, 'node_modules');
  mkdirSync(path.join(modules, 'errand'), { recursive: true });
  for (const entry of ['dist', 'stubs', 'package.json'])
    symlinkSync(path.join(ROOT, entry), path.join(modules, 'errand', entry));
  const source = path.join(ROOT, 'node_modules');
  for (const name of readdirSync(source)) {
    if (name.startsWith('.') || omit.includes(name)) continue;
    const keep = replace[name];
    if (keep) {
      const from = path.join(source, name);
      cpSync(from, path.join(modules, name), {
        recursive: true,
        filter: (file) => file === from || keep(path.relative(from, file)),
      });
    } else {
      symlinkSync(path.join(source, name), path.join(modules, name));
    }
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  return dir;
}

/** Runs the installed `errand` CLI of an `installedApp` directory, resolving from its links. */
export function runInstalled(dir: string, args: string[]): ReturnType<typeof runNode> {
  const cli = path.join(dir, 'node_modules/errand/dist/console/cli.js');
  return runNode(['--preserve-symlinks', '--preserve-symlinks-main', cli, ...args], dir);
}
