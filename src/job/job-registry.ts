import { ClassRegistry } from '../registry/class-registry.js';
import type { JobOptions } from './job-options.js';

/** A class `@Job` has registered. */
export interface RegisteredJob {
  readonly name: string;
  readonly target: new (...args: any[]) => object;
  readonly options: Readonly<JobOptions>;
  /**
   * Why `handle()`'s services cannot be resolved (parameters without emitted types), found when
   * the class was decorated; a worker refuses to start while such a class is registered.
   */
  readonly paramTypesProblem?: string;
}

/**
 * The allow-list of job classes. A payload is only ever decoded into a class found here by the
 * name it carries; nothing in a payload is evaluated.
 */
export const jobRegistry = new ClassRegistry<RegisteredJob>(
  (name) => `Two job classes are registered as [${name}]; give one a distinct name with @Job({ name: '…' }).`,
);
