import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import { DatabaseUnreachableError } from '../../errors/database-unreachable-error.js';
import { MissingTableError } from '../../errors/missing-table-error.js';
import { dialect } from './dialect.js';

/**
 * Turns a driver error into one that names the connection, the server (host:port) or the table
 * and says what to do; other errors pass through unchanged.
 */
export function describeDatabaseError(
  error: unknown,
  connectionName: string,
  config: ResolvedDatabaseConnection,
  table: string,
): unknown {
  if (dialect.isMissingTable(error)) {
    return new MissingTableError(
      `Table [${table}] does not exist on queue connection [${connectionName}] (${dialect.describeTarget(config.client, config.connection)}); run \`errand migrate\`.`,
      { cause: error },
    );
  }
  if (dialect.isConnectionError(error)) {
    const message = (error as Error).message || String((error as { code?: string }).code);
    const hint = dialect.connectionErrorHint(error);
    return new DatabaseUnreachableError(
      `Cannot reach the database of queue connection [${connectionName}] (${config.client} at ${dialect.describeTarget(config.client, config.connection)}): ${hint ? `${message.replace(/\.$/, '')}. ${hint}` : message}`,
      { cause: error },
    );
  }
  return error;
}
