import { EventEmitter } from 'node:events';

import { instanceToPlain, plainToClassFromExist } from 'class-transformer';

import { PayloadError } from '../errors/payload-error.js';
import { modelResolvers } from '../models/model-resolvers.js';
import { isClassInstance } from './model-identifiers.js';
import { copiedAsIs } from './transformer-metadata.js';

/**
 * Keys that would reach an object's prototype when the data is copied onto a job instance
 * (prototype pollution); a payload holding one anywhere is refused before anything is restored.
 */
export const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];

/** Live state that no serializer can carry to another process. */
const LIVE: Array<[Function, string]> = [
  [EventEmitter, 'live connection or stream'],
  [Promise, 'pending computation'],
  [WeakMap, 'weak collection'],
  [WeakSet, 'weak collection'],
  [WeakRef, 'weak reference'],
  [ArrayBuffer, 'binary buffer (store it as a base64 string)'],
];

const describe = (value: unknown) =>
  value === null
    ? 'null'
    : typeof value === 'object'
      ? ((value as object).constructor?.name ?? 'object')
      : typeof value;

/** A copy of plain JSON data (primitives, arrays, objects), as instanceToPlain makes it (holes in arrays closed). */
function copyPlain(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    value.forEach((entry) => copy.push(copyPlain(entry)));
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) copy[key] = copyPlain((value as Record<string, unknown>)[key]);
  return copy;
}

/**
 * What the walk learnt: whether anything typed (a Date, a class instance) needs the round trip
 * checked, since plain JSON values always survive it.
 */
interface Walk {
  typed: boolean;
}

/**
 * The plain JSON of an object's own data (minus `skip`, the model properties), through
 * class-transformer so `@Type`, `@Exclude` and friends apply. Anything that would not come back
 * as it went in is refused now, naming the owner and the property: functions, symbols, bigints,
 * non-finite numbers, circular structures, live objects (sockets, streams, promises), models
 * nested below a top-level property, and Dates or class instances without a `@Type` telling
 * class-transformer what to rebuild.
 */
export function toPlainData(
  owner: object,
  name: string,
  options: { kind?: string; skip?: ReadonlySet<string> } = {},
): Record<string, unknown> {
  const ownerName = `${options.kind ?? 'Job'} ${name}`;
  const { skip } = options;
  const proto = Object.getPrototypeOf(owner) as object;
  const shadow = Object.create(proto) as Record<string, unknown>;
  const walk: Walk = { typed: false };
  const keys: string[] = [];
  const about: Owner = { ownerName, name };
  const ancestors = [owner];
  for (const key of Object.keys(owner)) {
    if (skip?.has(key)) continue;
    if (FORBIDDEN_KEYS.includes(key))
      throw new PayloadError(`${ownerName} cannot be queued: it holds the forbidden key [${key}] at ${name}.${key}.`);
    const value = (owner as Record<string, unknown>)[key];
    shadow[key] = value;
    keys.push(key);
    inspect(value, key, about, walk, ancestors);
  }
  // Plain JSON in a class no decorator reshapes: instanceToPlain would only copy it.
  if (!walk.typed && copiedAsIs(owner.constructor, keys, 'toPlain')) {
    const copy: Record<string, unknown> = {};
    for (const key of keys) copy[key] = copyPlain(shadow[key]);
    return copy;
  }
  let plain: Record<string, unknown>;
  try {
    plain = instanceToPlain(shadow) as Record<string, unknown>;
  } catch (error) {
    throw new PayloadError(`${ownerName} cannot be serialized: ${(error as Error).message}`, { cause: error });
  }
  if (!walk.typed) return plain;
  // Dates and class instances: prove the round trip now rather than discover it on the worker.
  const json = JSON.parse(JSON.stringify(plain)) as Record<string, unknown>;
  let restored: Record<string, unknown>;
  try {
    restored = plainToClassFromExist(Object.create(proto) as object, json) as Record<string, unknown>;
  } catch (error) {
    throw new PayloadError(
      `${ownerName} cannot be queued: its data could not be restored as a worker would restore it: ${(error as Error).message}`,
      { cause: error },
    );
  }
  for (const key of Object.keys(json)) compare(shadow[key], restored[key], key, ownerName);
  return json;
}

