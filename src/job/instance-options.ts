import { ConfigError } from '../errors/config-error.js';
import type { JobOptions } from './job-options.js';
import { validateJobOptions } from './validate-job-options.js';

/**
 * The options a job may also declare on itself, as Laravel reads them from the job object: a
 * property (`tries = 3`) or a method (`backoff() { return [1, 5]; }`). They are read when the job
 * is dispatched, override the class's `@Job` options, are overridden by the dispatch's
 * `.options()`, and are frozen into the payload (docs/decisions/0044-laravel-options-on-the-job.md).
 */
export const INSTANCE_OPTION_NAMES = [
  'connection',
  'queue',
  'tries',
  'maxExceptions',
  'timeout',
  'failOnTimeout',
  'backoff',
  'retryUntil',
  'deleteWhenMissingModels',
  'afterCommit',
  'uniqueFor',
] as const satisfies ReadonlyArray<keyof JobOptions>;

/** One of the names in {@link INSTANCE_OPTION_NAMES}. */
export type InstanceOptionName = (typeof INSTANCE_OPTION_NAMES)[number];

/**
 * Laravel job members errand cannot honour on the job object, with what to write instead. They
 * are refused (at decoration for a method, at dispatch for a property) rather than stored as data
 * and ignored.
 */
const REFUSED: Readonly<Record<string, string>> = {
  delay: 'a job has no delay of its own here; delay the dispatch: `Job.dispatch(…).delay(seconds)`',
  shouldBeEncrypted:
    'encryption is chosen per class, since the worker must know it before reading the data: use @Job({ encrypted: true })',
  uniqueVia: 'unique locks are kept in the store configured under `locks`, not chosen per job',
};

/**
 * The same for a queued listener, whose `delay` property is honoured (as Laravel's is) and which
 * has no unique lock to choose.
 */
const REFUSED_ON_LISTENERS: Readonly<Record<string, string>> = {
  shouldBeEncrypted:
    "a queued listener's job is not encrypted; to seal data, have the listener dispatch a job declared with @Job({ encrypted: true })",
};

/** Where an instance option was read: for error messages. */
const sourceOf = (owner: object, key: string) =>
  typeof (owner as Record<string, unknown>)[key] === 'function' ? `its ${key}() method` : `its ${key} property`;

/** Throws when a class's prototype defines a method Laravel users write that errand cannot honour. */
export function refuseUnsupportedMethods(prototype: object, ownerName: string): void {
  for (const [key, instead] of Object.entries(REFUSED)) {
    if (typeof (prototype as Record<string, unknown>)[key] === 'function') {
      throw new ConfigError(`${ownerName}: ${key}() is not read by errand: ${instead}.`);
    }
  }
}

/**
 * The own properties of `job` that are options, not data: they are left out of the stored data,
 * since their value travels in the payload's own keys (maxTries, backoff …).
 */
export function instanceOptionKeys(job: object): string[] {
  return INSTANCE_OPTION_NAMES.filter((key) => Object.prototype.hasOwnProperty.call(job, key));
}

/**
 * The options `owner` declares on itself (a property, or a method called with `args`), validated
 * as the decorator's are, with errors naming the owner, the option and where it was read. A value
 * of undefined or null means "not set". `retryUntil` is an instant, as in Laravel: a Date or unix
 * seconds (a number of seconds after dispatch is the decorator's form, refused here).
 *
 * @param owner The job (or listener) object.
 * @param ownerName Its registered name, for messages.
 * @param kind 'Job' or 'Listener', for messages.
 * @param names The options to read.
 * @param args What a method is called with (a queued listener's methods get the event).
 */
export function instanceOptions(
  owner: object,
  ownerName: string,
  kind: 'Job' | 'Listener' = 'Job',
  names: readonly InstanceOptionName[] = INSTANCE_OPTION_NAMES,
  args: readonly unknown[] = [],
): Partial<JobOptions> {
  const record = owner as Record<string, unknown>;
  for (const [key, instead] of Object.entries(kind === 'Job' ? REFUSED : REFUSED_ON_LISTENERS)) {
    if (record[key] !== undefined) {
      throw new ConfigError(`${kind} ${ownerName}: ${sourceOf(owner, key)} is not read by errand: ${instead}.`);
    }
  }
  const found: Record<string, unknown> = {};
  for (const key of names) {
    const member = record[key];
    // Only a method of the class is called: an own property holding a function (an injected
    // client stored as `connection`, say) is a name clash, not an option to compute.
    if (typeof member === 'function' && Object.prototype.hasOwnProperty.call(owner, key)) {
      throw new ConfigError(
        `${kind} ${ownerName}: its ${key} property holds a function; \`${key}\` is an option name (read as ${kind === 'Job' ? '@Job' : '@Listener'}'s \`${key}\`): rename the property.`,
      );
    }
    const value =
      typeof member === 'function' ? (member as (...a: unknown[]) => unknown).apply(owner, [...args]) : member;
    if (value !== undefined && value !== null) found[key] = value;
  }
  if (Object.keys(found).length === 0) return {};
  if (found.retryUntil !== undefined)
    found.retryUntil = retryUntilInstant(
      found.retryUntil,
      `${kind} ${ownerName}: option \`retryUntil\` (${sourceOf(owner, 'retryUntil')})`,
    );
  validateJobOptions(ownerName, found as Partial<JobOptions>, kind, (option) => sourceOf(owner, option));
  return found as Partial<JobOptions>;
}

/** Unix seconds of this era: from 2001 to the year 5138. Outside it a number is another unit. */
const EARLIEST_SECONDS = 1e9;
const LATEST_SECONDS = 1e11;

/** A job's own retryUntil as a Date: a Date as is, a number as unix seconds (Laravel's reading). */
function retryUntilInstant(value: unknown, at: string): Date {
  if (value instanceof Date && !Number.isNaN(value.getTime())) return value;
  if (typeof value === 'number' && Number.isFinite(value)) {
    if (value >= LATEST_SECONDS)
      throw new ConfigError(
        `${at} must be a Date or unix seconds, got ${value}, which reads as milliseconds: divide by 1000 or return a Date.`,
      );
    if (value >= EARLIEST_SECONDS) return new Date(value * 1000);
    throw new ConfigError(
      `${at} must be a Date or unix seconds, got ${value}; for seconds after dispatch use @Job({ retryUntil: ${value} }).`,
    );
  }
  throw new ConfigError(
    `${at} must be a Date or unix seconds, got ${value instanceof Date ? 'an invalid Date' : (JSON.stringify(value) ?? typeof value)}.`,
  );
}
