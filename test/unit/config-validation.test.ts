import { describe, expect, it } from 'vitest';

import { resolveConfig } from '../../src/config/resolve-config.js';
import { ConfigError } from '../../src/errors/config-error.js';

const SOURCE = '/app/errand.config.js';
const resolve = (config: unknown) => resolveConfig(config as never, { baseDir: '/app', env: {}, source: SOURCE });
const problem = (config: unknown): string => {
  try {
    resolve(config);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`${JSON.stringify(config)} was accepted`);
};
const database = (options: Record<string, unknown>) => ({
  connections: { database: { driver: 'database', ...options } },
});

describe('unknown configuration keys', () => {
  it('names a top-level typo, the file and the key it meant', () => {
    expect(
      problem({ conections: { database: { driver: 'database', client: 'pg', connection: 'postgres://db/app' } } }),
    ).toBe(
      `Unknown key \`conections\` in ${SOURCE}: did you mean \`connections\`? The configuration takes: default, connections, failed, locks, ` +
        'rateLimits, batching, metrics, tracing, bootstrap, listeners, maxPayloadSize, key, previousKeys, container, report, paths, api.',
    );
  });

  it('names a typo inside a connection with its path, by the keys of that driver', () => {
    expect(problem(database({ clinet: 'pg', connection: 'postgres://db/app' }))).toBe(
      `Unknown key \`connections.database.clinet\` in ${SOURCE}: did you mean \`client\`? A database connection takes: driver, client, ` +
        'connection, table, queue, retryAfter, pool, queryTimeout, heartbeat, workersTable, controlsTable, afterCommit.',
    );
    // A sync connection has no table: the list is the sync driver's.
    expect(problem({ connections: { inline: { driver: 'sync', table: 'jobs' } } })).toBe(
      `Unknown key \`connections.inline.table\` in ${SOURCE}. A sync connection takes: driver, afterCommit.`,
    );
    expect(problem({ connections: { off: { driver: 'null', afterCommit: true } } })).toContain(
      'Unknown key `connections.off.afterCommit`',
    );
    expect(problem({ connections: { 'my-db': { driver: 'database', tabel: 'jobs' } } })).toContain(
      'Unknown key `connections["my-db"].tabel`',
    );
  });

  it.each([
    [database({ heartbeat: { interval: 3, lapce: 15 } }), '`connections.database.heartbeat.lapce`', 'lapse'],
    [database({ pool: { min: 0, maxx: 4 } }), '`connections.database.pool.maxx`', 'max'],
    [database({ retry_after: 60 }), '`connections.database.retry_after`', 'retryAfter'],
    [database({ querytimeout: 5 }), '`connections.database.querytimeout`', 'queryTimeout'],
    [{ failed: { driver: 'database', tabel: 'failed' } }, '`failed.tabel`', 'table'],
    [{ locks: { conection: 'database' } }, '`locks.conection`', 'connection'],
    [{ rateLimits: { tables: 'limits' } }, '`rateLimits.tables`', 'table'],
    [{ batching: { connnection: 'database' } }, '`batching.connnection`', 'connection'],
    [{ paths: { job: 'app/jobs' } }, '`paths.job`', 'jobs'],
    [{ bootstrapp: './jobs.js' }, '`bootstrapp`', 'bootstrap'],
    [{ defualt: 'database' }, '`defualt`', 'default'],
  ])('names %j at every level, with the key it meant', (config, key, meant) => {
    expect(problem(config)).toContain(`Unknown key ${key} in ${SOURCE}: did you mean \`${meant}\`?`);
  });

  it('names every unknown key at once, and says where a connection option belongs', () => {
    const message = problem({
      ...database({ tabel: 'jobs', clinet: 'pg', heartbeat: { intervall: 3 } }),
      client: 'pg',
    });
    const lines = message.split('\n');
    // Outer keys first, each object's in the order written.
    expect(lines.map((line) => /^Unknown key `([^`]+)`/.exec(line)?.[1])).toEqual([
      'client',
      'connections.database.tabel',
      'connections.database.clinet',
      'connections.database.heartbeat.intervall',
    ]);
    expect(lines[0]).toBe(
      `Unknown key \`client\` in ${SOURCE}: \`client\` is an option of a connection; put it inside one, e.g. \`connections.database.client\`.`,
    );
  });

  it("leaves `pool` to min and max: knex's other pool options are errand's to set", () => {
    expect(problem(database({ pool: { max: 4, idleTimeoutMillis: 1000 } }))).toBe(
      `Unknown key \`connections.database.pool.idleTimeoutMillis\` in ${SOURCE}. \`pool\` takes: min, max.`,
    );
  });

  it("points knex's connection settings written beside `client` into `connection`, not to a look-alike", () => {
    const message = problem(
      database({
        client: 'pg',
        host: 'db.internal',
        port: 5432,
        user: 'app',
        password: 's3cret',
        ssl: true,
        database: 'app',
        connectionString: 'postgres://db/app',
      }),
    );
    const lines = message.split('\n');
    expect(lines).toHaveLength(7);
    expect(lines[1]).toBe(
      `Unknown key \`connections.database.port\` in ${SOURCE}: \`port\` is a setting of knex's connection object; put it inside \`connection\`: \`connections.database.connection.port\` (or make \`connection\` a URL).`,
    );
    for (const [i, key] of ['host', 'port', 'user', 'password', 'ssl', 'database', 'connectionString'].entries()) {
      expect(lines[i], key).toContain(`put it inside \`connection\`: \`connections.database.connection.${key}\``);
    }
    expect(problem({ connections: { 'my-db': { driver: 'database', filename: 'q.sqlite' } } })).toContain(
      '`connections["my-db"].connection.filename`',
    );
  });

  it('says where a key written at the top belongs before guessing a look-alike', () => {
    expect(problem({ connection: 'postgres://db/app' })).toBe(
      `Unknown key \`connection\` in ${SOURCE}: \`connection\` is an option of a connection; put it inside one, e.g. \`connections.database.connection\`.`,
    );
    // Holding named connections, it is `connections` mistyped.
    expect(problem({ connection: { database: { driver: 'database' } } })).toBe(
      `Unknown key \`connection\` in ${SOURCE}: did you mean \`connections\`? It holds named connections, such as { database: { driver: 'database' } }.`,
    );
    expect(problem({ port: 5432 })).toBe(
      `Unknown key \`port\` in ${SOURCE}: \`port\` is a setting of knex's connection object; put it inside a connection's \`connection\`, e.g. \`connections.database.connection.port\`.`,
    );
    expect(problem({ database: { driver: 'database', client: 'pg' } })).toBe(
      `Unknown key \`database\` in ${SOURCE}: it has a \`driver\`, as a connection does; put it inside \`connections\`: \`connections.database\`.`,
    );
  });

  it('names a value of the wrong kind and a missing driver, and takes a tsyringe container and a report function', async () => {
    expect(problem({ report: 'console.log' })).toBe(
      `\`report\` in ${SOURCE} must be a function (error) => void, got "console.log".`,
    );
    expect(problem(database({ pool: { max: '10' } }))).toBe(
      `Queue connection [database] in ${SOURCE}: pool.max must be a number of connections, got "10".`,
    );
    expect(problem({ connections: { database: { client: 'pg' } } })).toBe(
      `Queue connection [database] in ${SOURCE} needs a \`driver\`: one of database, redis, sync, null.`,
    );
    const { container } = await import('tsyringe');
    const child = container.createChildContainer();
    const report = (error: unknown) => void error;
    const config = resolve({ container: child, report });
    expect(config.container).toBe(child);
    expect(config.report).toBe(report);
  });
});

