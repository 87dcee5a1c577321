import type { Knex } from 'knex';
import type { DependencyContainer } from 'tsyringe';
import type { Keyring } from '../payload/keyring.js';

/** The knex clients errand supports. */
export type DatabaseClient = 'better-sqlite3' | 'mysql2' | 'pg';

/** A queue connection storing jobs in a database table through knex. */
export interface DatabaseConnectionConfig {
  driver: 'database';
  /**
   * Default: the one `connection`'s URL is for (`postgres://`/`postgresql://` → `pg`,
   * `mysql://`/`mariadb://` → `mysql2`, `file:`/`sqlite:` → `better-sqlite3`), else
   * `better-sqlite3`. Given beside a URL of another client's scheme, it is refused.
   */
  client?: DatabaseClient;
  /**
   * A knex connection object or a URL (`mysql://…`, `postgres://…`); for SQLite a file name or
   * `{ filename }`. Default for SQLite: `.errand/errand.sqlite` under the working directory.
   */
  connection?: string | Knex.StaticConnectionConfig;
  /** The jobs table. Default `jobs`. */
  table?: string;
  /** The queue used when a job names none. Default `default`. */
  queue?: string;
  /** Seconds after which a reservation is presumed dead and the job is claimed again. Default 90. */
  retryAfter?: number;
  /**
   * knex pool sizes, and only those: errand sets knex's other pool options itself. Default
   * `{ min: 0, max: 10 }`; ignored for SQLite, which uses one connection.
   */
  pool?: { min?: number; max?: number };
  /**
   * Seconds a statement may wait for the server's answer (MariaDB/MySQL, PostgreSQL). Past it the
   * statement fails with an error naming the server and the limit, and its connection is closed
   * and replaced: through a half-open network (a dropped route, a failed-over server) the answer
   * would never come, and the kernel takes many minutes to notice. Idle connections and open
   * transactions are not timed, only a statement in flight; schema changes (`errand migrate`) are
   * exempt. Default 30; `0` or `false` turns it off. Ignored for SQLite.
   */
  queryTimeout?: number | false;
  /**
   * Worker heartbeats (default on: every 3 s, presumed dead 15 s after the last). While a worker
   * heartbeats, the leases of the jobs it holds are kept alive however long they run; a dead
   * worker's jobs are claimable again once its heartbeat lapses. `false` leaves only `retryAfter`.
   */
  heartbeat?: HeartbeatConfig | false;
  /** The table workers register and heartbeat in. Default `queue_workers`. */
  workersTable?: string;
  /** The table `queue:restart` and `queue:pause` write to. Default `queue_controls`. */
  controlsTable?: string;
  /**
   * Inside a transaction (`Bus.withinTransaction`), push this connection's jobs only once it
   * commits, and drop them if it rolls back (Laravel's `after_commit`). Default false.
   */
  afterCommit?: boolean;
}

/** How often workers heartbeat and when a silent worker is presumed dead. */
export interface HeartbeatConfig {
  /** Seconds between heartbeats. Default 3. */
  interval?: number;
  /** Seconds after the last heartbeat at which a worker is presumed dead. Default 15. */
  lapse?: number;
}

/**
 * A queue connection storing jobs in Redis (standalone or Cluster) through node-redis, an optional
 * peer dependency (`npm install redis`). Failed jobs and batches still live on a database
 * connection (`failed`, `batching`); locks and rate limits may live here.
 */
