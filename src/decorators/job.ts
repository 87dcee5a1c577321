import { ConfigError } from '../errors/config-error.js';
import { refuseUnsupportedMethods } from '../job/instance-options.js';
import type { JobOptions } from '../job/job-options.js';
import { jobRegistry } from '../job/job-registry.js';
import { validateJobOptions } from '../job/validate-job-options.js';
import { validateUniqueCombination } from '../job/validate-unique-options.js';
import { handleParamTypesProblem } from './param-types.js';

/**
 * Marks a class extending `Queueable` as a job and registers it under its name (the class name
 * unless `name` is given). Only registered classes are ever decoded from a payload. The job may
 * also set options on itself, as in Laravel (`tries = 3`, `backoff()`, `retryUntil()` …): read at
 * dispatch, they override these.
 *
 * @example
 * ```ts
 * @Job({ queue: 'events', tries: 5, backoff: [1, 5, 10] })
 * export class AddToCart extends Queueable { … }
 * ```
 */
export function Job(options: JobOptions = {}): <T extends Function>(target: T) => T {
  // Returns the class, so plain JavaScript can write `const A = Job({...})(class A …)`.
  return (target) => {
    const name = options.name ?? target.name;
    if (!name) throw new ConfigError('@Job() on an anonymous class needs a `name` option.');
    validateJobOptions(name, options);
    validateUniqueCombination(name, options);
    if (typeof (target.prototype as { handle?: unknown }).handle !== 'function') {
      throw new ConfigError(`Job ${name} has no handle() method.`);
    }
    // Not refused here: a process that only dispatches the job (a web server under tsx, tests with
    // Queue.fake()) never resolves handle()'s services. A worker refuses to start instead.
    const paramTypesProblem = handleParamTypesProblem(target);
    // Options set on the job itself (`tries = 3`, `backoff()`) are read at dispatch; the Laravel
    // members errand cannot honour are refused now when they are methods.
    refuseUnsupportedMethods(target.prototype as object, `Job ${name}`);
    jobRegistry.register({
      name,
      target: target as unknown as new (...args: any[]) => object,
      options: Object.freeze({ ...options }),
      ...(paramTypesProblem ? { paramTypesProblem } : {}),
    });
    return target;
  };
}