describe('null', () => {
  it('means the default for every option, as leaving it out does', () => {
    const connection = { host: 'db.internal', user: 'app', password: null };
    const config = resolve({
      default: null,
      connections: {
        database: {
          driver: 'database',
          client: null,
          connection: null,
          table: null,
          queue: null,
          retryAfter: null,
          queryTimeout: null,
          heartbeat: { interval: 3, lapse: null },
          pool: null,
          afterCommit: null,
        },
        reports: { driver: 'database', client: 'pg', connection, heartbeat: null, pool: { min: null, max: 4 } },
        inline: { driver: 'sync', afterCommit: null },
      },
      failed: { driver: 'database', connection: null, table: null },
      locks: { table: null },
      rateLimits: null,
      batching: { connection: null },
      bootstrap: null,
      listeners: null,
      maxPayloadSize: null,
      key: null,
      previousKeys: null,
      container: null,
      report: null,
      paths: { jobs: null },
    });
    expect(config.default).toBe('database');
    const defaults = resolve(database({})).connections.database;
    expect(defaults).toMatchObject({
      table: 'jobs',
      queue: 'default',
      retryAfter: 90,
      queryTimeout: 30,
      heartbeat: { interval: 3, lapse: 15 },
    });
    expect(config.connections.database).toEqual(defaults);
    // A knex connection object is the app's: its values go to the driver as they are.
    expect(config.connections.reports).toMatchObject({
      connection,
      heartbeat: { interval: 3, lapse: 15 },
      pool: { max: 4 },
    });
    expect(config.connections.inline).toEqual({ driver: 'sync' });
    expect(config.failed).toEqual({ driver: 'database', connection: 'database', table: 'failed_jobs' });
    expect(config.locks).toEqual({ connection: 'database', table: 'locks' });
    expect(config.rateLimits).toEqual({ connection: 'database', table: 'rate_limits' });
    expect(config.bootstrap).toEqual([]);
    expect(config.paths.jobs).toBe('/app/src/jobs');
  });

  it('is still refused inside a list, with its index', () => {
    expect(problem({ bootstrap: ['./dist/jobs', null] })).toBe(
      `\`bootstrap[1]\` in ${SOURCE} must be a module, a directory or a glob, got null.`,
    );
  });
});