export interface RedisConnectionConfig {
  driver: 'redis';
  /**
   * `redis://[user:password@]host:port[/db]`, or `rediss://…` for TLS. Default: the `REDIS_URL`
   * environment variable, else `redis://127.0.0.1:6379`. `host`, `port`, `username`, `password`,
   * `db` and `tls` given beside it take precedence over its parts.
   */
  url?: string;
  host?: string;
  port?: number;
  username?: string;
  password?: string;
  /** The database number (standalone only: a cluster has database 0 alone). Default 0. */
  db?: number;
  /** TLS: true, or node:tls connection options (`ca`, `servername` …). Default: true for `rediss://`. */
  tls?: boolean | Record<string, unknown>;
  /**
   * A Redis Cluster: `true` to discover it from the connection's own address, or the URLs of
   * seed nodes. Default false.
   */
  cluster?: boolean | { nodes: string[] };
  /** Put before every key errand writes. Default `errand:`. */
  prefix?: string;
  /** The queue used when a job names none. Default `default`. */
  queue?: string;
  /** Seconds a worker's blocking wait for new jobs lasts before it looks again. Default 5. */
  blockFor?: number;
  /** Seconds after which a reservation is presumed dead when heartbeats are off. Default 90. */
  retryAfter?: number;
  /** As for database connections: heartbeats keep leases of live workers; `false` leaves `retryAfter`. */
  heartbeat?: HeartbeatConfig | false;
  /** At most this many lapsed reservations are moved back per claim. Default 100. */
  migrationBatchSize?: number;
  /**
   * Inside a transaction (`Bus.withinTransaction`), push this connection's jobs only once it
   * commits, and drop them if it rolls back (Laravel's `after_commit`). Default false.
   */
  afterCommit?: boolean;
  /**
   * Let workers start although the server's `maxmemory-policy` is not `noeviction` (an evicting
   * server may silently drop jobs). Default false.
   */
  allowEviction?: boolean;
}

/** A connection that runs each job inline, through the same payload round trip. */
export interface SyncConnectionConfig {
  driver: 'sync';
  /** As for database connections: inside a transaction, run the job only once it commits. */
  afterCommit?: boolean;
}

/** A connection that discards every job. */
export interface NullConnectionConfig {
  driver: 'null';
}

/** Any queue connection. */
export type ConnectionConfig =
  | DatabaseConnectionConfig
  | RedisConnectionConfig
  | SyncConnectionConfig
  | NullConnectionConfig;

/** Where failed jobs go. */
export type FailedConfig =
  | {
      driver: 'database';
      /** A `database` queue connection whose database holds the table. Default: the default connection when it is a database one, else the first database one (none: failures are not stored). */
      connection?: string;
      /** Default `failed_jobs`. */
      table?: string;
    }
  | { driver: 'null' };

/** Where locks are kept (see `ErrandConfig.locks`). */
export interface LocksConfig {
  /**
   * A `database` queue connection whose database holds the table, or a `redis` one (keys under
   * its prefix). Default: the default connection when it is either, else the first database one,
   * else the first redis one.
   */
  connection?: string;
  /** Default `locks`. */
  table?: string;
}

/** Where rate-limit counters are kept (see `ErrandConfig.rateLimits`). */
export interface RateLimitsConfig {
  /** A `database` or `redis` queue connection, as for `LocksConfig.connection`. */
  connection?: string;
  /** Default `rate_limits`. */
  table?: string;
}

/** The per-minute metrics rollup (see `ErrandConfig.metrics`). */
export interface MetricsConfig {
  /**
   * Whether workers count what they finish, per minute, queue and job name, and add the counts to
   * their connection's store every few seconds. Default true.
   */
  enabled?: boolean;
  /** Hours a minute's counts are kept; the flushing worker prunes older ones. Default 168 (7 days). */
  retention?: number;
  /** The rollup's table on each database queue connection (`errand migrate` creates it). Default `job_metrics`. */
  table?: string;
  /**
   * The Prometheus depth gauges (`errand_queue_jobs`, oldest pending age, failed jobs, paused,
   * workers): one process at a time samples them. `interval`: seconds between samples, default 15.
   * `cap`: each count stops there, default 100,000.
   */
  depth?: { interval?: number; cap?: number };
}

/** How jobs carry OpenTelemetry trace context from dispatch to worker (see `ErrandConfig.tracing`). */
export interface TracingConfig {
  /**
   * Spans at dispatch (PRODUCER) and per attempt (CONSUMER) when `@opentelemetry/api` is
   * installed and an SDK registered; without either nothing is traced. Default true.
   */
  enabled?: boolean;
  /**
   * How an attempt's span relates to the dispatch's: `link` (default: a new trace linked to the
   * producer), `parent` (a child in the producer's trace), or `parent-first-attempt` (the first
   * attempt a child, retries new traces with a link).
   */
  propagation?: TracingPropagation;
}

