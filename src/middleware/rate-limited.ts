import { JobMiddleware, type NextMiddleware } from '../decorators/job-middleware.js';
import { ConfigError } from '../errors/config-error.js';
import { jobContextOf } from '../job/job-context.js';
import type { Queueable } from '../job/queueable.js';
import { MAX_SECONDS, numberProblem } from '../runtime/numeric-bounds.js';
import { Limit } from './limit.js';
import { rateLimitStore } from './rate-limit-store.js';
import { RateLimiter } from './rate-limiter.js';

/** Seconds added to the time left in the window before a limited job comes back (Laravel adds 3). */
const RELEASE_MARGIN = 3;

/**
 * Lets a job run only while the named limiter allows (Laravel's `RateLimited`): the limiter,
 * defined with `RateLimiter.for(name, job => Limit…)`, is asked for the job's limits, and each
 * is counted in the `rate_limits` table in one atomic statement, so workers on any number of
 * machines together never run more than the limit in a window. A job over a limit is released
 * until its window ends (plus 3 s), or after `releaseAfter(seconds)`, or with `dontRelease()`
 * deleted. A release spends an attempt: give rate-limited jobs enough `tries`, or `retryUntil`.
 * A limiter name no process defined fails the job at once, naming the limiter.
 *
 * @example
 * ```ts
 * middleware() { return [new RateLimited('backups')]; }
 * await dispatch(new SendReport(7)).through([new RateLimited('api').releaseAfter(30)]);
 * ```
 */
@JobMiddleware({ name: 'errand:RateLimited' })
export class RateLimited implements JobMiddleware {
  /** Seconds to release a limited job for; unset: until its window ends. */
  releaseAfterSeconds?: number;
  /** False after dontRelease(): a limited job is deleted. */
  shouldRelease = true;

  constructor(
    /** The name given to RateLimiter.for(). */
    public limiterName: string,
  ) {
    if (typeof limiterName !== 'string' || limiterName === '')
      throw new ConfigError('RateLimited needs the name of a limiter defined with RateLimiter.for().');
  }

  /** Releases a limited job for this many seconds instead of until its window ends. */
  releaseAfter(seconds: number): this {
    const problem = numberProblem(seconds);
    if (problem) throw new ConfigError(`RateLimited('${this.limiterName}').releaseAfter(): the delay ${problem}.`);
    this.releaseAfterSeconds = seconds;
    return this;
  }

  /** Deletes a limited job instead of releasing it. */
  dontRelease(): this {
    this.shouldRelease = false;
    return this;
  }

  /** Counts the job against each of its limits and lets it run only within all of them. */
  async handle(job: Queueable, next: NextMiddleware): Promise<unknown> {
    const callback = RateLimiter.limiter(this.limiterName);
    if (!callback) {
      // Retrying cannot define it, and running unlimited (Laravel's choice) could break the very limit it was meant to keep.
      job.fail(
        new ConfigError(
          `Rate limiter [${this.limiterName}] is not defined (job ${jobContextOf(job)?.info.displayName ?? job.constructor.name}): define it with RateLimiter.for('${this.limiterName}', …) in a module the worker loads.`,
        ),
      );
      return undefined;
    }
    const limits = ([] as unknown[]).concat(await callback(job));
    const wrong = limits.findIndex((limit) => !(limit instanceof Limit));
    if (wrong >= 0) {
      job.fail(
        new ConfigError(
          `Rate limiter [${this.limiterName}] returned ${describe(limits[wrong])} at [${wrong}]; it must return Limit, Limit[] or Limit.none().`,
        ),
      );
      return undefined;
    }
    const counted = (limits as Limit[]).filter((limit) => !limit.unlimited);
    if (counted.length > 0) {
      const store = await rateLimitStore();
      // Hit first and read the count the same statement wrote: a check before the hit would let
      // concurrent workers all see room for one more.
      for (const limit of counted) {
        const key = `rate-limited:${this.limiterName}:${limit.decaySeconds}s:${limit.key}`;
        if ((await store.hit(key, limit.decaySeconds)) <= limit.maxAttempts) continue;
        if (this.shouldRelease === false) job.delete();
        // Capped: a window of the longest allowed length plus the margin would pass the bound release() checks.
        else
          job.release(
            this.releaseAfterSeconds ?? Math.min((await store.availableIn(key)) + RELEASE_MARGIN, MAX_SECONDS),
          );
        return undefined;
      }
    }
    return next(job);
  }
}

function describe(value: unknown): string {
  if (value === null || typeof value !== 'object') return String(value);
  const name = value.constructor?.name ?? 'object';
  return `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;
}
