import { createRequire } from 'node:module';

import { Exclude, TransformationType } from 'class-transformer';

/** The part of class-transformer's metadata storage (what its decorators record) read here. */
interface TransformMetadata {
  getExposedMetadatas(target: Function): unknown[];
  getExcludedMetadatas(target: Function): unknown[];
  getStrategy(target: Function): string;
  findTypeMetadata(target: Function, property: string): unknown;
  findTransformMetadatas(target: Function, property: string, type: TransformationType): unknown[];
}

/**
 * class-transformer's metadata, to tell which classes it would copy as they are. Its storage is
 * not in its typed API (hence `require`, which also shares the instance the CommonJS package
 * loaded), so it is only used when it answers as expected: a bundled second copy of the library,
 * or another layout, leaves it undefined and every class goes through class-transformer.
 */
const metadata = ((): TransformMetadata | undefined => {
  try {
    const storage = (
      createRequire(import.meta.url)('class-transformer/cjs/storage.js') as {
        defaultMetadataStorage?: TransformMetadata;
      }
    ).defaultMetadataStorage;
    if (
      !storage ||
      typeof storage.findTypeMetadata !== 'function' ||
      typeof storage.findTransformMetadatas !== 'function' ||
      typeof storage.getStrategy !== 'function'
    )
      return undefined;
    // The storage the decorators we import write to, and no other.
    class Probe {}
    Exclude()(Probe.prototype, 'probe');
    return storage.getExcludedMetadatas(Probe).length === 1 && storage.getExposedMetadatas(Probe).length === 0
      ? storage
      : undefined;
  } catch {
    return undefined;
  }
})();

/** Which way data goes: into the payload (`toPlain`) or back into an instance (`toClass`). */
export type TransformDirection = 'toPlain' | 'toClass';

/**
 * Per class and direction, the properties class-transformer would copy as they are (no @Type or
 * @Transform for that direction); false for a class it reshapes as a whole (@Expose, @Exclude).
 * Decorators run when a class is defined, so the answer never changes.
 */
const untransformed = {
  toPlain: new WeakMap<Function, Map<string, boolean> | false>(),
  toClass: new WeakMap<Function, Map<string, boolean> | false>(),
};

/** Whether class-transformer would copy each of `keys` of a `target` instance as it is, in `direction`. */
export function copiedAsIs(target: Function, keys: readonly string[], direction: TransformDirection): boolean {
  if (!metadata || typeof target !== 'function') return false;
  const cache = untransformed[direction];
  let known = cache.get(target);
  if (known === undefined) {
    // A class-level @Exclude() or @Expose() (a strategy) shows in getStrategy only, not in the lists.
    const reshaped =
      metadata.getStrategy(target) !== 'none' ||
      metadata.getExposedMetadatas(target).length > 0 ||
      metadata.getExcludedMetadatas(target).length > 0;
    known = reshaped ? false : new Map();
    cache.set(target, known);
  }
  if (known === false) return false;
  const type = direction === 'toPlain' ? TransformationType.CLASS_TO_PLAIN : TransformationType.PLAIN_TO_CLASS;
  for (const key of keys) {
    let plain = known.get(key);
    if (plain === undefined) {
      plain =
        metadata.findTypeMetadata(target, key) === undefined &&
        metadata.findTransformMetadatas(target, key, type).length === 0;
      known.set(key, plain);
    }
    if (!plain) return false;
  }
  return true;
}
