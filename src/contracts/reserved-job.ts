/**
 * A job row a worker has claimed. `reservedBy` is the lease token of that claim: every finishing
 * write (delete, release, fail) matches it, so a worker that lost its lease changes nothing.
 */
export interface ReservedJob {
  /** The row's primary key, as a string on every engine (PostgreSQL returns bigints as strings). */
  readonly id: string;
  readonly queue: string;
  /** The raw payload text as stored. */
  readonly payload: string;
  /** Attempts including this one: the claim already counted it. */
  readonly attempts: number;
  /** Exceptions thrown by earlier attempts (for `maxExceptions`). */
  readonly exceptions: number;
  readonly reservedBy: string;
  /**
   * How long the job had been available when this claim took it, in milliseconds on the store's
   * clock (whole seconds on a database, whose times are); undefined where the store does not say.
   * The metrics rollup's wait.
   */
  readonly waitMs?: number;
  /**
   * Set when the store holds the job but not in a form it can hand over (a Redis job id with no
   * hash, a hash without its payload): why, naming the key. The worker fails the job with this
   * reason, running nothing; `payload` is whatever could be kept.
   */
  readonly unreadable?: string;
}
