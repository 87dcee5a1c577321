/** An error class (matched with instanceof, subclasses included). */
export type ErrorClass = abstract new (...args: any[]) => Error;

/** An error class, or a predicate of the error and the job. */
export type ErrorMatcher = ErrorClass | ((error: Error, job: any) => boolean);

/** Whether `value` is an error class rather than a predicate: Error itself or a class extending it. */
export function isErrorClass(value: unknown): value is ErrorClass {
  return (
    typeof value === 'function' && (value === Error || (value as { prototype?: unknown }).prototype instanceof Error)
  );
}

/** Whether `error` matches: an instance of the class, or the predicate says so. */
export function matchesError(matcher: ErrorMatcher, error: Error, job: object): boolean {
  return isErrorClass(matcher)
    ? error instanceof matcher
    : Boolean((matcher as (error: Error, job: object) => boolean)(error, job));
}
