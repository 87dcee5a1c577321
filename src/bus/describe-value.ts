/** A value as an error message shows it: a class by its name, never its source. */
export function describe(value: unknown): string {
  if (typeof value === 'function') return `the class or function ${value.name || '(anonymous)'}`;
  return value === null ? 'null' : typeof value === 'object' ? 'an object' : `${typeof value} ${JSON.stringify(value)}`;
}
