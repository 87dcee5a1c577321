import { DatabaseUnreachableError } from '../../errors/database-unreachable-error.js';

/**
 * An error of a lock or rate-limit call naming its key (`what`) before the client's message, which
 * names the connection and host:port. An unreachable server is passed on as it is: callers tell
 * it apart by its class.
 */
export function redisStoreError(error: unknown, what: string): unknown {
  if (error instanceof DatabaseUnreachableError || !(error instanceof Error)) return error;
  return new Error(`${what}: ${error.message}`, { cause: error });
}

/** Runs `call`, an error of it named by `what` as redisStoreError does. */
export async function namingErrors<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw redisStoreError(error, what);
  }
}