/** How an attempt's span relates to its dispatch's span. */
export type TracingPropagation = 'link' | 'parent' | 'parent-first-attempt';

/**
 * What `errand.config.*` exports (through `defineConfig`). Checked at load, also for plain
 * JavaScript: an unknown key at any level is an error naming the closest known one. In plain
 * JavaScript an option set to `null` means its default, as leaving it out does.
 */
export interface ErrandConfig {
  /** The connection used when a job names none; `QUEUE_CONNECTION` overrides it. */
  default?: string;
  connections?: Record<string, ConnectionConfig>;
  failed?: FailedConfig;
  /**
   * Where unique jobs and `WithoutOverlapping` keep their locks: a database connection and its
   * `locks` table, or a redis connection. Default: the default connection when it is either (else
   * the first database one, else the first redis one), table `locks`.
   */
  locks?: LocksConfig;
  /**
   * Where `RateLimited` and `ThrottlesExceptions` count: a database connection and its
   * `rate_limits` table, or a redis connection. Default: as for `locks`, table `rate_limits`.
   */
  rateLimits?: RateLimitsConfig;
  /**
   * Module(s) the worker imports at start so jobs are registered and services bound: files,
   * directories (every .js/.mjs/.cjs file under them) or globs (`dist/jobs/*.js`), relative
   * to the config file (or absolute).
   */
  bootstrap?: string | string[];
  /**
   * Directories, files or globs of listener modules, relative to the config file: every
   * .js/.mjs/.cjs file they name is imported at boot, so their `@Listener` classes are wired to their events.
   */
  listeners?: string | string[];
  /**
   * The largest payload, in bytes of JSON, that is queued or decoded; larger ones are refused at
   * dispatch and failed with the reason on the worker. Default 1 MiB.
   */
  maxPayloadSize?: number;
  /**
   * The key `@Job({ encrypted: true })` jobs are sealed with (AES-256-GCM), written as
   * `base64:…` (32 bytes). Default: the `ERRAND_KEY` environment variable.
   */
  key?: string;
  /**
   * Keys used before the current one, still accepted when opening queued jobs (key rotation).
   * Default: `ERRAND_PREVIOUS_KEYS`, comma-separated.
   */
  previousKeys?: string[];
  /**
   * The tsyringe container `handle()` parameters are resolved from, for workers started by the
   * CLI too. Default: tsyringe's root container. `boot(config, { container })` takes precedence.
   */
  container?: DependencyContainer;
  /**
   * Where batches are recorded (`Bus.batch`): a database connection and its `job_batches`
   * table. Default: the default connection (else the first database one), table `job_batches`.
   */
  batching?: { connection?: string; table?: string };
  /** The per-minute rollup of finished jobs that workers write and the dashboard charts. */
  metrics?: MetricsConfig;
  /** OpenTelemetry spans from dispatch to handler (needs `@opentelemetry/api`). */
  tracing?: TracingConfig;
  /**
   * Called with the error when a dispatch nobody awaited fails. Default: printed to stderr with
   * the job's name.
   */
  report?: (error: unknown) => void;
  /**
   * Where `errand make:job`, `make:listener`, `make:event` and `make:job-middleware` write
   * (relative to the config file); `--path` overrides. Default `src/jobs`, `src/listeners`, `src/events`, `src/jobs/middleware`.
   */
  paths?: GeneratorPaths;
  /**
   * The push API (`POST <dashboard>/api/queues/:queue/jobs`): who may push jobs over HTTP and how
   * much. Closed until a token or signing key is set. See docs/http-api.md.
   */
  api?: ApiConfig;
}

/** The push API's keys and limits (docs/http-api.md). */
export interface ApiConfig {
  /**
   * Bearer tokens, each at least 16 characters; any of them is accepted, so a new one is added
   * before the old one is removed. Default: `ERRAND_API_TOKENS`, comma-separated.
   */
  tokens?: string[];
  /**
   * Keys for `X-Errand-Signature` (HMAC-SHA256 of `<timestamp>.<body>`), each at least 16
   * characters; several at once while rotating. Default: `ERRAND_API_SIGNING_KEYS`, comma-separated.
   */
  signingKeys?: string[];
  /** The largest request body, in bytes; a larger one is answered 413. Default 1 MiB. */
  maxBodySize?: number;
  /** How far, in seconds, a signed request's `X-Errand-Timestamp` may be from this clock. Default 300. */
  replayWindow?: number;
  /** How long, in seconds, a job's client `id` returns its first answer instead of a second job. Default 86400 (24 h). */
  idempotencyWindow?: number;
  /** The job names that may be pushed. Default: every registered job. */
  jobs?: string[];
}

