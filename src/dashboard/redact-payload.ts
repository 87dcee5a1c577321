import { withoutCredentials } from '../runtime/without-credentials.js';

/** What a redacted value shows instead. */
export const REDACTED = '[redacted]';

/**
 * Hidden values shorter than this are not scrubbed from free text: a two-letter value would blank
 * every unrelated occurrence of those letters in an exception. The `name=value` and URL scrubbing
 * still catches short secrets written next to their name.
 */
const SHORTEST_SCRUBBED = 4;

/** A payload as shown, and the values its redaction hid (to scrub from text that may echo them). */
export interface RedactedPayload {
  readonly shown: unknown;
  readonly hidden: readonly string[];
}

/**
 * A payload ready to show: parsed, with every value that names one of `keys` (case-insensitive,
 * as a part of the name) replaced by "[redacted]", at any depth: object keys, `[name, value]`
 * pairs, and `{ name | key, value }` objects (header lists). Inside string values, a URL's user
 * info and a `name=value` pair whose name matches (form-encoded or connection strings) are
 * scrubbed. Strings that hold JSON (a chain's frozen payloads) are parsed and redacted too. Text
 * that is not JSON is scrubbed as a string value.
 */
export function redactPayload(payload: string, keys: readonly string[]): unknown {
  return redactJobPayload(payload, keys).shown;
}

/** {@link redactPayload}, also returning the values it hid. */
export function redactJobPayload(payload: string, keys: readonly string[]): RedactedPayload {
  const matcher = keyMatcher(keys);
  const hidden = new Set<string>();
  const hide = (value: unknown, depth: number): string => {
    collect(value, hidden, depth);
    return REDACTED;
  };
  const walk = (value: unknown, depth: number): unknown => {
    if (depth > 64) return REDACTED;
    if (typeof value === 'string') {
      const nested = parseObject(value);
      return nested === undefined ? scrubString(value, matcher, hidden) : walk(nested, depth + 1);
    }
    if (Array.isArray(value)) {
      if (value.length === 2 && typeof value[0] === 'string' && matcher(value[0])) {
        return [value[0], hide(value[1], depth + 1)];
      }
      return value.map((item) => walk(item, depth + 1));
    }
    if (value && typeof value === 'object') {
      const entries = Object.entries(value);
      const named = pairName(value);
      const out: Record<string, unknown> = {};
      for (const [key, item] of entries) {
        const secret = matcher(key) || (named !== undefined && key === 'value' && matcher(named));
        const shown = secret ? hide(item, depth + 1) : walk(item, depth + 1);
        // Defined, not assigned: a payload's own `__proto__` key must stay a plain key.
        Object.defineProperty(out, key, { value: shown, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return value;
  };
  const parsed = parseObject(payload);
  const shown = parsed === undefined ? scrubString(payload, matcher, hidden) : walk(parsed, 0);
  return { shown, hidden: [...hidden] };
}

/**
 * `text` (an exception) without the `hidden` values a payload's redaction hid, nor the
 * credentials a URL or `password=`-like pair carries: exceptions often quote the job's data.
 */
export function scrubText(text: string, hidden: readonly string[], keys: readonly string[]): string {
  let out = text;
  const longestFirst = hidden.filter((value) => value.length >= SHORTEST_SCRUBBED).sort((a, b) => b.length - a.length);
  for (const value of longestFirst) out = out.split(value).join(REDACTED);
  return withoutCredentials(scrubString(out, keyMatcher(keys), new Set()));
}

function keyMatcher(keys: readonly string[]): (name: string) => boolean {
  const lowered = keys.map((key) => key.toLowerCase()).filter((key) => key !== '');
  return (name) => {
    const low = name.toLowerCase();
    return lowered.some((part) => low.includes(part));
  };
}

/** The name of a `{ name, value }` / `{ key, value }` object, if it is one. */
function pairName(value: object): string | undefined {
  if (!('value' in value)) return undefined;
  const record = value as { name?: unknown; key?: unknown };
  if (typeof record.name === 'string') return record.name;
  if (typeof record.key === 'string') return record.key;
  return undefined;
}

/** Every string (and number) inside a hidden value, so free text can be scrubbed of it. */
function collect(value: unknown, into: Set<string>, depth: number): void {
  if (depth > 64) return;
  if (typeof value === 'string') into.add(value);
  else if (typeof value === 'number' && Number.isFinite(value)) into.add(String(value));
  else if (value && typeof value === 'object') {
    for (const item of Object.values(value)) collect(item, into, depth + 1);
  }
}

const URL_USER_INFO = /([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^\s/?#]*)@/g;
const NAME_VALUE = /([A-Za-z_][\w.-]*)=([^&;\s]*)/g;

/** A string value with a URL's user info and matching `name=value` values hidden (and collected). */
function scrubString(text: string, matcher: (name: string) => boolean, hidden: Set<string>): string {
  return text
    .replace(URL_USER_INFO, (_match, scheme: string, userInfo: string) => {
      const colon = userInfo.indexOf(':');
      if (colon < 0) return `${scheme}${userInfo}@`;
      hidden.add(decodeSafely(userInfo.slice(colon + 1)));
      hidden.add(userInfo.slice(colon + 1));
      return `${scheme}${userInfo.slice(0, colon)}:${REDACTED}@`;
    })
    .replace(NAME_VALUE, (match, name: string, value: string) => {
      if (!matcher(name) || value === '' || value === REDACTED) return match;
      hidden.add(value);
      hidden.add(decodeSafely(value));
      return `${name}=${REDACTED}`;
    });
}

function decodeSafely(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

function parseObject(text: string): object | undefined {
  const start = text.trimStart()[0];
  if (start !== '{' && start !== '[') return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return value && typeof value === 'object' ? value : undefined;
  } catch {
    return undefined;
  }
}