describe('a value inside a union of kinds', () => {
  it.each([
    [
      database({ heartbeat: { interval: 'x' } }),
      `Queue connection [database] in ${SOURCE}: heartbeat.interval must be a number of seconds > 0, got "x".`,
    ],
    [
      database({ heartbeat: { interval: 3, lapse: '15' } }),
      `Queue connection [database] in ${SOURCE}: heartbeat.lapse must be a whole number of seconds greater than heartbeat.interval, got "15".`,
    ],
    [
      database({ heartbeat: true }),
      `Queue connection [database] in ${SOURCE}: heartbeat must be false or { interval, lapse }, got true.`,
    ],
    [
      { bootstrap: ['./dist/jobs', 5] },
      `\`bootstrap[1]\` in ${SOURCE} must be a module, a directory or a glob, got 5.`,
    ],
    [
      { listeners: ['./a.js', './b.js', { path: './c.js' }] },
      `\`listeners[2]\` in ${SOURCE} must be a module, a directory or a glob, got an object { path }.`,
    ],
    [{ bootstrap: 5 }, `\`bootstrap\` in ${SOURCE} must be a module, a directory or a glob, or a list of them, got 5.`],
  ])('names the option inside %j that is wrong, with its index', (config, message) => {
    expect(problem(config)).toBe(message);
  });

  it('names an unknown key inside a union first, as everywhere', () => {
    expect(problem(database({ heartbeat: { lapce: 15, interval: 'x' } }))).toContain(
      'Unknown key `connections.database.heartbeat.lapce`',
    );
  });
});

