import { createRequire } from 'node:module';

import type { DatabaseClient } from '../../config/config-types.js';
import { MissingDatabaseClientError } from '../../errors/missing-database-client-error.js';

/** Clients already found to load, so each is looked for once per process. */
const loaded = new Set<DatabaseClient>();

/**
 * Makes sure a connection's client package loads, before knex needs it. The clients are optional
 * peer dependencies (an app installs only the one it uses), and knex's own failure is a bare
 * "Knex: run npm install pg --save" logged with a stack; this one names the connection and the
 * fix. better-sqlite3 loads without its native part, which is only opened with the first
 * database, so an in-memory database is opened here too: blocked install scripts
 * (`--ignore-scripts`, npm's allowScripts, pnpm's onlyBuiltDependencies) leave it unbuilt.
 */
export function requireClient(connection: string, client: DatabaseClient): void {
  if (loaded.has(client)) return;
  // knex requires the client from its own directory; asking from there gets knex's answer.
  const fromKnex = createRequire(createRequire(import.meta.url).resolve('knex'));
  let driver: unknown;
  try {
    driver = fromKnex(client);
  } catch (error) {
    if (!isMissing(error, client)) throw error;
    throw new MissingDatabaseClientError(
      connection,
      client,
      `The database connection [${connection}] uses client ${client}: install it with \`npm install ${client}\`. ` +
        "errand's database clients are optional peer dependencies, so an app installs only the one it uses.",
      { cause: error },
    );
  }
  if (client === 'better-sqlite3') openInMemory(connection, driver as new (filename: string) => { close(): void });
  loaded.add(client);
}

/** Whether `error` says the package itself cannot be found (not a file or package it requires). */
function isMissing(error: unknown, client: string): boolean {
  const { code, message } = error as { code?: unknown; message?: unknown };
  return (
    code === 'MODULE_NOT_FOUND' && typeof message === 'string' && message.startsWith(`Cannot find module '${client}'`)
  );
}

function openInMemory(connection: string, Database: new (filename: string) => { close(): void }): void {
  try {
    new Database(':memory:').close();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: unknown }).code;
    if (!message.includes('Could not locate the bindings file') && code !== 'ERR_DLOPEN_FAILED') throw error;
    throw new MissingDatabaseClientError(
      connection,
      'better-sqlite3',
      `The database connection [${connection}] uses client better-sqlite3, which is installed but its native part is ` +
        (code === 'ERR_DLOPEN_FAILED'
          ? 'built for another Node.js version or system'
          : 'not built (its install script did not run)') +
        ': run `npm rebuild better-sqlite3`. Where install scripts are blocked, allow its script first: with npm 11, ' +
        '`npm install-scripts approve better-sqlite3` (it adds better-sqlite3 to "allowScripts" in package.json) and no --ignore-scripts; ' +
        'with pnpm, `pnpm approve-builds` (or better-sqlite3 under onlyBuiltDependencies), then `pnpm rebuild better-sqlite3`. ' +
        `The loader said: ${message.split('\n')[0]}`,
      { cause: error },
    );
  }
}
