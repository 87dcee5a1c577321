import type { JobMiddleware } from '../contracts/job-middleware.js';
import { ConfigError } from '../errors/config-error.js';

const label = (middleware: object) => middleware.constructor?.name || 'middleware';

/**
 * The middleware one attempt runs through, outermost first: the job's own `middleware()` (built
 * now, on the worker, so it may hold closures and read the job's freshly loaded models), then the
 * ones the dispatch added with `through()`; Laravel merges them in the same order. A middleware()
 * that returns something else is a ConfigError naming the job: retrying could not fix it.
 */
export function middlewareFor(
  job: object,
  jobName: string,
  dispatched: readonly JobMiddleware<any>[] = [],
): JobMiddleware<any>[] {
  const method = (job as { middleware?: unknown }).middleware;
  // Only a method counts: a job may well hold data in a property that happens to be called so.
  if (typeof method !== 'function') return [...dispatched];
  const own: unknown = method.call(job);
  if (!Array.isArray(own)) {
    throw new ConfigError(
      `Job ${jobName}: middleware() must return an array of job middleware, got ${own === null ? 'null' : typeof own}.`,
    );
  }
  own.forEach((item: unknown, index) => {
    if (item === null || typeof item !== 'object' || typeof (item as { handle?: unknown }).handle !== 'function') {
      throw new ConfigError(
        `Job ${jobName}: middleware()[${index}] is not job middleware (an object with a handle(job, next) method).`,
      );
    }
  });
  return [...(own as JobMiddleware<any>[]), ...dispatched];
}

/**
 * Runs `core` (the call to handle()) inside the middleware, each one's `next` leading to the next
 * one. A middleware that never calls `next` stops there and `core` does not run. Calling `next`
 * twice is refused: a job runs once per attempt.
 */
export async function runMiddleware(
  job: object,
  jobName: string,
  pipeline: readonly JobMiddleware<any>[],
  core: () => Promise<unknown>,
): Promise<unknown> {
  // async: a middleware written without `async` still hands back a promise, and its throw rejects.
  const step = async (index: number): Promise<unknown> => {
    const middleware = pipeline[index];
    if (!middleware) return core();
    let called = false;
    return middleware.handle(job, () => {
      if (called)
        return Promise.reject(
          new Error(
            `Job ${jobName}: middleware ${label(middleware)} called next() twice; a job runs once per attempt.`,
          ),
        );
      called = true;
      return step(index + 1);
    });
  };
  return step(0);
}
