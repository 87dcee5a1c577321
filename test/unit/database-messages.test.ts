import { describe, expect, it } from 'vitest';

import { dialect } from '../../src/drivers/database/dialect.js';

/* What errand's database errors say: where the connection points (never with a password), and what to check. */

describe('dialect.describeTarget', () => {
  it('names host:port/database for URLs and objects, and the file for SQLite', () => {
    expect(dialect.describeTarget('mysql2', 'mysql://root:secret@db.internal:3399/app')).toBe('db.internal:3399/app');
    expect(dialect.describeTarget('pg', 'postgres://u:secret@127.0.0.1/app')).toBe('127.0.0.1:5432/app');
    expect(dialect.describeTarget('pg', { host: 'db', user: 'u', password: 'secret', database: 'app' })).toBe(
      'db:5432/app',
    );
    expect(dialect.describeTarget('better-sqlite3', { filename: '/var/app/queue.sqlite' })).toBe(
      '/var/app/queue.sqlite',
    );
  });

  it('names the socket directory pg takes from ?host= when the URL has no host', () => {
    expect(dialect.describeTarget('pg', 'postgres:///app?host=/var/run/postgresql')).toBe(
      '/var/run/postgresql:5432/app',
    );
  });

  it.each([
    [
      'a # left unencoded in the password',
      'mysql2',
      'mysql://root:p#ss@127.0.0.1:3399/app',
      'p#ss',
      'mysql://***@127.0.0.1:3399/app',
    ],
    [
      'a / and an @ left unencoded in the password',
      'mysql2',
      'mysql://root:p/s@ss@127.0.0.1:3399/app',
      'p/s@ss',
      'mysql://***@127.0.0.1:3399/app',
    ],
    ['user info with an empty host', 'pg', 'postgres://u:pw@/app?host=/sock', 'pw', 'postgres://***@/app?host=/sock'],
    [
      'a password parameter',
      'pg',
      'postgres://db:port/app?password=hunter2',
      'hunter2',
      'postgres://db:port/app?password=***',
    ],
  ] as const)('masks the user info of a URL that does not parse (%s)', (_what, client, url, secret, shown) => {
    expect(() => new URL(url)).toThrow();
    const described = dialect.describeTarget(client, url);
    expect(described).not.toContain(secret);
    expect(described).toBe(shown);
    expect(dialect.describeTarget(client, { connectionString: url } as never)).toBe(shown);
  });
});

describe('dialect.connectionErrorHint', () => {
  const firewall = 'The server did not answer: check the host, the port and any firewall between.';

  it("gives errand's own statement timeout (queryTimeout) its own hint, not the network one, also when wrapped", () => {
    const timeout = dialect.statementTimeoutError('db:5432/app', 30);
    expect(timeout.code).toBe('ETIMEDOUT');
    expect(dialect.isConnectionError(timeout)).toBe(true);
    const hint = dialect.connectionErrorHint(timeout);
    expect(hint).toBe(
      'The statement was sent but no answer came in time: a slow statement or one waiting on a lock, or a connection that died mid-statement. ' +
        "If statements may rightly take that long, raise the connection's queryTimeout (seconds; 0 turns the limit off).",
    );
    expect(dialect.connectionErrorHint(new Error('insert failed', { cause: timeout }))).toBe(hint);
  });

  it("keeps the network hint for a driver's ETIMEDOUT (a connect that got no answer)", () => {
    expect(
      dialect.connectionErrorHint(Object.assign(new Error('connect ETIMEDOUT 10.0.0.9:5432'), { code: 'ETIMEDOUT' })),
    ).toBe(firewall);
  });
});
