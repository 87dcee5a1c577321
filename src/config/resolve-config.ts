import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { ConfigError } from '../errors/config-error.js';
import { Keyring, parseKey } from '../payload/keyring.js';
import { MAX_TIMER_SECONDS, numberProblem } from '../runtime/numeric-bounds.js';
import { withoutCredentials } from '../runtime/without-credentials.js';
import { checkConfigShape } from './check-config-shape.js';
import { CLIENT_OF_SCHEME, describeSchemes, urlScheme } from './client-from-url.js';
import type {
  ConnectionConfig,
  DatabaseClient,
  DatabaseConnectionConfig,
  ErrandConfig,
  MetricsConfig,
  ResolvedConfig,
  ResolvedConnection,
} from './config-types.js';
import {
  DATABASE_DEFAULTS,
  DEFAULT_CONFIG,
  DEFAULT_DEPTH_CAP,
  DEFAULT_DEPTH_INTERVAL_SECONDS,
  DEFAULT_LOCKS_TABLE,
  DEFAULT_MAX_PAYLOAD_SIZE,
  DEFAULT_METRICS_RETENTION_HOURS,
  DEFAULT_METRICS_TABLE,
  DEFAULT_RATE_LIMITS_TABLE,
  DEFAULT_SQLITE_FILE,
  MAX_DEPTH_INTERVAL_SECONDS,
} from './defaults.js';
import { ownProperty } from './own-property.js';
import { resolveApi } from './resolve-api.js';
import { resolveGeneratorPaths } from './resolve-generator-paths.js';
import { resolveHeartbeat } from './resolve-heartbeat.js';
import { resolveRedisConnection } from './resolve-redis-connection.js';
import { defaultDatabaseConnection, resolveTableHome } from './resolve-table-home.js';
import { withoutNulls } from './without-nulls.js';

const CLIENTS: DatabaseClient[] = ['better-sqlite3', 'mysql2', 'pg'];
const CLIENT_ALIASES: Record<string, DatabaseClient> = {
  sqlite: 'better-sqlite3',
  sqlite3: 'better-sqlite3',
  mysql: 'mysql2',
  mariadb: 'mysql2',
  postgres: 'pg',
  postgresql: 'pg',
};
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;
/** The drivers whose connections can keep locks and rate-limit counters every process shares. */
const SHARED_STORE_DRIVERS = ['database', 'redis'] as const;

/**
 * Checks the configuration's keys and kinds of value against its schema (an unknown key is an
 * error naming the closest known one), fills in defaults, applies `QUEUE_CONNECTION`, and checks
 * every value, so that a mistake is reported at boot with the name of the connection and option
 * at fault.
 */
