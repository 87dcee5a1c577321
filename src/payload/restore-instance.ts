import { plainToClassFromExist } from 'class-transformer';

import { copiedAsIs } from './transformer-metadata.js';

/**
 * Fills `blank` (an instance made without its constructor) with the job's stored data, as
 * class-transformer's `plainToClassFromExist` does. For the common job (no class-transformer
 * decorator reshapes its data, and the data are all strings, numbers, booleans or nulls) the same
 * result is reached without it, which is most of the cost of decoding a small job: the keys its
 * prototype defines as methods or getter-only properties are skipped, as class-transformer skips
 * them; every other key is assigned. Anything else (nested objects, arrays, decorated properties)
 * goes through class-transformer.
 */
export function restoreInstance<T extends object>(blank: T, data: Record<string, unknown>): T {
  const target = (blank as { constructor: Function }).constructor;
  const keys = Object.keys(data);
  for (const key of keys) {
    const value = data[key];
    if (value !== null && typeof value === 'object') return plainToClassFromExist(blank, data);
  }
  if (!copiedAsIs(target, keys, 'toClass')) return plainToClassFromExist(blank, data);
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
