import type { JobMiddleware, NextMiddleware } from '../decorators/job-middleware.js';
import { ConfigError } from '../errors/config-error.js';
import { toError } from '../errors/error-text.js';
import type { Queueable } from '../job/queueable.js';
import { type ErrorClass, type ErrorMatcher, isErrorClass, matchesError } from './error-matcher.js';

/**
 * Fails a job at once, whatever tries are left, when it throws one of these error classes (or an
 * error the predicate accepts), as Laravel's `FailOnException` does; other errors are retried as
 * usual. The error is rethrown, so `JobExceptionOccurred` and `failed(error)` see it. It holds
 * classes or a function, so it belongs in the job's `middleware()`, not in `through()`.
 *
 * @example
 * ```ts
 * middleware() { return [new FailOnException([AuthorizationError, ValidationError])]; }
 * ```
 */
export class FailOnException implements JobMiddleware {
  private readonly matchers: ErrorMatcher[];

  constructor(failOn: readonly ErrorClass[] | ((error: Error, job: any) => boolean)) {
    if (typeof failOn === 'function') {
      this.matchers = [failOn];
    } else if (Array.isArray(failOn) && failOn.every(isErrorClass)) {
      this.matchers = [...failOn];
    } else {
      throw new ConfigError('FailOnException needs a list of error classes or a predicate (error, job) => boolean.');
    }
  }

  /** Runs the job; a matching error fails it before being rethrown. */
  async handle(job: Queueable, next: NextMiddleware): Promise<unknown> {
    try {
      return await next(job);
    } catch (thrown) {
      const error = toError(thrown);
      if (this.matchers.some((matcher) => matchesError(matcher, error, job))) job.fail(error);
      throw thrown;
    }
  }
}
