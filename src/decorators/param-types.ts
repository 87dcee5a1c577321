/**
 * The compiler settings that keep `design:paramtypes`, quoted by every error about it missing
 * (the full table is docs/typescript.md).
 */
export const METADATA_SETTINGS =
  'compile with experimentalDecorators and emitDecoratorMetadata: tsc (5.x to 7.x), swc with jsc.transform.decoratorMetadata, ts-node, ' +
  "or Vitest on Vite 8 (on older Vite, with unplugin-swc). esbuild and tsx drop this metadata, and Node's own type stripping refuses decorators (see docs/typescript.md).";

/**
 * The parameter types TypeScript emitted for a decorated method `key` of a prototype (or, without
 * `key`, a decorated class's constructor). A method's types are read from the prototype that
 * defines the method, never inherited: a subclass whose own `handle(a, b)` carries no decorator
 * has no types, even when the parent's `handle()` has some (Reflect.getMetadata would hand it the
 * parent's). Types fewer than the parameters before the first default count as none.
 */
export function paramTypesOf(target: object, key?: string | symbol): unknown[] | undefined {
  if (key === undefined) {
    const types: unknown = Reflect.getMetadata('design:paramtypes', target);
    return Array.isArray(types) ? types : undefined;
  }
  let owner: object | null = target;
  while (owner && !Object.prototype.hasOwnProperty.call(owner, key))
    owner = Object.getPrototypeOf(owner) as object | null;
  if (!owner) return undefined;
  const types: unknown = Reflect.getOwnMetadata('design:paramtypes', owner, key);
  const method = (owner as Record<string | symbol, unknown>)[key];
  if (!Array.isArray(types) || (typeof method === 'function' && types.length < method.length)) return undefined;
  return types;
}

/**
 * What is wrong with a job class whose `handle()` asks for services but has no parameter types to
 * resolve them by (undefined when nothing is). `length` counts the parameters before the first
 * one with a default, so a `handle()` that takes nothing, or only defaulted or rest parameters,
 * needs no metadata. Recorded when the class is decorated and refused when a worker starts
 * (refuseJobsWithoutParamTypes): a process that only dispatches the job never resolves them.
 */
export function handleParamTypesProblem(target: Function): string | undefined {
  const handle = (target.prototype as { handle: Function }).handle;
  if (handle.length === 0 || paramTypesOf(target.prototype as object, 'handle')) return undefined;
  return `handle() takes ${handle.length} parameter(s) but no parameter types were emitted for it (design:paramtypes)`;
}
