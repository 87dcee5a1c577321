import { ConfigError } from '../errors/config-error.js';
import { withoutCredentials } from '../runtime/without-credentials.js';
import type { ResolvedConnection } from './config-types.js';
import { ownProperty } from './own-property.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A store of errand's that lives on one connection (locks, rate limits, batches). */
export interface TableHome {
  connection: string;
  /** The table, on a database connection; unused on a redis one (its keys carry the connection's prefix). */
  table: string;
}

/**
 * The database connection errand's database-only stores default to (failed jobs, batches,
 * models): the default connection when it is a database one, else the first database
 * connection; undefined when there is none.
 */
export function defaultDatabaseConnection(
  connections: Record<string, ResolvedConnection>,
  defaultName: string,
): string | undefined {
  return ownProperty(connections, defaultName)?.driver === 'database'
    ? defaultName
    : Object.keys(connections).find((n) => connections[n]!.driver === 'database');
}

/**
 * Where one of errand's shared stores lives: the named connection, else the default one when it
 * has a driver in `drivers`, else the first database connection, else (when redis is accepted) the
 * first redis one; undefined when there is none. `drivers` is `['database']` for what only a
 * database keeps (batches), `['database', 'redis']` for locks and rate limits. Errors name the
 * option (`locks.table`, `batching.connection` …).
 */
export function resolveTableHome(
  option: string,
  value: { connection?: string; table?: string } | undefined,
  defaults: { table: string; purpose: string; drivers?: readonly string[] },
  connections: Record<string, ResolvedConnection>,
  defaultName: string,
  where: string,
): TableHome | undefined {
  const drivers = defaults.drivers ?? ['database'];
  const table = value?.table ?? defaults.table;
  if (typeof table !== 'string' || !IDENTIFIER.test(table)) {
    throw new ConfigError(`${option}.table${where}: [${withoutCredentials(String(table))}] is not a valid table name.`);
  }
  const named = value?.connection;
  if (named !== undefined) {
    const home = typeof named === 'string' ? ownProperty(connections, named) : undefined;
    if (home === undefined) {
      throw new ConfigError(
        `${option}.connection${where} names [${withoutCredentials(String(named))}], which is not defined. Defined connections: ${Object.keys(connections).join(', ') || '(none)'}.`,
      );
    }
    if (!drivers.includes(home.driver)) {
      throw new ConfigError(
        `${option}.connection${where} names [${withoutCredentials(String(named))}], a ${home.driver} connection; ${defaults.purpose} need a ${drivers.join(' or ')} queue connection.`,
      );
    }
    return { connection: named as string, table };
  }
  const defaultDriver = ownProperty(connections, defaultName)?.driver;
  const name =
    defaultDriver !== undefined && drivers.includes(defaultDriver)
      ? defaultName
      : (defaultDatabaseConnection(connections, defaultName) ??
        Object.keys(connections).find((n) => drivers.includes(connections[n]!.driver)));
  return name === undefined ? undefined : { connection: name, table };
}
