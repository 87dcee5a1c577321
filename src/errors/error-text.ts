/** How long the one-line summary of an error may grow before it is cut (the full text is in failed_jobs and `-v`). */
export const SUMMARY_LENGTH = 300;

/**
 * The class of an error as a user would name it: `TypeError`, `PayloadError`, or the subclass of a
 * thrown `class MyError extends Error {}` that never set its `name`.
 */
export function errorClassName(error: unknown): string {
  if (!(error instanceof Error))
    return typeof error === 'object' && error !== null ? (error.constructor?.name ?? 'Object') : typeof error;
  if (error.name && error.name !== 'Error') return error.name;
  return error.constructor?.name || 'Error';
}

/**
 * `Class: message` on one line: newlines and the whitespace around them become one space, and a
 * text longer than `max` characters is cut with `…`.
 */
export function errorSummary(error: unknown, max: number = SUMMARY_LENGTH): string {
  const message = error instanceof Error ? error.message : String(error);
  const text = `${errorClassName(error)}: ${message}`.replace(/\s*[\r\n]+\s*/g, ' ').trim();
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/**
 * The stack of an error and of each error in its `cause` chain (as `Caused by: …`), for `-v`.
 * An error without a stack is given as `Class: message`.
 */
export function stackWithCauses(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let each: unknown = error;
  while (each !== undefined && each !== null && !seen.has(each) && parts.length < 5) {
    seen.add(each);
    const text = each instanceof Error && each.stack ? each.stack : errorSummary(each, Infinity);
    parts.push(parts.length === 0 ? text : `Caused by: ${text}`);
    each = each instanceof Error ? each.cause : undefined;
  }
  return parts.join('\n');
}

/** Turns anything thrown into an Error, so the failed record always has a message and stack. */
export function toError(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(typeof thrown === 'string' ? thrown : `Non-error thrown: ${JSON.stringify(thrown)}`);
}
