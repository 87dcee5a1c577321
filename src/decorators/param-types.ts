/**
 * The compiler settings that keep `design:paramtypes`, quoted by every error about it missing
 * (the full table is docs/typescript.md).
 */
export const METADATA_SETTINGS =
  'compile with experimentalDecorators and emitDecoratorMetadata: tsc (5.x to 7.x), swc with jsc.transform.decoratorMetadata, ts-node, ' +
  'or Vitest on Vite 8 (on older Vite, with unplugin-swc). esbuild and tsx drop this metadata, and Node\'s own type stripping refuses decorators (see docs/typescript.md).';

/** The parameter types TypeScript emitted for a decorated member (or, without `key`, a decorated class's constructor). */
export function paramTypesOf(target: object, key?: string | symbol): unknown[] | undefined {
  const types: unknown = key === undefined ? Reflect.getMetadata('design:paramtypes', target) : Reflect.getMetadata('design:paramtypes', target, key);
  return Array.isArray(types) ? types : undefined;
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
