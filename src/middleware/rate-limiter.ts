import { ConfigError } from '../errors/config-error.js';
import type { Limit } from './limit.js';

/** What a named limiter says for one job: one limit, several (all must pass), or `Limit.none()`. */
export type LimiterCallback = (job: any) => Limit | Limit[] | Promise<Limit | Limit[]>;

const limiters = new Map<string, LimiterCallback>();

/**
 * Named rate limiters (Laravel's `RateLimiter::for`), defined at bootstrap in every process that
 * works the jobs and read by `RateLimited` each time a job passes. Defining a name again replaces it.
 *
 * @example
 * ```ts
 * RateLimiter.for('api', () => Limit.perMinute(60));
 * RateLimiter.for('reports', (job: ExportReport) => [Limit.perMinute(5).by(job.tenant), Limit.perDay(200)]);
 * ```
 */
export const RateLimiter = {
  /** Defines (or replaces) the limiter `name`. */
  for(name: string, callback: LimiterCallback): void {
    if (typeof name !== 'string' || name === '') throw new ConfigError('RateLimiter.for() needs a limiter name.');
    if (typeof callback !== 'function')
      throw new ConfigError(
        `RateLimiter.for('${name}') needs a function of the job returning Limit, Limit[] or Limit.none().`,
      );
    limiters.set(name, callback);
  },

  /** The callback of limiter `name`, if defined. */
  limiter(name: string): LimiterCallback | undefined {
    return limiters.get(name);
  },

  /** Removes limiter `name` (mostly for tests). */
  forget(name: string): void {
    limiters.delete(name);
  },
};
