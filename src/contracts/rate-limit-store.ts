/**
 * Counters of fixed time windows by key (Laravel's RateLimiter over its cache), shared by every
 * worker: what `RateLimited` and `ThrottlesExceptions` count with. A window starts at the first
 * hit and lasts `decaySeconds` from it, to the millisecond; a hit after it ended starts a new one.
 */
export interface RateLimitStore {
  /** Counts one hit in the key's current window (starting one if none is open) and returns the count, this hit included, in one atomic step. */
  hit(key: string, decaySeconds: number): Promise<number>;
  /** Hits in the key's open window; 0 when none is open. */
  attempts(key: string): Promise<number>;
  /** Seconds until the key's open window ends, rounded up; 0 when none is open. */
  availableIn(key: string): Promise<number>;
  /** Forgets the key's window. */
  clear(key: string): Promise<void>;
}
