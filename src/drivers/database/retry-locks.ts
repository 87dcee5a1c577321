import { isRetryableLock } from './database-error.js';

/**
 * Runs a fenced write again after a deadlock or lock timeout (each try is its own statement or
 * transaction, rolled back whole, so repeating it is safe). On MySQL/MariaDB a worker's claims
 * and its own batched deletes and lease renewals can deadlock on the gap locks of the
 * reserved_by index; without a retry the job stayed reserved, already run, until retryAfter.
 */
export async function retryLocks<T>(operation: () => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (attempt >= tries || !isRetryableLock(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