function refuse(ownerName: string, path: string, what: string): never {
  throw new PayloadError(`${ownerName} cannot be queued: property ${path} holds ${what}.`);
}

interface Owner {
  ownerName: string;
  name: string;
}

function inspect(value: unknown, path: string, owner: Owner, walk: Walk, ancestors: object[]): void {
  const { ownerName } = owner;
  switch (typeof value) {
    case 'function':
      return refuse(
        ownerName,
        path,
        'a function; only data can be queued (register behaviour by name and store the name)',
      );
    case 'symbol':
      return refuse(ownerName, path, 'a symbol, which JSON cannot carry');
    case 'bigint':
      return refuse(ownerName, path, 'a bigint, which JSON cannot carry; store it as a string');
    case 'number':
      if (!Number.isFinite(value)) refuse(ownerName, path, `${value}, which JSON turns into null`);
      return;
    case 'object':
      break;
    default:
      return;
  }
  if (value === null) return;
  if (ancestors.includes(value)) return refuse(ownerName, path, 'a circular reference (it contains itself)');
  for (const [type, label] of LIVE) {
    if (value instanceof type) return refuse(ownerName, path, `a ${describe(value)}, a ${label}`);
  }
  if (ArrayBuffer.isView(value))
    return refuse(ownerName, path, `a ${describe(value)}, a binary buffer (store it as a base64 string)`);
  if (value instanceof Date) {
    if (Number.isNaN(value.getTime())) refuse(ownerName, path, 'an invalid Date');
    walk.typed = true;
    return;
  }
  if (isClassInstance(value)) {
    const model = modelResolvers.identify(value);
    if (model) {
      return refuse(
        ownerName,
        path,
        `a ${model.class} model below the top level; only a job's own properties (or arrays of models) are stored as identifiers`,
      );
    }
    walk.typed = true;
  }
  const next = [...ancestors, value];
  if (value instanceof Map) {
    for (const [key, entry] of value) {
      if (typeof key !== 'string')
        refuse(
          ownerName,
          `${path}`,
          `a Map with the ${describe(key)} key ${String(key)}, which would come back as a string; use string keys`,
        );
      inspect(entry, `${path}.get(${JSON.stringify(key)})`, owner, walk, next);
    }
    return;
  }
  if (value instanceof Set) {
    let index = 0;
    for (const entry of value) inspect(entry, `${path}[set ${index++}]`, owner, walk, next);
    return;
  }
  for (const [key, entry] of Object.entries(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
    if (FORBIDDEN_KEYS.includes(key)) {
      throw new PayloadError(
        `${ownerName} cannot be queued: it holds the forbidden key [${key}] at ${owner.name}.${here}.`,
      );
    }
    inspect(entry, here, owner, walk, next);
  }
}

function compare(original: unknown, restored: unknown, path: string, ownerName: string): void {
  if (original === null || typeof original !== 'object') return;
  if (original instanceof Date) {
    if (!(restored instanceof Date) || restored.getTime() !== original.getTime()) {
      refuse(
        ownerName,
        path,
        `a Date that would come back as ${describe(restored)}; declare it with @Type(() => Date)`,
      );
    }
    return;
  }
  const type = (original as object).constructor;
  if (isClassInstance(original) && !(restored instanceof (type as new () => unknown))) {
    refuse(
      ownerName,
      path,
      `an instance of ${describe(original)} that would come back as ${describe(restored)}; declare the property with @Type(() => ${describe(original)})`,
    );
  }
  if (restored === null || typeof restored !== 'object') return;
  if (original instanceof Map && restored instanceof Map) {
    for (const [key, entry] of original)
      compare(entry, restored.get(key), `${path}.get(${JSON.stringify(key)})`, ownerName);
    return;
  }
  if (original instanceof Set || restored instanceof Set) return;
  for (const key of Object.keys(original)) {
    if (key in (restored as object)) {
      compare(
        (original as Record<string, unknown>)[key],
        (restored as Record<string, unknown>)[key],
        Array.isArray(original) ? `${path}[${key}]` : `${path}.${key}`,
        ownerName,
      );
    }
  }
}
