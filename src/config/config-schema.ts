import type { Knex } from 'knex';
import type { DependencyContainer } from 'tsyringe';
import * as z from 'zod';

import type { DatabaseClient, ErrandConfig } from './config-types.js';

// The shape of errand.config.*: which keys exist at each level and the kind of each value, so a
// typo is named instead of ignored (decision 0045). Each schema's `error` is what the value must
// be, worded for "<option> must be <error>, got <value>". Values whose rules need other values
// or the environment (bounds, table names, which connections exist, keys) are checked by
// resolveConfig, which runs after this.

const string = (error: string) => z.string({ error });
const number = (error: string) => z.number({ error });
const boolean = z.boolean({ error: 'true or false' });
const tableName = string('a table name');
const connectionName = string('the name of a connection in `connections`');
const isObject = (value: unknown): value is object =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
const strict = <Shape extends z.ZodRawShape>(title: string, error: string, shape: Shape) =>
  z.strictObject(shape, { error }).describe(title);

const heartbeat = strict('`heartbeat`', 'false or { interval, lapse }', {
  interval: number('a number of seconds > 0').optional(),
  lapse: number('a whole number of seconds greater than heartbeat.interval').optional(),
});

/** A `database` connection's options (exported so a misplaced one can be pointed to its place). */
export const databaseConnectionSchema = strict('A database connection', 'an object with a `driver`', {
  driver: z.literal('database'),
  // Which names are clients (aliases included) is resolveConfig's to say, with the list.
  client: z
    .custom<DatabaseClient>((value) => typeof value === 'string', {
      error: 'a client name: better-sqlite3, mysql2 or pg',
    })
    .optional(),
  connection: z
    .custom<string | Knex.StaticConnectionConfig>((value) => typeof value === 'string' || isObject(value), {
      error: 'a URL, an SQLite file name or a knex connection object',
    })
    .optional(),
  table: tableName.optional(),
  queue: string('a queue name').optional(),
  retryAfter: number('a whole number of seconds from 1 to 2147483647').optional(),
  pool: strict('`pool`', 'an object { min?, max? }', {
    min: number('a number of connections').optional(),
    max: number('a number of connections').optional(),
  }).optional(),
  queryTimeout: z
    .union([z.number(), z.literal(false)], { error: 'a number of seconds ≥ 0 (0 or false: no limit)' })
    .optional(),
  heartbeat: z.union([z.literal(false), heartbeat], { error: 'false or { interval, lapse }' }).optional(),
  workersTable: tableName.optional(),
  controlsTable: tableName.optional(),
  afterCommit: boolean.optional(),
});

/** A `redis` connection's options. */
export const redisConnectionSchema = strict('A redis connection', 'an object with a `driver`', {
  driver: z.literal('redis'),
  url: string('a URL such as redis://127.0.0.1:6379 (rediss:// for TLS)').optional(),
  host: string('a host name or address').optional(),
  port: number('a port number from 1 to 65535').optional(),
  username: string('a user name').optional(),
  password: string('a password').optional(),
  db: number('a database number ≥ 0').optional(),
  tls: z
    .union([z.boolean(), z.record(z.string(), z.unknown())], {
      error: 'true, false or an object of node:tls options',
    })
    .optional(),
  cluster: z
    .union(
      [
        z.boolean(),
        strict('`cluster`', 'an object { nodes }', {
          nodes: z.array(string('a node URL such as redis://127.0.0.1:7000'), {
            error: 'a list of node URLs such as redis://127.0.0.1:7000',
          }),
        }),
      ],
      { error: 'true, false or { nodes: [node URLs] }' },
    )
    .optional(),
  prefix: string('a key prefix such as errand:').optional(),
  queue: string('a queue name').optional(),
  blockFor: number('a number of seconds > 0').optional(),
  retryAfter: number('a whole number of seconds from 1 to 2147483647').optional(),
  heartbeat: z.union([z.literal(false), heartbeat], { error: 'false or { interval, lapse }' }).optional(),
  migrationBatchSize: number('a whole number ≥ 1').optional(),
  afterCommit: boolean.optional(),
  allowEviction: boolean.optional(),
});

const syncConnection = strict('A sync connection', 'an object with a `driver`', {
  driver: z.literal('sync'),
  afterCommit: boolean.optional(),
});

const nullConnection = strict('A null connection', 'an object with a `driver`', { driver: z.literal('null') });

const tableHome = (title: string) =>
  strict(title, 'an object { connection?, table? }', {
    connection: connectionName.optional(),
    table: tableName.optional(),
  }).optional();

