import type { ErrandConfig } from './config-types.js';

/** The SQLite file used when a database connection names none. */
export const DEFAULT_SQLITE_FILE = '.errand/errand.sqlite';

/** Laravel's defaults: a `jobs` table, queue `default`, reservations presumed dead after 90 s. */
export const DATABASE_DEFAULTS = {
  table: 'jobs',
  queue: 'default',
  retryAfter: 90,
  workersTable: 'queue_workers',
  controlsTable: 'queue_controls',
  /**
   * Twice the default heartbeat lapse: far above any statement errand sends (claims and finishing
   * writes touch a few rows by index), short enough that a worker cut off by a half-open network
   * gives up on its hung statements and rejoins within half a minute of the network healing.
   */
  queryTimeout: 30,
} as const;

/**
 * A redis connection's defaults: the local server, Laravel's 90 s reservation, a 5 s blocking wait
 * (short enough that a worker notices a pause or restart promptly without polling), and claims
 * that move at most 100 lapsed reservations back each (`migrationBatchSize`; the due jobs a claim
 * takes are bounded by its own limit, the worker's free slots), so one claim never stalls the server.
 */
export const REDIS_DEFAULTS = {
  url: 'redis://127.0.0.1:6379',
  prefix: 'errand:',
  queue: 'default',
  blockFor: 5,
  retryAfter: 90,
  migrationBatchSize: 100,
} as const;

/**
 * A heartbeat every 3 s and death presumed after 15 s (five missed beats): a dead worker's jobs
 * come back within seconds, while a GC pause or a slow query never looks like death.
 */
export const HEARTBEAT_DEFAULTS = { interval: 3, lapse: 15 } as const;

/** The table unique jobs and WithoutOverlapping keep their locks in. */
export const DEFAULT_LOCKS_TABLE = 'locks';

/** The table RateLimited and ThrottlesExceptions count in. */
export const DEFAULT_RATE_LIMITS_TABLE = 'rate_limits';

/** The default payload limit: 1 MiB of JSON. */
export const DEFAULT_MAX_PAYLOAD_SIZE = 1024 * 1024;

/** What errand uses when there is no config file: SQLite, so a new user needs no server. */
export const DEFAULT_CONFIG: ErrandConfig = {
  default: 'database',
  connections: {
    database: { driver: 'database', client: 'better-sqlite3' },
    sync: { driver: 'sync' },
    null: { driver: 'null' },
  },
  failed: { driver: 'database', table: 'failed_jobs' },
};

/** The metrics rollup's table on each database queue connection. */
export const DEFAULT_METRICS_TABLE = 'job_metrics';

/** Hours the metrics rollup keeps a minute: the dashboard's longest range, 7 days. */
export const DEFAULT_METRICS_RETENTION_HOURS = 168;

/** Seconds between samples of the Prometheus depth gauges (one sampling process at a time). */
export const DEFAULT_DEPTH_INTERVAL_SECONDS = 15;

/** The longest depth-sample interval: a day (a timer's delay overflows past about 24.8 days). */
export const MAX_DEPTH_INTERVAL_SECONDS = 86_400;

/** Where each Prometheus depth count stops, as the dashboard's counts do. */
export const DEFAULT_DEPTH_CAP = 100_000;
