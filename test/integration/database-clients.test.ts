import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { describe, expect, it } from 'vitest';

import { installedApp, runInstalled } from '../helpers/installed-app.js';

/** A config whose default (and only) connection is `name`, using `client`. */
function writeConfig(dir: string, file: string, name: string, client: string, connection: unknown): void {
  const config = { default: name, connections: { [name]: { driver: 'database', client, connection } } };
  writeFileSync(path.join(dir, file), `export default ${JSON.stringify(config)};\n`);
}

describe('database clients are optional peer dependencies', () => {
  it('a connection whose client is not installed names the connection, the client and the npm install', async () => {
    const dir = installedApp(['pg', 'mysql2']);
    writeConfig(dir, 'pg.config.mjs', 'reports', 'pg', 'postgres://postgres@127.0.0.1:5432/postgres');
    writeConfig(dir, 'mysql.config.mjs', 'orders', 'mysql2', 'mysql://root@127.0.0.1:3306/test');
    writeConfig(dir, 'sqlite.config.mjs', 'local', 'better-sqlite3', { filename: './queue.sqlite' });
    const [pg, mysql, sqlite] = await Promise.all([
      runInstalled(dir, ['--config', 'pg.config.mjs', 'migrate']),
      runInstalled(dir, ['--config', 'mysql.config.mjs', 'migrate']),
      runInstalled(dir, ['--config', 'sqlite.config.mjs', 'migrate']),
    ]);
    expect(pg.code).toBe(1);
    expect(pg.stderr).toContain('The database connection [reports] uses client pg: install it with `npm install pg`.');
    expect(mysql.code).toBe(1);
    expect(mysql.stderr).toContain(
      'The database connection [orders] uses client mysql2: install it with `npm install mysql2`.',
    );
    // knex's own message is not printed beside ours.
    expect(pg.stderr + mysql.stderr).not.toContain('Knex: run');
    // The same app works with the client it has: the packages left out are the only ones missing.
    expect(sqlite.stderr).toBe('');
    expect(sqlite.code).toBe(0);
  }, 60_000);

  it('better-sqlite3 without its native part (install scripts blocked) says how to build it', async () => {
    // The package as `npm install --ignore-scripts` leaves it: its JavaScript, no build/.
    const dir = installedApp([], {
      'better-sqlite3': (file) => file === 'package.json' || file === 'lib' || file.startsWith(`lib${path.sep}`),
    });
    writeConfig(dir, 'errand.config.mjs', 'local', 'better-sqlite3', { filename: './queue.sqlite' });
    const result = await runInstalled(dir, ['migrate']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      'The database connection [local] uses client better-sqlite3, which is installed but its native part is not built',
    );
    expect(result.stderr).toContain('`npm rebuild better-sqlite3`');
    expect(result.stderr).toContain('`npm install-scripts approve better-sqlite3`');
    expect(result.stderr).toContain('`pnpm approve-builds`');
    expect(result.stderr).toContain('Could not locate the bindings file');
  }, 60_000);
});
