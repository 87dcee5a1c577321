import { ConfigError } from '../errors/config-error.js';
import { MAX_COUNT, numberProblem } from '../runtime/numeric-bounds.js';

/**
 * One rate limit (Laravel's `Limit`): at most `maxAttempts` jobs per window of `decaySeconds`,
 * counted per key (`by()`; default one counter for the whole limiter). A window starts at the
 * first job that passes through it and lasts `decaySeconds` on the database clock.
 *
 * @example
 * ```ts
 * RateLimiter.for('backups', (job: Backup) => job.user.vip ? Limit.none() : Limit.perHour(1).by(job.user.id));
 * ```
 */
export class Limit {
  /** The counter this limit counts on, within its limiter; '' shares one counter. */
  key = '';

  constructor(
    /** Jobs allowed per window. */
    readonly maxAttempts: number,
    /** The window's length in seconds. */
    readonly decaySeconds: number,
  ) {
    // Limit.none() is the one unbounded Limit (MAX_SAFE_INTEGER, never counted); any other is
    // compared with rate_limits.hits, an integer column, and its window added to reset_at.
    if (maxAttempts !== Number.MAX_SAFE_INTEGER) {
      const attemptsProblem = numberProblem(maxAttempts, { max: MAX_COUNT, whole: true, unit: '' });
      if (attemptsProblem) throw new ConfigError(`A Limit's maxAttempts (jobs per window) ${attemptsProblem}.`);
      const decayProblem = numberProblem(decaySeconds, { min: 1, whole: true });
      if (decayProblem) throw new ConfigError(`A Limit's window (decaySeconds) ${decayProblem}.`);
    }
  }

  /** `maxAttempts` jobs per `decaySeconds` seconds (default 1). */
  static perSecond(maxAttempts: number, decaySeconds = 1): Limit {
    return new Limit(maxAttempts, decaySeconds);
  }

  /** `maxAttempts` jobs per `decayMinutes` minutes (default 1). */
  static perMinute(maxAttempts: number, decayMinutes = 1): Limit {
    return new Limit(maxAttempts, 60 * decayMinutes);
  }

  /** `maxAttempts` jobs per `decayMinutes` minutes (Laravel's argument order). */
  static perMinutes(decayMinutes: number, maxAttempts: number): Limit {
    return new Limit(maxAttempts, 60 * decayMinutes);
  }

  /** `maxAttempts` jobs per `decayHours` hours (default 1). */
  static perHour(maxAttempts: number, decayHours = 1): Limit {
    return new Limit(maxAttempts, 3600 * decayHours);
  }

  /** `maxAttempts` jobs per `decayDays` days (default 1). */
  static perDay(maxAttempts: number, decayDays = 1): Limit {
    return new Limit(maxAttempts, 86400 * decayDays);
  }

  /** No limit: jobs pass without being counted. */
  static none(): Limit {
    return new Limit(Number.MAX_SAFE_INTEGER, 0);
  }

  /** Whether this is `Limit.none()`. */
  get unlimited(): boolean {
    return this.maxAttempts === Number.MAX_SAFE_INTEGER;
  }

  /** Counts per key (a user id, a tenant …) instead of one counter for the whole limiter. */
  by(key: string | number): this {
    this.key = String(key);
    return this;
  }
}
