import { ConfigError } from '../errors/config-error.js';
import { withoutCredentials } from '../runtime/without-credentials.js';
import type { ResolvedConnection } from './config-types.js';
import { ownProperty } from './own-property.js';

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

/** A table of errand's that lives on one database connection (locks, rate limits, batches). */
export interface TableHome {
  connection: string;
  table: string;
}

/**
 * Where one of errand's shared tables lives: the named database connection, else the default one
 * when it is a database, else the first database connection; undefined when there is none. Errors
 * name the option (`locks.table`, `batching.connection` …).
 */
export function resolveTableHome(
  option: string,
  value: { connection?: string; table?: string } | undefined,
  defaults: { table: string; purpose: string },
  connections: Record<string, ResolvedConnection>,
  defaultName: string,
  where: string,
): TableHome | undefined {
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
    if (home.driver !== 'database') {
      throw new ConfigError(
        `${option}.connection${where} names [${withoutCredentials(String(named))}], a ${home.driver} connection; ${defaults.purpose} need a database queue connection.`,
      );
    }
    return { connection: named as string, table };
  }
  const name =
    ownProperty(connections, defaultName)?.driver === 'database'
      ? defaultName
      : Object.keys(connections).find((n) => connections[n]!.driver === 'database');
  return name === undefined ? undefined : { connection: name, table };
}
