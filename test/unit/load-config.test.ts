import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { loadConfig } from '../../src/config/load-config.js';

describe('loadConfig', () => {
  const dir = () => mkdtempSync(path.join(os.tmpdir(), 'errand-config-'));

  it('finds errand.config.mjs in the working directory and resolves paths from it', async () => {
    const cwd = dir();
    writeFileSync(
      path.join(cwd, 'errand.config.mjs'),
      "export default { connections: { main: { driver: 'database', connection: 'data/q.sqlite' } }, bootstrap: './jobs.js' };",
    );
    const config = await loadConfig({ cwd });
    expect(config.default).toBe('main');
    expect(config.connections.main).toMatchObject({ connection: { filename: path.join(cwd, 'data/q.sqlite') } });
    expect(config.bootstrap).toEqual([path.join(cwd, 'jobs.js')]);
  });

  it('uses the SQLite defaults without a file', async () => {
    const cwd = dir();
    expect((await loadConfig({ cwd })).connections.database).toMatchObject({ client: 'better-sqlite3' });
  });

  it('names the file when it is missing, TypeScript, or broken', async () => {
    const cwd = dir();
    await expect(loadConfig({ cwd, file: 'nope.js' })).rejects.toThrow(
      `Config file ${path.join(cwd, 'nope.js')} does not exist.`,
    );
    writeFileSync(path.join(cwd, 'errand.config.ts'), 'export default {}');
    await expect(loadConfig({ cwd })).rejects.toThrow('Found errand.config.ts in');
    writeFileSync(path.join(cwd, 'broken.mjs'), 'export default {');
    await expect(loadConfig({ cwd, file: 'broken.mjs' })).rejects.toThrow(
      `Config file ${path.join(cwd, 'broken.mjs')} could not be loaded:`,
    );
  });

  it('refuses a file without a default export, naming it and what to write', async () => {
    const cwd = dir();
    writeFileSync(
      path.join(cwd, 'errand.config.mjs'),
      "export const config = { connections: { main: { driver: 'sync' } } };\n",
    );
    await expect(loadConfig({ cwd })).rejects.toThrow(
      `Config file ${path.join(cwd, 'errand.config.mjs')} has no default export (only \`config\`): write \`export default defineConfig({ ... })\` ` +
        '(in a CommonJS file, `module.exports = defineConfig({ ... })`).',
    );
    writeFileSync(path.join(cwd, 'empty.mjs'), 'export default undefined;\n');
    await expect(loadConfig({ cwd, file: 'empty.mjs' })).rejects.toThrow(
      `Config file ${path.join(cwd, 'empty.mjs')} has no default export: write`,
    );
  });

  it('reads a .cjs config from module.exports (or a compiled export default), and checks its keys naming the file', async () => {
    const cwd = dir();
    writeFileSync(
      path.join(cwd, 'errand.config.cjs'),
      "module.exports = { default: 'main', connections: { main: { driver: 'database', connection: 'q.sqlite' }, inline: { driver: 'sync' } } };\n",
    );
    const config = await loadConfig({ cwd });
    expect(config.default).toBe('main');
    expect(config.connections.main).toMatchObject({
      client: 'better-sqlite3',
      connection: { filename: path.join(cwd, 'q.sqlite') },
    });
    // What tsc writes for `export default defineConfig({...})` compiled to CommonJS.
    writeFileSync(
      path.join(cwd, 'compiled.cjs'),
      '"use strict";\nObject.defineProperty(exports, "__esModule", { value: true });\nexports.default = { connections: { inline: { driver: \'sync\' } } };\n',
    );
    expect((await loadConfig({ cwd, file: 'compiled.cjs' })).default).toBe('inline');
    writeFileSync(
      path.join(cwd, 'typo.cjs'),
      "module.exports = { connections: { main: { driver: 'database', conection: 'q.sqlite' } } };\n",
    );
    await expect(loadConfig({ cwd, file: 'typo.cjs' })).rejects.toThrow(
      `Unknown key \`connections.main.conection\` in ${path.join(cwd, 'typo.cjs')}: did you mean \`connection\`?`,
    );
  });
});