describe('the client from the connection URL', () => {
  it.each([
    ['postgres://u@db.internal/app', 'pg'],
    ['postgresql://u@db.internal/app', 'pg'],
    ['POSTGRES://u@db.internal/app', 'pg'],
    ['mysql://root@127.0.0.1:3306/app', 'mysql2'],
    ['mariadb://root@127.0.0.1:3306/app', 'mysql2'],
  ])('takes %s without `client` as %s', (url, client) => {
    expect(resolve(database({ connection: url })).connections.database).toMatchObject({ client, connection: url });
  });

  it('takes file: and sqlite: as SQLite, and any other string as an SQLite file name (the zero-config default)', () => {
    const file = (connection: string) => resolve(database({ connection })).connections.database;
    expect(file('file:data/q.sqlite')).toMatchObject({
      client: 'better-sqlite3',
      connection: { filename: '/app/data/q.sqlite' },
    });
    expect(file('sqlite:///var/q.sqlite')).toMatchObject({
      client: 'better-sqlite3',
      connection: { filename: '/var/q.sqlite' },
    });
    expect(file('sqlite::memory:')).toMatchObject({ client: 'better-sqlite3', connection: { filename: ':memory:' } });
    expect(file('data/q.sqlite')).toMatchObject({
      client: 'better-sqlite3',
      connection: { filename: '/app/data/q.sqlite' },
    });
    expect(file('q.sqlite')).toMatchObject({ client: 'better-sqlite3', connection: { filename: '/app/q.sqlite' } });
  });

  it('reads a file:// URL as Node reads file URLs, and file: or sqlite: before a path as SQLite does', () => {
    const filename = (connection: string) =>
      (resolve(database({ connection })).connections.database as { connection: { filename: string } }).connection
        .filename;
    expect(filename('file:///tmp/x.sqlite')).toBe('/tmp/x.sqlite');
    expect(filename('file:///tmp/my%20queue.sqlite')).toBe('/tmp/my queue.sqlite');
    expect(filename('file://localhost/tmp/x.sqlite')).toBe('/tmp/x.sqlite');
    expect(filename('file:./x.sqlite')).toBe('/app/x.sqlite');
    expect(filename('sqlite:x.sqlite')).toBe('/app/x.sqlite');
    // Node's reason names the platform ("… or empty on linux").
    expect(problem(database({ connection: 'file://db.internal/x.sqlite' }))).toMatch(
      /^Queue connection \[database\] in \/app\/errand\.config\.js: the SQLite file URL \[file:\/\/db\.internal\/x\.sqlite\] is not a local file: File URL host must be .+\. Write file:\/\/\/absolute\/path, or file:relative\/path\.$/,
    );
  });

  it.each([
    [
      { client: 'pg', connection: 'mysql://root@db/app' },
      "client [pg] does not match the connection URL's scheme [mysql:], which is for mysql2.",
    ],
    [
      { client: 'better-sqlite3', connection: 'postgres://u@db/app' },
      "client [better-sqlite3] does not match the connection URL's scheme [postgres:], which is for pg.",
    ],
    [
      { client: 'mysql', connection: 'file:q.sqlite' },
      "client [mysql] does not match the connection URL's scheme [file:], which is for better-sqlite3.",
    ],
    [
      { client: 'mysql2', connection: 'postgresql://u@db/app' },
      "client [mysql2] does not match the connection URL's scheme [postgresql:], which is for pg.",
    ],
    [
      { client: 'better-sqlite3', connection: 'redis://cache/0' },
      "client [better-sqlite3] does not match the connection URL's scheme [redis:].",
    ],
  ])('refuses %j naming the connection, the client and the scheme', (options, message) => {
    expect(problem(database(options))).toBe(
      `Queue connection [database] in ${SOURCE}: ${message} Remove \`client\` to take it from the URL, or correct one of the two.`,
    );
  });

  it('refuses a URL it cannot take a client from, and a server connection object with no client', () => {
    expect(problem(database({ connection: 'redis://cache/0' }))).toBe(
      `Queue connection [database] in ${SOURCE}: the connection URL's scheme [redis:] names no client errand supports; ` +
        'use postgres:// or postgresql:// (pg), mysql:// or mariadb:// (mysql2), file: or sqlite: (better-sqlite3), or an SQLite file name.',
    );
    expect(problem(database({ connection: { host: 'db.internal', user: 'app' } }))).toBe(
      `Queue connection [database] in ${SOURCE}: a connection object without \`filename\` needs \`client\` (mysql2 or pg); better-sqlite3, the default, takes a file name.`,
    );
  });
});

