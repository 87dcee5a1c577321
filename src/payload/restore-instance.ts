import { createRequire } from 'node:module';

import { plainToClassFromExist } from 'class-transformer';

// class-transformer's registry of @Type/@Transform/@Expose/@Exclude: its public API answers per
// property only, and the question here is whether a class has any at all. Required, not
// imported: the package ships no types for the path, and `require` shares the instance that
// `class-transformer` itself (CommonJS) loaded.
const { defaultMetadataStorage } = createRequire(import.meta.url)('class-transformer/cjs/storage.js') as { defaultMetadataStorage: unknown };

/** The registry's maps by decorated class (0.5.x; read, never written). */
interface MetadataMaps {
  _typeMetadatas: Map<Function, unknown>;
  _transformMetadatas: Map<Function, unknown>;
  _exposeMetadatas: Map<Function, unknown>;
  _excludeMetadatas: Map<Function, unknown>;
  getAncestors(target: Function): Function[];
}

const undecorated = new WeakMap<Function, boolean>();

/**
 * Whether neither `target` nor a class it extends carries a class-transformer decorator. Asked
 * once per class: decorators run when the class is defined, before any job of it is decoded.
 */
function isUndecorated(target: Function): boolean {
  let known = undecorated.get(target);
  if (known === undefined) {
    const storage = defaultMetadataStorage as unknown as MetadataMaps;
    const maps = [storage._typeMetadatas, storage._transformMetadatas, storage._exposeMetadatas, storage._excludeMetadatas];
    // A class-transformer that stores its metadata elsewhere (another version) is never bypassed.
    known = maps.every((map) => map instanceof Map) && [target, ...storage.getAncestors(target)].every((cls) => maps.every((map) => !map.has(cls)));
    undecorated.set(target, known);
  }
  return known;
}

/**
 * Fills `blank` (an instance made without its constructor) with the job's stored data, as
 * class-transformer's `plainToClassFromExist` does. For the common job (a class with no
 * class-transformer decorators whose data are all strings, numbers, booleans or nulls) the same
 * result is reached without it, which is most of the cost of decoding a small job: the keys its
 * prototype defines as methods or getter-only properties are skipped, as class-transformer skips
 * them; every other key is assigned. Anything else (nested objects, arrays, decorated classes)
 * goes through class-transformer.
 */
export function restoreInstance<T extends object>(blank: T, data: Record<string, unknown>): T {
  const target = (blank as { constructor: Function }).constructor;
  if (!isUndecorated(target)) return plainToClassFromExist(blank, data);
  const keys = Object.keys(data);
  for (const key of keys) {
    const value = data[key];
    if (value !== null && typeof value === 'object') return plainToClassFromExist(blank, data);
  }
  const prototype = target.prototype as object;
  const record = blank as Record<string, unknown>;
  for (const key of keys) {
    if (key === '__proto__' || key === 'constructor') continue;
    const descriptor = Object.getOwnPropertyDescriptor(prototype, key);
    if ((descriptor && !descriptor.set) || record[key] instanceof Function) continue;
    record[key] = data[key];
  }
  return blank;
}
