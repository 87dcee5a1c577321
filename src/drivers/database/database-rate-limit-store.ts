import { createHash } from 'node:crypto';

import type { RateLimitStore } from '../../contracts/rate-limit-store.js';
import { isRetryableLock } from './database-error.js';
import {
  clearRateLimit,
  hitRateLimit,
  pruneRateLimits,
  type RateLimitTable,
  readRateLimit,
} from './queries/rate-limits.js';

/** The key column holds 255 characters. */
const MAX_KEY = 255;

/**
 * One hit in fifty also deletes ended windows, so keys made per user or per job (`by()`,
 * `byJob()`) do not pile up; Laravel's database cache prunes its locks by the same kind of lottery.
 */
const PRUNE_ODDS = 1 / 50;

/**
 * Rate-limit counters in a database table (`rate_limits`), shared by every worker of every
 * machine that uses the database: one row per key, times from the database clock.
 */
export class DatabaseRateLimitStore implements RateLimitStore {
  constructor(
    private readonly limits: RateLimitTable,
    /** Turns a driver error into one naming the connection and table (a missing table says to migrate). */
    private readonly describe: (error: unknown) => unknown = (error) => error,
    private readonly prune: () => boolean = () => Math.random() < PRUNE_ODDS,
  ) {}

  hit(key: string, decaySeconds: number): Promise<number> {
    if (!Number.isInteger(decaySeconds) || decaySeconds < 1) {
      throw new RangeError(
        `A rate-limit window must last a whole number of seconds ≥ 1, got ${String(decaySeconds)} (key ${key}).`,
      );
    }
    return this.run(async () => {
      const hits = await retryLockOnce(() => hitRateLimit(this.limits, storedKey(key), decaySeconds));
      if (this.prune()) {
        // Housekeeping only: a failed prune (say, a lock conflict) changes no count, and the next draw tries again.
        await pruneRateLimits(this.limits).catch(() => undefined);
      }
      return hits;
    });
  }

  attempts(key: string): Promise<number> {
    return this.run(async () => (await readRateLimit(this.limits, storedKey(key))).hits);
  }

  availableIn(key: string): Promise<number> {
    return this.run(async () => (await readRateLimit(this.limits, storedKey(key))).availableIn);
  }

  clear(key: string): Promise<void> {
    return this.run(() => clearRateLimit(this.limits, storedKey(key)));
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw this.describe(error);
    }
  }
}

/** Keys longer than the column keep a readable head and end in a hash of the whole key. */
function storedKey(key: string): string {
  if (key.length <= MAX_KEY) return key;
  return `${key.slice(0, MAX_KEY - 65)}#${createHash('sha256').update(key).digest('hex')}`;
}

/** A deadlock against a concurrent prune is worth exactly one more try. */
async function retryLockOnce<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (!isRetryableLock(error)) throw error;
    return work();
  }
}