export function resolveConfig(
  config: ErrandConfig = DEFAULT_CONFIG,
  options: { baseDir?: string; env?: NodeJS.ProcessEnv; source?: string } = {},
): ResolvedConfig {
  const baseDir = options.baseDir ?? process.cwd();
  const env = options.env ?? process.env;
  const where = options.source ? ` in ${options.source}` : '';
  if (config === null || typeof config !== 'object') {
    throw new ConfigError(`The errand configuration${where} must be an object (use defineConfig({...})).`);
  }
  config = withoutNulls(config);
  checkConfigShape(config, where);
  const rawConnections = config.connections ?? DEFAULT_CONFIG.connections!;
  // No prototype: a connection may be named `constructor` or `__proto__` and is then just a name.
  const connections: Record<string, ResolvedConnection> = Object.create(null) as Record<string, ResolvedConnection>;
  for (const [name, raw] of Object.entries(rawConnections)) {
    connections[name] = resolveConnection(name, raw, baseDir, where, env);
  }
  const names = Object.keys(connections);
  const fromEnv = env.QUEUE_CONNECTION?.trim();
  const defaultName = fromEnv || config.default || (names.includes('database') ? 'database' : names[0]);
  if (!defaultName || !ownProperty(connections, defaultName)) {
    const origin = fromEnv ? 'QUEUE_CONNECTION' : '`default`';
    throw new ConfigError(
      `Queue connection [${withoutCredentials(defaultName ?? '')}] named by ${origin}${where} is not defined. ` +
        `Defined connections: ${names.join(', ') || '(none)'}.`,
    );
  }
  return {
    default: defaultName,
    connections,
    failed: resolveFailed(config, connections, defaultName, where),
    // No database or redis connection at all: locks live in the process's memory, and RateLimited says it needs one.
    locks: resolveTableHome(
      'locks',
      config.locks,
      { table: DEFAULT_LOCKS_TABLE, purpose: 'locks', drivers: SHARED_STORE_DRIVERS },
      connections,
      defaultName,
      where,
    ),
    rateLimits: resolveTableHome(
      'rateLimits',
      config.rateLimits,
      { table: DEFAULT_RATE_LIMITS_TABLE, purpose: 'rate limits', drivers: SHARED_STORE_DRIVERS },
      connections,
      defaultName,
      where,
    ),
    bootstrap: toArray(config.bootstrap).map((entry, i) => {
      if (entry === '') {
        throw new ConfigError(
          `bootstrap[${i}]${where} must be a module, a directory or a glob, got ${JSON.stringify(entry)}.`,
        );
      }
      return path.resolve(baseDir, entry);
    }),
    listeners: toArray(config.listeners).map((entry, i) => {
      if (entry === '') {
        throw new ConfigError(
          `listeners[${i}]${where} must be a module, a directory or a glob, got ${JSON.stringify(entry)}.`,
        );
      }
      return path.resolve(baseDir, entry);
    }),
    report: config.report ?? defaultReport,
    maxPayloadSize: resolveMaxPayloadSize(config.maxPayloadSize, where),
    keyring: resolveKeyring(config, env, where),
    batching: resolveTableHome(
      'batching',
      config.batching,
      { table: 'job_batches', purpose: 'batches' },
      connections,
      defaultName,
      where,
    ),
    metrics: resolveMetrics(config.metrics, where),
    tracing: { enabled: config.tracing?.enabled ?? true, propagation: config.tracing?.propagation ?? 'link' },
    container: config.container,
    baseDir,
    ...(options.source === undefined ? {} : { source: options.source }),
    paths: resolveGeneratorPaths(config.paths, baseDir, where),
    api: resolveApi(config.api, env, where),
  };
}

function resolveConnection(
  name: string,
  raw: ConnectionConfig,
  baseDir: string,
  where: string,
  env: NodeJS.ProcessEnv,
): ResolvedConnection {
  const at = `Queue connection [${name}]${where}`;
  if (raw.driver === 'redis') return resolveRedisConnection(at, raw, env);
  if (raw.driver === 'sync') return raw.afterCommit ? { driver: 'sync', afterCommit: true } : { driver: 'sync' };
  if (raw.driver === 'null') return { driver: 'null' };

  const client = resolveClient(at, raw);
  const table = tableName(at, 'table', raw.table ?? DATABASE_DEFAULTS.table);
  const workersTable = tableName(at, 'workersTable', raw.workersTable ?? DATABASE_DEFAULTS.workersTable);
  const controlsTable = tableName(at, 'controlsTable', raw.controlsTable ?? DATABASE_DEFAULTS.controlsTable);
  const queue = raw.queue ?? DATABASE_DEFAULTS.queue;
  if (typeof queue !== 'string' || queue === '' || queue.includes(',')) {
    throw new ConfigError(
      `${at}: queue [${withoutCredentials(String(queue))}] must be a non-empty name without commas.`,
    );
  }
  const retryAfter = raw.retryAfter ?? DATABASE_DEFAULTS.retryAfter;
  // Subtracted from the database clock in every expiry check: bounded like every duration.
  const retryAfterProblem = numberProblem(retryAfter, { min: 1, whole: true });
  if (retryAfterProblem) throw new ConfigError(`${at}: retryAfter ${retryAfterProblem}.`);
  let connection = raw.connection;
  if (client === 'better-sqlite3') {
    const named =
      connection === undefined
        ? DEFAULT_SQLITE_FILE
        : typeof connection === 'string'
          ? connection
          : (connection as { filename?: string }).filename;
    const file = typeof named === 'string' ? sqliteFile(at, named) : named;
    if (typeof file !== 'string' || file === '')
      throw new ConfigError(`${at}: an SQLite connection needs a file name.`);
    connection = { filename: file === ':memory:' ? file : path.resolve(baseDir, file) };
  } else if (connection === undefined || connection === '') {
    throw new ConfigError(`${at}: client ${client} needs \`connection\` (a URL or a knex connection object).`);
  }
  const heartbeat = resolveHeartbeat(at, raw.heartbeat, retryAfter);
  const queryTimeout = raw.queryTimeout === false ? 0 : (raw.queryTimeout ?? DATABASE_DEFAULTS.queryTimeout);
  if (typeof queryTimeout !== 'number' || !Number.isFinite(queryTimeout) || queryTimeout < 0) {
    throw new ConfigError(
      `${at}: queryTimeout must be a number of seconds ≥ 0 (0 or false: no limit), got ${String(raw.queryTimeout)}.`,
    );
  }
  // Node's timers hold at most 2^31 − 1 ms and fire at once beyond it: every statement would fail.
  if (queryTimeout > MAX_TIMER_SECONDS) {
    throw new ConfigError(
      `${at}: queryTimeout must be at most ${MAX_TIMER_SECONDS} s (about 24 days; 0 or false: no limit), got ${queryTimeout}.`,
    );
  }
  const afterCommit = raw.afterCommit ?? false;
  return {
    driver: 'database',
    client,
    connection,
    table,
    queue,
    retryAfter,
    pool: raw.pool,
    queryTimeout,
    heartbeat,
    workersTable,
    controlsTable,
    afterCommit,
  };
}

