import { ClassRegistry } from '../registry/class-registry.js';
import type { RegisteredModel } from './model-options.js';

const classes = new ClassRegistry<RegisteredModel>(
  (name) => `Two model classes are registered as [${name}]; give one a distinct name with @Model({ name: '…' }).`,
);

/** The `@Model` classes, by the name stored in payloads and by class. */
export const modelRegistry = {
  register: (entry: RegisteredModel): void => classes.register(entry),
  byName: (name: string): RegisteredModel | undefined => classes.byName(name),
  byClass: (target: Function): RegisteredModel | undefined => classes.byClass(target),
  /** The entry of an instance's class (or of the nearest decorated ancestor). */
  byInstance(value: object): RegisteredModel | undefined {
    for (
      let proto = Object.getPrototypeOf(value);
      proto && proto !== Object.prototype;
      proto = Object.getPrototypeOf(proto)
    ) {
      const entry = classes.byClass(proto.constructor);
      if (entry) return entry;
    }
    return undefined;
  },
};
