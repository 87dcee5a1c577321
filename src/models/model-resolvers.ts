import type { ModelIdentity, ModelResolver } from '../contracts/model-resolver.js';

const registered: ModelResolver[] = [];
let builtIn: ModelResolver | undefined;

/**
 * Adds a resolver for your ORM's models. Resolvers are asked in the order they were registered,
 * before the built-in one for `@Model` classes.
 */
export function registerModelResolver(resolver: ModelResolver): void {
  if (!registered.includes(resolver)) registered.push(resolver);
}

/** Removes a resolver added with registerModelResolver (for tests). */
export function forgetModelResolver(resolver: ModelResolver): void {
  const index = registered.indexOf(resolver);
  if (index >= 0) registered.splice(index, 1);
}

function all(): ModelResolver[] {
  return builtIn ? [...registered, builtIn] : registered;
}

/** The resolvers in the order they are asked. */
export const modelResolvers = {
  /** Installs the resolver for `@Model` classes (done once, by the runtime). */
  setBuiltIn(resolver: ModelResolver): void {
    builtIn = resolver;
  },
  /** The identity of a model and its resolver, or undefined for anything that is not a model. */
  identify(value: object): ModelIdentity | undefined {
    for (const resolver of all()) {
      const identity = resolver.identify(value);
      if (identity) return identity;
    }
    return undefined;
  },
  /** The resolver that fetches models registered under `className`. */
  forClass(className: string): ModelResolver | undefined {
    return all().find((resolver) => resolver.resolves(className));
  },
};
