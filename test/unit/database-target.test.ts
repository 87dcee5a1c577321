import { describe, expect, it } from 'vitest';

import { dialect } from '../../src/drivers/database/dialect.js';

/* Where a connection points, as error messages name it: never with a password. */

describe('dialect.describeTarget', () => {
  it('names host:port/database for URLs and objects, and the file for SQLite', () => {
    expect(dialect.describeTarget('mysql2', 'mysql://root:secret@db.internal:3399/app')).toBe('db.internal:3399/app');
    expect(dialect.describeTarget('pg', 'postgres://u:secret@127.0.0.1/app')).toBe('127.0.0.1:5432/app');
    expect(dialect.describeTarget('pg', { host: 'db', user: 'u', password: 'secret', database: 'app' })).toBe('db:5432/app');
    expect(dialect.describeTarget('better-sqlite3', { filename: '/var/app/queue.sqlite' })).toBe('/var/app/queue.sqlite');
  });

  it('names the socket directory pg takes from ?host= when the URL has no host', () => {
    expect(dialect.describeTarget('pg', 'postgres:///app?host=/var/run/postgresql')).toBe('/var/run/postgresql:5432/app');
  });

  it.each([
    ['a # left unencoded in the password', 'mysql2', 'mysql://root:p#ss@127.0.0.1:3399/app', 'p#ss', 'mysql://***@127.0.0.1:3399/app'],
    ['a / and an @ left unencoded in the password', 'mysql2', 'mysql://root:p/s@ss@127.0.0.1:3399/app', 'p/s@ss', 'mysql://***@127.0.0.1:3399/app'],
    ['user info with an empty host', 'pg', 'postgres://u:pw@/app?host=/sock', 'pw', 'postgres://***@/app?host=/sock'],
    ['a password parameter', 'pg', 'postgres://db:port/app?password=hunter2', 'hunter2', 'postgres://db:port/app?password=***'],
  ] as const)('masks the user info of a URL that does not parse (%s)', (_what, client, url, secret, shown) => {
    expect(() => new URL(url)).toThrow();
    const described = dialect.describeTarget(client, url);
    expect(described).not.toContain(secret);
    expect(described).toBe(shown);
    expect(dialect.describeTarget(client, { connectionString: url } as never)).toBe(shown);
  });
});
