import type { ErrandConfig } from './config-types.js';

// errand's own option objects, where null is dropped; below them (a knex `connection` object, a
// container) values are the user's and are kept as they are.
const NESTED = new Set(['failed', 'locks', 'rateLimits', 'batching', 'paths']);
const IN_A_CONNECTION = new Set(['heartbeat', 'pool']);

/**
 * `config` with every option set to `null` left out, so that `null` means the default as leaving
 * the option out does: plain JavaScript builds configs from the environment
 * (`table: process.env.JOBS_TABLE ?? null`), and errand read null as the default before its
 * configuration had a schema (decision 0045). Only errand's option objects are copied.
 */
export function withoutNulls(config: ErrandConfig): ErrandConfig {
  return present(config, (key, value) => {
    if (key === 'connections')
      return present(value, (_, connection) =>
        present(connection, (option, inner) => (IN_A_CONNECTION.has(option) ? present(inner) : inner)),
      );
    return NESTED.has(key) ? present(value) : value;
  }) as ErrandConfig;
}

/** A copy of a plain object without its null values, each other value passed through `inside`; anything else as it is. */
function present(value: unknown, inside: (key: string, value: unknown) => unknown = (_, kept) => kept): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  const prototype: unknown = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return value;
  // fromEntries makes each key the copy's own: a connection may be named `__proto__`.
  return Object.fromEntries(
    Object.entries(value)
      .filter(([, entry]) => entry !== null)
      .map(([key, entry]) => [key, inside(key, entry)]),
  );
}
