import { JobMiddleware, type NextMiddleware } from '../decorators/job-middleware.js';
import type { Queueable } from '../job/queueable.js';

/** A condition: a value, or a function of the job asked when the job is about to run. */
export type SkipCondition<J extends object = any> = boolean | ((job: J) => boolean | Promise<boolean>);

/**
 * Skips a job (Laravel's `Skip`): when the condition holds the job is deleted without running
 * (not released, not failed). A function is asked on the worker, each attempt, with the job.
 *
 * @example
 * ```ts
 * middleware() { return [Skip.when((job: SendReminder) => job.order.cancelled)]; }
 * ```
 */
@JobMiddleware({ name: 'errand:Skip' })
export class Skip implements JobMiddleware {
  private constructor(
    public condition: SkipCondition,
    /** true for Skip.unless(): skip when the condition does not hold. */
    public negated: boolean,
  ) {}

  /** Skips the job when `condition` is (or returns) true. */
  static when<J extends object = any>(condition: SkipCondition<J>): Skip {
    return new Skip(condition, false);
  }

  /** Skips the job unless `condition` is (or returns) true. */
  static unless<J extends object = any>(condition: SkipCondition<J>): Skip {
    return new Skip(condition, true);
  }

  /** Runs the job unless it is to be skipped. */
  async handle(job: Queueable, next: NextMiddleware): Promise<unknown> {
    const holds = Boolean(typeof this.condition === 'function' ? await this.condition(job) : this.condition);
    // Returning without next() and without release()/fail() deletes the job.
    if (holds !== Boolean(this.negated)) return undefined;
    return next(job);
  }
}
