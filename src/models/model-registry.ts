import { ConfigError } from '../errors/config-error.js';
import type { RegisteredModel } from './model-options.js';

const byName = new Map<string, RegisteredModel>();
const byClass = new Map<Function, RegisteredModel>();

/** The `@Model` classes, by the name stored in payloads and by class. */
export const modelRegistry = {
  register(entry: RegisteredModel): void {
    const existing = byName.get(entry.name);
    if (existing && existing.target !== entry.target) {
      throw new ConfigError(`Two model classes are registered as [${entry.name}]; give one a distinct name with @Model({ name: '…' }).`);
    }
    byName.set(entry.name, entry);
    byClass.set(entry.target, entry);
  },
  byName(name: string): RegisteredModel | undefined {
    return byName.get(name);
  },
  byClass(target: Function): RegisteredModel | undefined {
    return byClass.get(target);
  },
  /** The entry of an instance's class (or of the nearest decorated ancestor). */
  byInstance(value: object): RegisteredModel | undefined {
    for (let proto = Object.getPrototypeOf(value); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
      const entry = byClass.get(proto.constructor);
      if (entry) return entry;
    }
    return undefined;
  },
};