describe('errors never print a secret', () => {
  const KEY = `base64:${Buffer.alloc(32, 7).toString('base64')}`;

  it.each([
    [
      { previousKeys: `${KEY},${KEY}` },
      '`previousKeys` in /app/errand.config.js must be a list of keys (leave it out to read ERRAND_PREVIOUS_KEYS, comma-separated), got a string (not shown: it may be a secret).',
    ],
    [
      { key: { value: KEY } },
      '`key` in /app/errand.config.js must be a key written as base64:… (`errand key:generate` prints one), got an object (not shown: it may be a secret).',
    ],
    [
      { key: [KEY] },
      '`key` in /app/errand.config.js must be a key written as base64:… (`errand key:generate` prints one), got a list (not shown: it may be a secret).',
    ],
    [
      { previousKeys: [[KEY]] },
      '`previousKeys[0]` in /app/errand.config.js must be a key written as base64:…, got a list (not shown: it may be a secret).',
    ],
    [
      { key: 1234 },
      '`key` in /app/errand.config.js must be a key written as base64:… (`errand key:generate` prints one), got a number (not shown: it may be a secret).',
    ],
    [
      { previousKeys: [KEY, 7] },
      '`previousKeys[1]` in /app/errand.config.js must be a key written as base64:…, got a number (not shown: it may be a secret).',
    ],
  ])('names the kind of %j, never its value', (config, message) => {
    expect(problem(config)).toBe(message);
  });

  it('quotes a URL or connection string without its user info and password', () => {
    expect(problem({ connections: { database: 'postgres://app:s3cret@db.internal:5432/app' } })).toBe(
      `Queue connection [database] in ${SOURCE} must be an object with a \`driver\`, got "postgres://***@db.internal:5432/app".`,
    );
    expect(problem({ connections: { database: 'host=db.internal user=app password=s3cret' } })).toContain(
      'got "host=db.internal user=app password=***".',
    );
    expect(problem({ connections: 'mysql://root:s3cret@db/app?sslpassword=hush' })).toContain(
      'got "mysql://***@db/app?sslpassword=***".',
    );
  });

  it('shows an object by its kind and key names, never its values', () => {
    expect(problem({ failed: { driver: 'database', connection: { host: 'db.internal', password: 's3cret' } } })).toBe(
      `\`failed.connection\` in ${SOURCE} must be the name of a connection in \`connections\`, got an object { host, password }.`,
    );
    expect(problem({ bootstrap: new Map([['token', 's3cret']]) })).toContain('got a Map {}.');
  });

  it('strips credentials from a URL given where a name belongs', () => {
    expect(problem(database({ client: 'postgres://app:s3cret@db/app' }))).toBe(
      `Queue connection [database] in ${SOURCE} has unsupported client [postgres://***@db/app]; use one of better-sqlite3, mysql2, pg.`,
    );
    expect(problem({ default: 'postgres://app:s3cret@db/app' })).toBe(
      `Queue connection [postgres://***@db/app] named by \`default\` in ${SOURCE} is not defined. Defined connections: database, sync, null.`,
    );
    expect(problem({ locks: { connection: 'mysql://root:s3cret@db/app' } })).toContain(
      'names [mysql://***@db/app], which is not defined.',
    );
    expect(problem(database({ table: 'postgres://app:s3cret@db/app' }))).toContain(
      'table [postgres://***@db/app] is not a valid table name.',
    );
    expect(problem(database({ queue: 'a,postgres://app:s3cret@db/x' }))).toContain(
      'queue [a,postgres://***@db/x] must be',
    );
    expect(problem({ failed: { driver: 'database', table: 'mysql://root:s3cret@db/app' } })).toContain(
      '[mysql://***@db/app] is not a valid table name.',
    );
    expect(problem({ locks: { table: 'mysql://root:s3cret@db/app' } })).toContain(
      '[mysql://***@db/app] is not a valid table name.',
    );
  });
});
