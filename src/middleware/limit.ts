import { ConfigError } from '../errors/config-error.js';

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
    if (!Number.isInteger(maxAttempts) || maxAttempts < 0) throw new ConfigError(`A Limit allows a whole number of jobs ≥ 0, got ${String(maxAttempts)}.`);
    if (maxAttempts !== Number.MAX_SAFE_INTEGER && (!Number.isInteger(decaySeconds) || decaySeconds < 1)) {
      throw new ConfigError(`A Limit's window lasts a whole number of seconds ≥ 1, got ${String(decaySeconds)}.`);
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