const paths = (error: string) =>
  z.union([string(error), z.array(string(error))], { error: `${error}, or a list of them` });

/** The schema of what `errand.config.*` exports: the same type as `ErrandConfig` (checked below). */
export const errandConfigSchema = strict('The configuration', 'an object (use defineConfig({...}))', {
  default: connectionName.optional(),
  connections: z
    .record(
      z.string(),
      z.discriminatedUnion(
        'driver',
        [databaseConnectionSchema, redisConnectionSchema, syncConnection, nullConnection],
        {
          error: 'an object with a `driver`',
        },
      ),
      {
        error: "an object of named connections, such as { database: { driver: 'database' } }",
      },
    )
    .optional(),
  failed: z
    .discriminatedUnion(
      'driver',
      [
        strict('`failed`', "an object { driver: 'database' | 'null', connection?, table? }", {
          driver: z.literal('database'),
          connection: connectionName.optional(),
          table: tableName.optional(),
        }),
        strict('`failed`', "an object { driver: 'database' | 'null' }", { driver: z.literal('null') }),
      ],
      { error: "an object { driver: 'database' | 'null', connection?, table? }" },
    )
    .optional(),
  locks: tableHome('`locks`'),
  rateLimits: tableHome('`rateLimits`'),
  batching: tableHome('`batching`'),
  metrics: strict('`metrics`', 'an object { enabled?, retention?, table?, depth? }', {
    enabled: boolean.optional(),
    retention: number('a whole number of hours ≥ 1').optional(),
    table: tableName.optional(),
    depth: strict('`metrics.depth`', 'an object { interval?, cap? }', {
      interval: number('a number of seconds from 1 to 86400').optional(),
      cap: number('a whole number ≥ 1').optional(),
    }).optional(),
  }).optional(),
  tracing: strict('`tracing`', "an object { enabled?, propagation?: 'link' | 'parent' | 'parent-first-attempt' }", {
    enabled: boolean.optional(),
    propagation: z
      .enum(['link', 'parent', 'parent-first-attempt'], { error: "'link', 'parent' or 'parent-first-attempt'" })
      .optional(),
  }).optional(),
  bootstrap: paths('a module, a directory or a glob').optional(),
  listeners: paths('a module, a directory or a glob').optional(),
  maxPayloadSize: number('a whole number of bytes ≥ 256').optional(),
  key: string('a key written as base64:… (`errand key:generate` prints one)').optional(),
  previousKeys: z
    .array(string('a key written as base64:…'), {
      error: 'a list of keys (leave it out to read ERRAND_PREVIOUS_KEYS, comma-separated)',
    })
    .optional(),
  container: z
    .custom<DependencyContainer>(
      (value) =>
        isObject(value) &&
        typeof (value as DependencyContainer).resolve === 'function' &&
        typeof (value as DependencyContainer).createChildContainer === 'function',
      {
        error: 'a tsyringe DependencyContainer (e.g. container.createChildContainer())',
      },
    )
    .optional(),
  report: z
    .custom<(error: unknown) => void>((value) => typeof value === 'function', { error: 'a function (error) => void' })
    .optional(),
  paths: strict('`paths`', "an object such as { jobs: 'src/jobs', listeners: 'src/listeners', events: 'src/events' }", {
    jobs: string('a directory path').optional(),
    listeners: string('a directory path').optional(),
    events: string('a directory path').optional(),
    middleware: string('a directory path').optional(),
  }).optional(),
  api: strict('`api`', 'an object such as { tokens: [process.env.PUSH_TOKEN], maxBodySize: 1048576 }', {
    tokens: z
      .array(string('a token of at least 16 characters'), {
        error: 'a list of tokens (leave it out to read ERRAND_API_TOKENS, comma-separated)',
      })
      .optional(),
    signingKeys: z
      .array(string('a key of at least 16 characters'), {
        error: 'a list of keys (leave it out to read ERRAND_API_SIGNING_KEYS, comma-separated)',
      })
      .optional(),
    maxBodySize: number('a whole number of bytes ≥ 256').optional(),
    replayWindow: number('a whole number of seconds ≥ 1').optional(),
    idempotencyWindow: number('a whole number of seconds ≥ 1').optional(),
    jobs: z.array(string('a registered job name'), { error: 'a list of registered job names' }).optional(),
  }).optional(),
});

// The schema accepts exactly what the documented types do: a key added to one and not the other
// fails the type check here.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameAsTheTypes: Same<z.input<typeof errandConfigSchema>, ErrandConfig> = true;
void sameAsTheTypes;
