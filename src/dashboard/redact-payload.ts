/** What a redacted value shows instead. */
export const REDACTED = '[redacted]';

/**
 * A payload ready to show: parsed, with the value of every key that contains one of `keys`
 * (case-insensitive) replaced by "[redacted]", at any depth. Strings that hold JSON objects (a
 * chain's frozen payloads) are parsed and redacted too, so no nested copy shows a secret. Text
 * that is not JSON is shown as it is.
 */
export function redactPayload(payload: string, keys: readonly string[]): unknown {
  const lowered = keys.map((key) => key.toLowerCase()).filter((key) => key !== '');
  const hidden = (key: string) => {
    const name = key.toLowerCase();
    return lowered.some((part) => name.includes(part));
  };
  const walk = (value: unknown, depth: number): unknown => {
    if (depth > 64) return REDACTED;
    if (typeof value === 'string') {
      const nested = parseObject(value);
      return nested === undefined ? value : walk(nested, depth + 1);
    }
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    if (value && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        // Defined, not assigned: a payload's own `__proto__` key must stay a plain key.
        const shown = hidden(key) ? REDACTED : walk(item, depth + 1);
        Object.defineProperty(out, key, { value: shown, enumerable: true, writable: true, configurable: true });
      }
      return out;
    }
    return value;
  };
  const parsed = parseObject(payload);
  return parsed === undefined ? payload : walk(parsed, 0);
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
