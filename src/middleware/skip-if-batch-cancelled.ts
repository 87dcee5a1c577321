import { JobMiddleware, type NextMiddleware } from '../decorators/job-middleware.js';
import type { Queueable } from '../job/queueable.js';

/**
 * Deletes a batched job without running it when its batch has been cancelled (Laravel's
 * `SkipIfBatchCancelled`). Cancelling a batch does not remove its queued jobs; this is how they
 * learn of it.
 *
 * @example
 * ```ts
 * middleware() { return [new SkipIfBatchCancelled()]; }
 * ```
 */
@JobMiddleware({ name: 'errand:SkipIfBatchCancelled' })
export class SkipIfBatchCancelled implements JobMiddleware {
  async handle(job: Queueable, next: NextMiddleware): Promise<unknown> {
    const batch = await job.batch();
    // Returning without next() deletes the job: it is counted as processed, so the batch can finish.
    if (batch?.cancelled()) return undefined;
    return next(job);
  }
}
