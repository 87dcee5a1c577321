import { ConfigError } from '../errors/config-error.js';
import type { JobOptions } from './job-options.js';

/** A class `@Job` has registered. */
export interface RegisteredJob {
  readonly name: string;
  readonly target: new (...args: any[]) => object;
  readonly options: Readonly<JobOptions>;
}

const byName = new Map<string, RegisteredJob>();
const byClass = new Map<Function, RegisteredJob>();

/**
 * The allow-list of job classes. A payload is only ever decoded into a class found here by the
 * name it carries; nothing in a payload is evaluated.
 */
export const jobRegistry = {
  register(entry: RegisteredJob): void {
    const existing = byName.get(entry.name);
    if (existing && existing.target !== entry.target) {
      throw new ConfigError(
        `Two job classes are registered as [${entry.name}]; give one a distinct name with @Job({ name: '…' }).`,
      );
    }
    byName.set(entry.name, entry);
    byClass.set(entry.target, entry);
  },
  byName(name: string): RegisteredJob | undefined {
    return byName.get(name);
  },
  byClass(target: Function): RegisteredJob | undefined {
    return byClass.get(target);
  },
};
