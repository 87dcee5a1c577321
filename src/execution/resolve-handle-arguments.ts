import type { DependencyContainer } from 'tsyringe';

import { paramTypesOf as emittedParamTypes, METADATA_SETTINGS } from '../decorators/param-types.js';
import { BindingResolutionError } from '../errors/binding-resolution-error.js';

/** tsyringe's words for "nothing is registered that could build this" (4.x). */
const UNRESOLVED = /TypeInfo not known for|Attempted to resolve unregistered dependency token/;

/** design:paramtypes of each job class's handle(), read once: metadata is fixed when the class is defined. */
const paramTypes = new WeakMap<object, unknown[] | null>();

function paramTypesOf(prototype: object): unknown[] | undefined {
  let types = paramTypes.get(prototype);
  if (types === undefined) {
    types = emittedParamTypes(prototype, 'handle') ?? null;
    paramTypes.set(prototype, types);
  }
  return types ?? undefined;
}

const UNRESOLVABLE = new Set<unknown>([Object, String, Number, Boolean, Array, Function, Promise, undefined]);

/**
 * The services `handle(a: A, b: B)` asks for, resolved from the container by the parameter types
 * TypeScript emitted (design:paramtypes, present when handle() carries `@Inject()`). `container`
 * is called only when there is something to resolve. A worker refuses to start while a class whose
 * handle() takes parameters without that metadata is registered; this is the last word for one
 * registered after it started (a module imported lazily) and for the sync connection.
 */
export function resolveHandleArguments(
  job: object,
  displayName: string,
  container: () => DependencyContainer,
): unknown[] {
  const handle = (job as { handle: (...args: unknown[]) => unknown }).handle;
  const types = paramTypesOf(Object.getPrototypeOf(job) as object);
  if (!types) {
    if (handle.length === 0) return [];
    throw new BindingResolutionError(
      `${displayName}.handle() takes ${handle.length} parameter(s) but no type metadata was found: decorate handle() with @Inject(), and ${METADATA_SETTINGS}`,
    );
  }
  return types.map((type, index) => {
    if (UNRESOLVABLE.has(type)) {
      const typeName = typeof type === 'function' ? type.name : String(type);
      throw new BindingResolutionError(
        `${displayName}.handle() parameter ${index + 1} has type ${typeName}, which the container cannot resolve; give it a class type.`,
      );
    }
    try {
      return container().resolve(type as new (...args: unknown[]) => unknown);
    } catch (error) {
      // A factory or constructor that throws is the job's ordinary exception (retried); only
      // tsyringe saying it cannot build the type at all is a missing binding.
      if (!UNRESOLVED.test((error as Error)?.message ?? '')) throw error;
      const typeName = typeof type === 'function' ? type.name : String(type);
      throw new BindingResolutionError(
        `${displayName}.handle() parameter ${index + 1} (${typeName}) could not be resolved from the container: ${(error as Error).message} ` +
          `Register ${typeName} at bootstrap (container.register…), or decorate it with @injectable().`,
        { cause: error },
      );
    }
  });
}
