import type { ErrandConfig } from './config-types.js';

/** The SQLite file used when a database connection names none. */
export const DEFAULT_SQLITE_FILE = '.errand/errand.sqlite';

/** Laravel's defaults: a `jobs` table, queue `default`, reservations presumed dead after 90 s. */
export const DATABASE_DEFAULTS = { table: 'jobs', queue: 'default', retryAfter: 90 } as const;

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
