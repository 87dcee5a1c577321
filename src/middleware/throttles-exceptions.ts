import { JobMiddleware, type NextMiddleware } from '../decorators/job-middleware.js';
import { ConfigError } from '../errors/config-error.js';
import { toError } from '../errors/error-text.js';
import { jobContextOf } from '../job/job-context.js';
import type { Queueable } from '../job/queueable.js';
import { report } from '../runtime/current.js';
import { MAX_COUNT, MAX_SECONDS, numberProblem } from '../runtime/numeric-bounds.js';
import { type ErrorMatcher, matchesError } from './error-matcher.js';
import { rateLimitStore } from './rate-limit-store.js';

/** Seconds added to the time left in the window before a job comes back to an open circuit (Laravel adds 3). */
const RELEASE_MARGIN = 3;

/**
 * A circuit breaker for jobs that call a flaky service (Laravel's `ThrottlesExceptions`): each
 * exception thrown inside it counts in the `rate_limits` table, the job is released (after
 * `backoff()` seconds, default 0) without counting towards maxExceptions, and once
 * `maxAttempts` exceptions fell within `decaySeconds`, every job sharing the key is released
 * without running until that window ends (plus 3 s). A run that gets through clears the count.
 * The key is the job's name, or `by(key)`, or `byJob()` (this job alone).
 *
 * Unlike Laravel, `backoff()` is in seconds, like every other duration in errand (decision 0020).
 * Predicates and error classes are functions, so a ThrottlesExceptions using them must come from
 * the job's `middleware()`, not `through()`.
 *
 * @example
 * ```ts
 * middleware() {
 *   return [new ThrottlesExceptions(5, 300).backoff(30).by('crm').deleteWhen(ContactGone)];
 * }
 * ```
 */
@JobMiddleware({ name: 'errand:ThrottlesExceptions' })
export class ThrottlesExceptions implements JobMiddleware {
  /** Seconds before a job that threw comes back, or a function of its attempts. */
  retryAfter?: number | ((attempts: number) => number);
  /** The counter's key, when not the job's name. */
  key?: string;
  /** Count per job (its uuid) rather than per job class. */
  perJob?: boolean;
  /** Set by when(): errors it rejects are rethrown untouched. */
  whenCallback?: (error: Error) => boolean;
  /** Set by deleteWhen(): errors that delete the job. */
  deleteWhenMatchers?: ErrorMatcher[];
  /** Set by failWhen(): errors that fail the job. */
  failWhenMatchers?: ErrorMatcher[];
  /** Set by report(): which throttled errors go to the configured `report`. */
  reportCallback?: (error: Error) => boolean;

  constructor(
    /** Exceptions within a window that open the circuit. */
    public maxAttempts = 10,
    /** The window's length in seconds. */
    public decaySeconds = 600,
  ) {
    // maxAttempts is compared with rate_limits.hits, an integer column; the window is added to its clock.
    const attemptsProblem = numberProblem(maxAttempts, { min: 1, max: MAX_COUNT, whole: true, unit: '' });
    if (attemptsProblem) throw new ConfigError(`ThrottlesExceptions: maxAttempts ${attemptsProblem}.`);
    const decayProblem = numberProblem(decaySeconds, { min: 1, whole: true });
    if (decayProblem) throw new ConfigError(`ThrottlesExceptions: decaySeconds ${decayProblem}.`);
  }

  /** Seconds before a job that threw is tried again (seconds, not Laravel's minutes), or a function of its attempts. */
  backoff(seconds: number | ((attempts: number) => number)): this {
    const problem = typeof seconds === 'function' ? undefined : numberProblem(seconds);
    if (problem)
      throw new ConfigError(
        `ThrottlesExceptions.backoff() needs seconds or a function of the attempts: it ${problem}.`,
      );
    this.retryAfter = seconds;
    return this;
  }

  /** Shares the counter with every job using the same key (one key per remote service, say). */
  by(key: string): this {
    this.key = key;
    return this;
  }

  /** Counts this job's exceptions alone (keyed by its uuid). */
  byJob(): this {
    this.perJob = true;
    return this;
  }

  /** Only errors the predicate accepts are throttled; others are rethrown untouched. */
  when(predicate: (error: Error) => boolean): this {
    this.whenCallback = predicate;
    return this;
  }

  /** Deletes the job, instead of releasing it, on errors of this class or accepted by this predicate. */
  deleteWhen(matcher: ErrorMatcher): this {
    this.deleteWhenMatchers = [...(this.deleteWhenMatchers ?? []), matcher];
    return this;
  }

  /** Fails the job, instead of releasing it, on errors of this class or accepted by this predicate. */
  failWhen(matcher: ErrorMatcher): this {
    this.failWhenMatchers = [...(this.failWhenMatchers ?? []), matcher];
    return this;
  }

  /** Reports throttled errors (through the configured `report`) that the predicate accepts; all without one. */
  report(predicate: (error: Error) => boolean = () => true): this {
    this.reportCallback = predicate;
    return this;
  }

  /** Releases the job untried while the circuit is open; otherwise runs it and counts what it throws. */
  async handle(job: Queueable, next: NextMiddleware): Promise<unknown> {
    const store = await rateLimitStore();
    const key = this.counterKey(job);
    if ((await store.attempts(key)) >= this.maxAttempts) {
      // Capped: a window of the longest allowed length plus the margin would pass the bound release() checks.
      job.release(Math.min((await store.availableIn(key)) + RELEASE_MARGIN, MAX_SECONDS));
      return undefined;
    }
    let result: unknown;
    try {
      result = await next(job);
    } catch (thrown) {
      const error = toError(thrown);
      if (this.whenCallback && !this.whenCallback(error)) throw thrown;
      if (this.reportCallback?.(error)) report(error);
      if (this.deleteWhenMatchers?.some((matcher) => matchesError(matcher, error, job))) {
        job.delete();
        return undefined;
      }
      if (this.failWhenMatchers?.some((matcher) => matchesError(matcher, error, job))) {
        job.fail(error);
        return undefined;
      }
      await store.hit(key, this.decaySeconds);
      job.release(this.backoffFor(job));
      return undefined;
    }
    await store.clear(key);
    return result;
  }

  private backoffFor(job: Queueable): number {
    const value = typeof this.retryAfter === 'function' ? this.retryAfter(job.attempts()) : (this.retryAfter ?? 0);
    const problem = numberProblem(value);
    if (problem)
      throw new ConfigError(`ThrottlesExceptions.backoff() for attempt ${job.attempts()}: the value ${problem}.`);
    return value;
  }

  private counterKey(job: Queueable): string {
    const info = jobContextOf(job)?.info;
    if (this.key !== undefined) return `throttles-exceptions:${this.key}`;
    if (this.perJob && info) return `throttles-exceptions:job:${info.uuid}`;
    return `throttles-exceptions:${info?.displayName ?? job.constructor.name}`;
  }
}