/** The directories the `make:*` generators write to. */
export interface GeneratorPaths {
  jobs?: string;
  listeners?: string;
  events?: string;
  /** Job middleware classes (`make:job-middleware`). */
  middleware?: string;
}

/** A database connection with every default filled in. */
export interface ResolvedDatabaseConnection {
  driver: 'database';
  client: DatabaseClient;
  connection: string | Knex.StaticConnectionConfig;
  table: string;
  queue: string;
  retryAfter: number;
  pool?: { min?: number; max?: number };
  /** Seconds; 0 when off. */
  queryTimeout: number;
  heartbeat: { interval: number; lapse: number } | false;
  workersTable: string;
  controlsTable: string;
  afterCommit: boolean;
}

/** A redis connection with every default filled in; `url` has no credentials (it is for messages). */
export interface ResolvedRedisConnection {
  driver: 'redis';
  /** `redis://host:port/db` or `rediss://…`, without credentials. */
  url: string;
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  /** false, or the node:tls options (empty for plain `rediss://`). */
  tls: false | Record<string, unknown>;
  /** false, or the seed nodes' URLs (the connection's own address when none were named). */
  cluster: false | { nodes: string[] };
  prefix: string;
  queue: string;
  /** Seconds. */
  blockFor: number;
  retryAfter: number;
  heartbeat: { interval: number; lapse: number } | false;
  migrationBatchSize: number;
  afterCommit: boolean;
  allowEviction: boolean;
}

/** A connection with every default filled in. */
export type ResolvedConnection =
  | ResolvedDatabaseConnection
  | ResolvedRedisConnection
  | SyncConnectionConfig
  | NullConnectionConfig;

/** The configuration after defaults, environment and validation. */
export interface ResolvedConfig {
  default: string;
  connections: Record<string, ResolvedConnection>;
  failed: { driver: 'database'; connection: string; table: string } | { driver: 'null' };
  /** Where locks are kept; undefined when there is no database or redis connection (locks then live in memory). */
  locks: { connection: string; table: string } | undefined;
  /** Where rate-limit counters are kept; undefined when there is no database or redis connection. */
  rateLimits: { connection: string; table: string } | undefined;
  bootstrap: string[];
  listeners: string[];
  report: (error: unknown) => void;
  maxPayloadSize: number;
  /** The current and previous encryption keys. */
  keyring: Keyring;
  /** Where batches are recorded; undefined when there is no database connection. */
  batching: { connection: string; table: string } | undefined;
  /** The metrics rollup: on or off, hours kept, its table on database connections. */
  metrics: {
    enabled: boolean;
    retention: number;
    table: string;
    /** The Prometheus depth gauges' sampling: seconds between samples, and each count's cap. */
    depth: { interval: number; cap: number };
  };
  /** OpenTelemetry: on or off (it also needs `@opentelemetry/api`), and the propagation mode. */
  tracing: { enabled: boolean; propagation: TracingPropagation };
  /** The container from the config, if it named one. */
  container?: DependencyContainer;
  /** Where relative paths in the config are resolved from. */
  baseDir: string;
  /** The config file read, when there was one (messages name it). */
  source?: string;
  /** Where the `make:*` generators write: absolute directories. */
  paths: Required<GeneratorPaths>;
  /** The push API's keys and limits; no tokens and no signing keys: every push is refused. */
  api: ResolvedApiConfig;
}

/** The push API's settings with every default filled in. */
export interface ResolvedApiConfig {
  tokens: string[];
  signingKeys: string[];
  maxBodySize: number;
  replayWindow: number;
  idempotencyWindow: number;
  /** undefined: every registered job may be pushed. */
  jobs: string[] | undefined;
}
