import type { ResolvedDatabaseConnection } from '../../config/config-types.js';
import { DatabaseUnreachableError } from '../../errors/database-unreachable-error.js';
import { MissingTableError } from '../../errors/missing-table-error.js';
import { describeTarget } from './connection.js';

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
  if (isMissingTable(error)) {
    return new MissingTableError(
      `Table [${table}] does not exist on queue connection [${connectionName}] (${describeTarget(config.client, config.connection)}); run \`errand migrate\`.`,
      { cause: error },
    );
  }
  if (isConnectionError(error)) {
    const message = (error as Error).message || String((error as { code?: string }).code);
    const hint = connectionErrorHint(error);
    return new DatabaseUnreachableError(
      `Cannot reach the database of queue connection [${connectionName}] (${config.client} at ${describeTarget(config.client, config.connection)}): ${hint ? `${message.replace(/\.$/, '')}. ${hint}` : message}`,
      { cause: error },
    );
  }
  return error;
}

/** The table in a "no such table" error, if that is what it is. */
function isMissingTable(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; message?: string };
  return e?.code === 'ER_NO_SUCH_TABLE' || e?.code === '42P01' || /no such table/i.test(e?.message ?? '');
}

/** A lock conflict worth one more try: deadlock, lock wait timeout, SQLite busy. */
export function isRetryableLock(error: unknown): boolean {
  const e = error as { code?: string; message?: string };
  return (
    e?.code === 'ER_LOCK_DEADLOCK' ||
    e?.code === 'ER_LOCK_WAIT_TIMEOUT' ||
    e?.code === '40P01' ||
    e?.code === '55P03' ||
    e?.code === 'SQLITE_BUSY'
  );
}

/**
 * The server could not be reached, or refused us, as opposed to a bad query. Timeouts count:
 * through a network that drops packets silently, nothing is refused or reset, and the only sign
 * is a timer running out (pg's connect timeout, mysql2's, knex's wait for a pooled connection).
 * An error that wraps one of these (its `cause`) is one too.
 */
export function isConnectionError(error: unknown): boolean {
  let each = error;
  for (let depth = 0; depth < 4 && each !== undefined && each !== null; depth++) {
    if (isDriverConnectionError(each)) return true;
    each = (each as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * What to check, for a connection error whose driver code says why (refused, unknown host,
 * bad credentials, unknown database, a file SQLite cannot open); undefined when it does not.
 */
export function connectionErrorHint(error: unknown): string | undefined {
  let each = error;
  for (let depth = 0; depth < 4 && each !== undefined && each !== null; depth++) {
    // Before the codes: errand's own statement timeout reads as ETIMEDOUT, but the server did answer the connection.
    if (statementTimeouts.has(each as object)) return STATEMENT_TIMEOUT_HINT;
    const hint = CONNECTION_ERROR_HINTS.find(([codes]) => codes.includes((each as { code?: string }).code ?? ''))?.[1];
    if (hint) return hint;
    each = (each as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * The error of a statement that got no answer within the connection's `queryTimeout`. Its code
 * is ETIMEDOUT, so it counts as an unreachable database (waited out, retried), but its hint is
 * its own: the server may well be reachable and only slow, or the statement waiting on a lock.
 */
export function statementTimeoutError(target: string, seconds: number): Error & { code: string } {
  const error = Object.assign(
    new Error(
      `The database at ${target} did not answer a statement within ${seconds} s (queryTimeout); its connection was closed and a new one will be opened.`,
    ),
    { code: 'ETIMEDOUT' },
  );
  statementTimeouts.add(error);
  return error;
}

/** Error codes of the drivers (and the servers, through them) that mean unreachable or refused. */
const CONNECTION_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ECONNRESET',
  'ECONNABORTED',
  'EPIPE',
  'ENETUNREACH',
  'ENETDOWN',
  'PROTOCOL_SEQUENCE_TIMEOUT',
  'ER_SERVER_SHUTDOWN',
  '08000',
  '08001',
  '08003',
  '08006',
  '57P02',
  'EAI_AGAIN',
  'PROTOCOL_CONNECTION_LOST',
  'ER_ACCESS_DENIED_ERROR',
  'ER_ACCESS_DENIED_NO_PASSWORD_ERROR',
  'ER_BAD_DB_ERROR',
  'ER_DBACCESS_DENIED_ERROR',
  '28P01',
  '28000',
  '3D000',
  '57P01',
  '57P03',
  'SQLITE_CANTOPEN',
]);

/** The errors `statementTimeoutError` made: their hint is their own, not ETIMEDOUT's. */
const statementTimeouts = new WeakSet<object>();

const STATEMENT_TIMEOUT_HINT =
  'The statement was sent but no answer came in time: a slow statement or one waiting on a lock, or a connection that died mid-statement. ' +
  "If statements may rightly take that long, raise the connection's queryTimeout (seconds; 0 turns the limit off).";

/** What to check per driver code (mysql2, pg, better-sqlite3, Node's sockets), for `connectionErrorHint`. */
const CONNECTION_ERROR_HINTS: Array<[codes: string[], hint: string]> = [
  [['ECONNREFUSED'], 'Nothing accepts connections there: is the server running, and are the host and port right?'],
  [['ENOTFOUND', 'EAI_AGAIN'], 'The host name does not resolve: check the host in the connection.'],
  [
    ['ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENETDOWN'],
    'The server did not answer: check the host, the port and any firewall between.',
  ],
  [
    ['ER_ACCESS_DENIED_ERROR', 'ER_ACCESS_DENIED_NO_PASSWORD_ERROR', 'ER_DBACCESS_DENIED_ERROR', '28P01', '28000'],
    'Check the user and password in the connection, and what the server grants them.',
  ],
  [['ER_BAD_DB_ERROR', '3D000'], 'Create the database, or fix its name in the connection.'],
  [['SQLITE_CANTOPEN'], 'Check that the file name is right and its directory writable.'],
];

/** A driver's own error for a server it cannot reach or talk to (see `isConnectionError`). */
function isDriverConnectionError(error: unknown): boolean {
  const e = error as { code?: string; message?: string; name?: string } | undefined;
  return (
    CONNECTION_ERROR_CODES.has(e?.code ?? '') ||
    // knex gave up waiting for a pooled connection: every one is stuck, or none could be opened.
    e?.name === 'KnexTimeoutError' ||
    // mysql2 marks errors that kill the connection `fatal`; pg and mysql2 word a dropped or
    // closed socket these ways without a code.
    (e as { fatal?: unknown })?.fatal === true ||
    // pg's connect timeout (connectionTimeoutMillis, which errand sets from queryTimeout) is a
    // bare Error with these words and nothing else: the handshake got no answer.
    /^timeout expired$/.test(e?.message ?? '') ||
    /Connection terminated|connect ECONNREFUSED|Timeout acquiring a connection|closed state|Connection lost|socket hang up|write after end|Client has encountered a connection error|Client was closed and is not queryable|Query read timeout|timeout exceeded when trying to connect/i.test(
      e?.message ?? '',
    )
  );
}
