import type { JobMiddleware } from '../contracts/job-middleware.js';
import { ClassRegistry } from '../registry/class-registry.js';

/** A middleware class `@JobMiddleware` has registered. */
export interface RegisteredMiddleware {
  readonly name: string;
  readonly target: new (...args: any[]) => JobMiddleware<any>;
}

/**
 * The allow-list of middleware classes a payload's `middleware` key may name: middleware given
 * to `through()` is stored by this name and rebuilt on the worker only from a class found here.
 */
export const middlewareRegistry = new ClassRegistry<RegisteredMiddleware>(
  (name) =>
    `Two job middleware classes are registered as [${name}]; give one a distinct name with @JobMiddleware({ name: '…' }).`,
);
