import { ErrandError } from './errand-error.js';

/**
 * A database connection's client package (better-sqlite3, mysql2 or pg) is not installed, or is
 * installed without its native part; the message names the connection, the package and the fix.
 */
export class MissingDatabaseClientError extends ErrandError {
  constructor(
    /** The queue connection that uses the client. */
    readonly connection: string,
    /** The client package, as named in the connection's `client`. */
    readonly client: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
