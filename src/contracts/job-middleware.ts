/**
 * What every job offers its middleware (Laravel's InteractsWithQueue): `Queueable` has all of it.
 * The contract's default is this shape rather than `Queueable` itself, so the contracts import
 * nothing; the public `JobMiddleware` and `NextMiddleware` (decorators/job-middleware.ts) default
 * to `Queueable`.
 */
export interface InteractsWithQueue {
  attempts(): number;
  release(delaySeconds?: number): void;
  delete(): void;
  fail(error?: Error | string): void;
}

/**
 * Passes the job on to the next middleware, or to `handle()` after the last one. It resolves when
 * everything inside has finished and rejects with what `handle()` (or an inner middleware) threw.
 */
export type NextMiddleware<J extends object = InteractsWithQueue> = (job: J) => Promise<unknown>;

/**
 * Job middleware (Laravel's job middleware): wraps each attempt of a job, around `handle()`.
 * A middleware that returns without calling `next(job)` and without calling the job's
 * `release()`, `delete()` or `fail()` ends the attempt as done: the job is deleted.
 *
 * @example
 * ```ts
 * @JobMiddleware()
 * export class EnsureTokenIsValid implements JobMiddleware {
 *   async handle(job: Queueable, next: NextMiddleware) {
 *     if (await tokens.valid()) return next(job);
 *     job.release(30);
 *   }
 * }
 * ```
 */
export interface JobMiddleware<J extends object = InteractsWithQueue> {
  // A method (not a property) so a middleware written for one job class fits a JobMiddleware[].
  handle(job: J, next: NextMiddleware<J>): Promise<unknown>;
}