/**
 * The file an SQLite connection string names. A `file://` URL is read as Node reads file URLs
 * (`file:///C:/q.sqlite` is `C:\q.sqlite` on Windows, `%20` a space, `file://localhost/…` the
 * local file); `file:` and `sqlite:` before a path, as SQLite writes them, are dropped
 * (`file:data/q.sqlite`, `sqlite::memory:`, and `sqlite:///var/q.sqlite` as before).
 */
function sqliteFile(at: string, connection: string): string {
  if (!/^file:\/\//i.test(connection)) return connection.replace(/^(sqlite|file):(\/\/)?/i, '');
  try {
    return fileURLToPath(connection);
  } catch (error) {
    throw new ConfigError(
      `${at}: the SQLite file URL [${withoutCredentials(connection)}] is not a local file: ${(error as Error).message}. Write file:///absolute/path, or file:relative/path.`,
    );
  }
}

/**
 * The connection's client: `client` (or an alias of one), else the one the connection URL's scheme
 * is for, else better-sqlite3 with the string as a file name. A URL whose scheme is for another
 * client than `client` is refused: the old reading (SQLite, a directory named after the URL) was
 * never what was meant.
 */
function resolveClient(at: string, raw: DatabaseConnectionConfig): DatabaseClient {
  const named =
    raw.client === undefined
      ? undefined
      : CLIENTS.includes(raw.client)
        ? raw.client
        : ownProperty(CLIENT_ALIASES, raw.client);
  if (raw.client !== undefined && named === undefined) {
    throw new ConfigError(
      `${at} has unsupported client [${withoutCredentials(String(raw.client))}]; use one of ${CLIENTS.join(', ')}.`,
    );
  }
  const scheme = typeof raw.connection === 'string' ? urlScheme(raw.connection) : undefined;
  if (scheme === undefined) {
    if (named === undefined && typeof raw.connection === 'object' && !('filename' in raw.connection)) {
      throw new ConfigError(
        `${at}: a connection object without \`filename\` needs \`client\` (mysql2 or pg); better-sqlite3, the default, takes a file name.`,
      );
    }
    return named ?? 'better-sqlite3';
  }
  const implied = ownProperty(CLIENT_OF_SCHEME, scheme);
  if (named === undefined) {
    if (implied === undefined) {
      throw new ConfigError(
        `${at}: the connection URL's scheme [${scheme}:] names no client errand supports; use ${describeSchemes()}, or an SQLite file name.`,
      );
    }
    return implied;
  }
  // pg and mysql2 read their own URL forms (pg's socket:…); only a known scheme can contradict them.
  if ((implied !== undefined && implied !== named) || (implied === undefined && named === 'better-sqlite3')) {
    throw new ConfigError(
      `${at}: client [${withoutCredentials(String(raw.client))}] does not match the connection URL's scheme [${scheme}:]` +
        `${implied ? `, which is for ${implied}` : ''}. Remove \`client\` to take it from the URL, or correct one of the two.`,
    );
  }
  return named;
}

function resolveMaxPayloadSize(value: number | undefined, where: string): number {
  if (value === undefined) return DEFAULT_MAX_PAYLOAD_SIZE;
  if (!Number.isInteger(value) || value < 256) {
    throw new ConfigError(`maxPayloadSize${where} must be a whole number of bytes ≥ 256, got ${String(value)}.`);
  }
  return value;
}

function resolveMetrics(metrics: MetricsConfig | undefined, where: string): ResolvedConfig['metrics'] {
  const retention = metrics?.retention ?? DEFAULT_METRICS_RETENTION_HOURS;
  if (!Number.isInteger(retention) || retention < 1 || retention > MAX_RETENTION_HOURS) {
    throw new ConfigError(
      `metrics.retention${where} must be a whole number of hours from 1 to ${MAX_RETENTION_HOURS}, got ${String(retention)}.`,
    );
  }
  const interval = metrics?.depth?.interval ?? DEFAULT_DEPTH_INTERVAL_SECONDS;
  if (!(Number.isFinite(interval) && interval >= 1 && interval <= MAX_DEPTH_INTERVAL_SECONDS)) {
    throw new ConfigError(
      `metrics.depth.interval${where} must be a number of seconds from 1 to ${MAX_DEPTH_INTERVAL_SECONDS} (a day), got ${String(interval)}.`,
    );
  }
  const cap = metrics?.depth?.cap ?? DEFAULT_DEPTH_CAP;
  if (!Number.isSafeInteger(cap) || cap < 1) {
    throw new ConfigError(`metrics.depth.cap${where} must be a whole number ≥ 1, got ${String(cap)}.`);
  }
  return {
    enabled: metrics?.enabled ?? true,
    retention,
    table: tableName(`metrics${where}`, 'table', metrics?.table ?? DEFAULT_METRICS_TABLE),
    depth: { interval, cap },
  };
}

/** Ten years: Redis keys' expiry and the rollup's bounds stay far inside safe integers. */
const MAX_RETENTION_HOURS = 87_600;

function tableName(at: string, option: string, value: string): string {
  if (typeof value !== 'string' || !IDENTIFIER.test(value)) {
    throw new ConfigError(`${at}: ${option} [${withoutCredentials(String(value))}] is not a valid table name.`);
  }
  return value;
}

function resolveFailed(
  config: ErrandConfig,
  connections: Record<string, ResolvedConnection>,
  defaultName: string,
  where: string,
): ResolvedConfig['failed'] {
  const failed = config.failed ?? DEFAULT_CONFIG.failed!;
  if (failed.driver === 'null') return { driver: 'null' };
  const table = failed.table ?? 'failed_jobs';
  if (!IDENTIFIER.test(table))
    throw new ConfigError(`failed.table${where}: [${withoutCredentials(table)}] is not a valid table name.`);
  let name = failed.connection;
  if (name === undefined) {
    // With a sync, null or redis default there may be no database at all; then failures are not stored.
    name = defaultDatabaseConnection(connections, defaultName);
    if (name === undefined) return { driver: 'null' };
  }
  if (ownProperty(connections, name)?.driver !== 'database') {
    throw new ConfigError(
      `failed.connection${where} names [${withoutCredentials(name)}], which is not a database queue connection.`,
    );
  }
  return { driver: 'database', connection: name, table };
}

function toArray(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function defaultReport(error: unknown): void {
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  console.error(`[errand] ${text}`);
}

function resolveKeyring(config: ErrandConfig, env: NodeJS.ProcessEnv, where: string): Keyring {
  const key = config.key ?? (env.ERRAND_KEY?.trim() || undefined);
  const origin = config.key === undefined ? 'ERRAND_KEY' : `\`key\`${where}`;
  const previous =
    config.previousKeys ??
    env.ERRAND_PREVIOUS_KEYS?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ??
    [];
  const previousOrigin = (i: number) =>
    config.previousKeys === undefined ? `ERRAND_PREVIOUS_KEYS[${i}]` : `\`previousKeys[${i}]\`${where}`;
  return new Keyring(
    key === undefined ? undefined : parseKey(key, origin),
    previous.map((value, i) => parseKey(value, previousOrigin(i))),
  );
}
