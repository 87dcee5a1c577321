import { ErrandError } from './errand-error.js';

/**
 * A database connection's client package (better-sqlite3, mysql2 or pg) is not installed, or is
 * installed without its native part; the message names the connection, the package and the fix
 * (`npm install pg`, or `npm rebuild better-sqlite3` once its install script is allowed).
 *
 * Thrown the first time errand opens a connection that uses the client (`errand migrate`,
 * `dispatch()`, a worker's start), since the clients are optional peer dependencies: an app
 * installs only the one its connections use. `cause` is the error the client's import gave.
 *
 * @example
 * ```ts
 * try {
 *   await SendWelcomeMail.dispatch(42);
 * } catch (error) {
 *   if (error instanceof MissingDatabaseClientError) console.error(`install ${error.client} for [${error.connection}]`);
 *   throw error;
 * }
 * ```
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
