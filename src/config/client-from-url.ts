import type { DatabaseClient } from './config-types.js';

/** The URL schemes errand knows, and the client each one is for. */
export const CLIENT_OF_SCHEME: Readonly<Record<string, DatabaseClient>> = {
  postgres: 'pg',
  postgresql: 'pg',
  mysql: 'mysql2',
  mariadb: 'mysql2',
  file: 'better-sqlite3',
  sqlite: 'better-sqlite3',
};

/**
 * The scheme of a connection string that is a URL (`postgres` for `postgres://…`), lower-cased;
 * undefined for anything else, which is an SQLite file name. A URL is `scheme://…` with a scheme
 * of two letters or more (so `C://data` stays a Windows path), or `file:`/`sqlite:` without the
 * slashes, as SQLite writes them.
 */
export function urlScheme(connection: string): string | undefined {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]+):\/\//.exec(connection)?.[1] ?? /^(file|sqlite):/i.exec(connection)?.[1];
  return scheme?.toLowerCase();
}

/** How the schemes are written in messages: `postgres://` or `postgresql:// (pg), …`. */
export function describeSchemes(): string {
  const byClient = new Map<DatabaseClient, string[]>();
  for (const [scheme, client] of Object.entries(CLIENT_OF_SCHEME))
    byClient.set(client, [
      ...(byClient.get(client) ?? []),
      client === 'better-sqlite3' ? `${scheme}:` : `${scheme}://`,
    ]);
  return [...byClient].map(([client, schemes]) => `${schemes.join(' or ')} (${client})`).join(', ');
}
