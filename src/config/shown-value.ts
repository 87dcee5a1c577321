// A config is often built from the environment (`connection: process.env.DATABASE_URL`, `key:
// process.env.ERRAND_KEY`), and its errors go to terminals, CI logs and error trackers: a rejected
// value is quoted only as far as it holds no secret.

import { withoutCredentials } from '../runtime/without-credentials.js';

/** Names whose values are secrets: a `password`, an encryption `key`, a `token` … */
const SECRET_NAME = /pass|secret|token|key|credential|auth/i;

const MAX_LENGTH = 80;

/**
 * How a rejected config value at `path` is quoted in an error, without what may be a secret:
 * nothing of a value under a secret's name (`key`, `previousKeys[0]`, `…password`) but its kind,
 * lists and objects included;
 * a URL or connection string without its user info and password (`postgres://***@db/app`,
 * `password=***`); an object by its kind and key names, never its values.
 */
export function shownValue(value: unknown, path: readonly PropertyKey[]): string {
  const secret = path.some((segment) => typeof segment === 'string' && SECRET_NAME.test(segment));
  // A list or object under a secret's name may hold the secret itself (`key: [process.env.ERRAND_KEY]`).
  if (secret && value !== null && value !== undefined && typeof value !== 'boolean' && typeof value !== 'function') {
    const kind = Array.isArray(value) ? 'a list' : typeof value === 'object' ? 'an object' : article(typeof value);
    return `${kind} (not shown: it may be a secret)`;
  }
  return shorten(shown(value));
}

function shown(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'string') return JSON.stringify(withoutCredentials(value));
  if (Array.isArray(value)) return `[${value.map(shown).join(', ')}]`;
  if (value === null || typeof value !== 'object') return String(value);
  const prototype = Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null;
  const kind =
    prototype === null || prototype === Object.prototype
      ? 'an object'
      : article(prototype.constructor?.name || 'object');
  const keys = Object.keys(value);
  return keys.length === 0 ? `${kind} {}` : `${kind} { ${keys.join(', ')} }`;
}

function article(kind: string): string {
  return `${/^[aeiou]/i.test(kind) ? 'an' : 'a'} ${kind}`;
}

function shorten(text: string): string {
  return text.length > MAX_LENGTH ? `${text.slice(0, MAX_LENGTH - 3)}...` : text;
}
