import type { JobMiddleware } from '../contracts/job-middleware.js';
import type { ModelIdentifier } from '../contracts/model-resolver.js';
import { PayloadError } from '../errors/payload-error.js';
import { jobRegistry, type RegisteredJob } from '../job/job-registry.js';
import type { Queueable } from '../job/queueable.js';
import { MAX_COUNT, MAX_SECONDS, numberProblem } from '../runtime/numeric-bounds.js';
import { parseBusKeys } from './bus-keys.js';
import { CALL_QUEUED_HANDLER, type JobPayload, type TraceContext } from './job-payload.js';
import { isSealed, type Keyring } from './keyring.js';
import {
  checkStoredMiddleware,
  parseMiddlewareKey,
  restoreMiddleware,
  type StoredMiddleware,
} from './middleware-data.js';
import { bytesOver } from './payload-size.js';
import { FORBIDDEN_KEYS } from './plain-data.js';
import { restoreInstance } from './restore-instance.js';
import { parseUniqueKey } from './unique-payload.js';

/** Where in `value` a prototype-reaching key sits (`[key] at path`), if anywhere. */
export function forbiddenKeyPath(value: unknown, path: string, seen = new Set<object>()): string | undefined {
  if (value === null || typeof value !== 'object' || seen.has(value)) return undefined;
  seen.add(value);
  for (const key of Object.keys(value)) {
    const here = Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}`;
    if (FORBIDDEN_KEYS.includes(key)) return `[${key}] at ${here}`;
    const found = forbiddenKeyPath((value as Record<string, unknown>)[key], here, seen);
    if (found) return found;
  }
  return undefined;
}

/** A backslash-u escape, or one of the forbidden keys as a quoted string: one pass over the text. */
const MAY_HOLD_FORBIDDEN = new RegExp(`\\\\u|"(?:${FORBIDDEN_KEYS.join('|')})"`);

/** The width of failed_jobs.uuid (docs/payload.schema.json: maxLength 36). */
const MAX_UUID_LENGTH = 36;

/** A uuid's text form, as docs/payload.schema.json has it: 8-4-4-4-12 hex digits, either case. */
const UUID_FORMAT = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const NUMERIC_KEYS = ['maxTries', 'maxExceptions', 'timeout', 'retryUntil', 'delay'] as const;

/**
 * The bounds docs/payload.schema.json sets on the numeric keys: a value past them is refused,
 * not read (maxTries -1 would mean unlimited; a delay the jobs table cannot add would leave the
 * row held when its release is refused). retryUntil is an instant, only compared.
 */
const NUMERIC_BOUNDS: Partial<Record<(typeof NUMERIC_KEYS)[number], Parameters<typeof numberProblem>[1]>> = {
  maxTries: { whole: true, max: MAX_COUNT, unit: '' },
  maxExceptions: { whole: true, max: MAX_COUNT, unit: '' },
  timeout: { whole: true },
  delay: {},
};

/**
 * Parses stored payload text and checks its shape. Throws a PayloadError saying what is wrong;
 * the worker turns it into a failed job.
 */
export function parsePayload(raw: string, maxBytes?: number): JobPayload {
  const bytes = maxBytes === undefined ? undefined : bytesOver(raw, maxBytes);
  if (bytes !== undefined)
    throw new PayloadError(`The payload is ${bytes} bytes, over maxPayloadSize (${maxBytes}); it was not decoded.`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new PayloadError(`The payload is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PayloadError('The payload is not a JSON object.');
  }
  // Cheap test first: only a payload that mentions one of the keys, or holds an escape that could
  // spell one (JSON.parse turns "\u005f_proto__" into __proto__), is walked.
  if (MAY_HOLD_FORBIDDEN.test(raw)) {
    const path = forbiddenKeyPath(value, 'payload');
    if (path)
      throw new PayloadError(
        `The payload holds the forbidden key ${path}: keys that reach an object's prototype are refused.`,
      );
  }
  const payload = value as Partial<JobPayload>;
  if (typeof payload.uuid !== 'string' || payload.uuid === '') throw new PayloadError('The payload has no uuid.');
  // The uuid is written to failed_jobs.uuid: one the column cannot hold would make the job's
  // failure unrecordable (the row stays reserved, never failed). Refused here, it fails undecoded.
  if (payload.uuid.length > MAX_UUID_LENGTH || payload.uuid.includes('\u0000')) {
    throw new PayloadError(
      `The payload's uuid is not one failed_jobs can hold: at most ${MAX_UUID_LENGTH} characters, no NUL.`,
    );
  }
  // Anything else (a lone surrogate, a space, an accent) could be stored as another job's uuid:
  // the drivers write a lone surrogate as U+FFFD, and a loose collation folds case and accents.
  if (!UUID_FORMAT.test(payload.uuid)) {
    throw new PayloadError(
      `The payload's uuid ${JSON.stringify(payload.uuid)} is not a uuid: 8-4-4-4-12 hex digits (docs/payload.schema.json).`,
    );
  }
  const data = payload.data as Partial<JobPayload['data']> | undefined;
  if (!data || typeof data.commandName !== 'string') throw new PayloadError('The payload has no data.commandName.');
  if (!isSealed(data.command) && !isPlainObject(data.command)) {
    throw new PayloadError(`The payload of ${data.commandName} has no data.command object.`);
  }
  const models = data.models === undefined ? undefined : checkModels(data.models, data.commandName);
  for (const key of NUMERIC_KEYS) {
    const field = payload[key];
    if (field !== undefined && field !== null && (typeof field !== 'number' || !Number.isFinite(field))) {
      throw new PayloadError(`The payload of ${data.commandName} has a non-numeric ${key}.`);
    }
    const problem = field == null || !NUMERIC_BOUNDS[key] ? undefined : numberProblem(field, NUMERIC_BOUNDS[key]);
    if (problem) throw new PayloadError(`The payload of ${data.commandName} has a ${key} that ${problem}.`);
  }
  if (
    payload.backoff != null &&
    (typeof payload.backoff !== 'string' || !/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/.test(payload.backoff))
  ) {
    throw new PayloadError(
      `The payload of ${data.commandName} has an unreadable backoff ${JSON.stringify(payload.backoff)}.`,
    );
  }
  // The pattern admits any digits: a step the jobs table cannot add to available_at is refused here.
  if (payload.backoff != null && payload.backoff.split(',').some((step) => Number(step) > MAX_SECONDS)) {
    throw new PayloadError(
      `The payload of ${data.commandName} has a backoff step over ${MAX_SECONDS} seconds: ${JSON.stringify(payload.backoff)}.`,
    );
  }
  return {
    uuid: payload.uuid,
    displayName: typeof payload.displayName === 'string' ? payload.displayName : data.commandName,
    job: typeof payload.job === 'string' ? payload.job : CALL_QUEUED_HANDLER,
    maxTries: payload.maxTries ?? null,
    maxExceptions: payload.maxExceptions ?? null,
    failOnTimeout: payload.failOnTimeout === true,
    backoff: payload.backoff ?? null,
    timeout: payload.timeout ?? null,
    retryUntil: payload.retryUntil ?? null,
    data: {
      commandName: data.commandName,
      command: data.command as Record<string, unknown> | string,
      ...(models ? { models } : {}),
    },
    createdAt: typeof payload.createdAt === 'number' ? payload.createdAt : 0,
    delay: payload.delay ?? null,
    ...(payload.deleteWhenMissingModels === true ? { deleteWhenMissingModels: true } : {}),
    ...parseMiddlewareKey(value as Record<string, unknown>, data.commandName),
    ...parseUniqueKey(value as Record<string, unknown>, data.commandName),
    ...parseBusKeys(value as Record<string, unknown>, data.commandName),
    ...traceContextKey(payload.traceContext),
  };
}

/**
 * The payload's `traceContext` when it has the shape docs/payload.md gives it. Anything else is
 * dropped, never refused: it is a hint for tracing, and the job runs the same without it.
 */
function traceContextKey(value: unknown): { traceContext?: TraceContext } {
  if (!isPlainObject(value) || typeof value.traceparent !== 'string') return {};
  const { traceparent, tracestate } = value;
  return { traceContext: typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent } };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

const isKey = (value: unknown) =>
  (typeof value === 'number' && Number.isFinite(value)) || (typeof value === 'string' && value !== '');

/** Model identifiers as stored: `{ property: { class, id, relations, connection } }`. */
function checkModels(value: unknown, jobName: string): Record<string, ModelIdentifier> {
  if (!isPlainObject(value))
    throw new PayloadError(`The payload of ${jobName} has a data.models that is not an object.`);
  for (const [property, identifier] of Object.entries(value)) {
    const at = `The payload of ${jobName} has a malformed model identifier at data.models.${property}`;
    if (FORBIDDEN_KEYS.includes(property)) throw new PayloadError(`${at}: that property name is refused.`);
    if (!isPlainObject(identifier) || typeof identifier.class !== 'string') throw new PayloadError(`${at}: no class.`);
    const ids = Array.isArray(identifier.id) ? identifier.id : [identifier.id];
    if (!ids.every(isKey)) throw new PayloadError(`${at}: id must be a key or a list of keys.`);
    const { relations, connection } = identifier;
    if (!Array.isArray(relations) || !relations.every((r) => typeof r === 'string'))
      throw new PayloadError(`${at}: relations must be a list of names.`);
    if (connection !== null && connection !== undefined && typeof connection !== 'string')
      throw new PayloadError(`${at}: connection must be a name or null.`);
    if (identifier.collection !== undefined && typeof identifier.collection !== 'boolean')
      throw new PayloadError(`${at}: collection must be true or false.`);
    identifier.connection = connection ?? null;
  }
  return value as unknown as Record<string, ModelIdentifier>;
}

/** The registry entry a payload names, or a PayloadError saying the name is unknown. */
export function resolvePayloadJob(payload: JobPayload): RegisteredJob {
  if (payload.job !== CALL_QUEUED_HANDLER) {
    throw new PayloadError(`The payload names handler [${payload.job}]; errand only runs [${CALL_QUEUED_HANDLER}].`);
  }
  const entry = jobRegistry.byName(payload.data.commandName);
  if (!entry) {
    throw new PayloadError(
      `Unknown job [${payload.data.commandName}]: no class is registered under that name. ` +
        "The worker's `bootstrap` (errand config) did not import it: point `bootstrap` at the compiled module, directory or glob that declares it with @Job.",
    );
  }
  return entry;
}

/** A job rebuilt from its payload, before its models are fetched. */
export interface DecodedJob {
  readonly entry: RegisteredJob;
  readonly instance: Queueable;
  readonly models: Record<string, ModelIdentifier> | undefined;
  /** The dispatch's `through()` middleware, rebuilt from registered classes. */
  readonly middleware: JobMiddleware<any>[];
}

/**
 * Rebuilds the job instance from the payload without running its constructor (as PHP's
 * unserialize does not), so constructors with required arguments are safe. Sealed data is opened
 * with the keyring; an encrypted job's plaintext or unopenable data is refused.
 */
export function decodeJob(payload: JobPayload, keyring?: Keyring): DecodedJob {
  const entry = resolvePayloadJob(payload);
  let { command, models } = payload.data;
  let middleware = payload.middleware;
  if (typeof command === 'string') {
    // An encrypted job's middleware is sealed with its data: one added in plaintext could skip or hold back the job.
    if (middleware !== undefined)
      throw new PayloadError(
        `Job ${entry.name} is encrypted, but this payload holds middleware in plaintext: refused, nothing was run.`,
      );
    ({ command, models, middleware } = openSealed(command, entry.name, keyring));
  } else if (entry.options.encrypted) {
    throw new PayloadError(
      `Job ${entry.name} is encrypted, but this payload holds its data in plaintext: refused, nothing was run.`,
    );
  }
  const restoredMiddleware = restoreMiddleware(middleware, entry.name);
  const blank = Object.create(entry.target.prototype) as Queueable;
  try {
    return { entry, instance: restoreInstance(blank, command), models, middleware: restoredMiddleware };
  } catch (error) {
    throw new PayloadError(`The data of ${entry.name} could not be restored: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The job instance alone (see decodeJob). */
export function restoreJob(payload: JobPayload, keyring?: Keyring): Queueable {
  return decodeJob(payload, keyring).instance;
}

function openSealed(
  sealed: string,
  jobName: string,
  keyring: Keyring | undefined,
): { command: Record<string, unknown>; models?: Record<string, ModelIdentifier>; middleware?: StoredMiddleware[] } {
  const opened = keyring?.open(sealed, jobName);
  if (opened === undefined) {
    const why = keyring?.hasKeys
      ? 'it was tampered with, or sealed under a key that is neither the current key nor a previous one'
      : 'no key is configured (ERRAND_KEY)';
    throw new PayloadError(`Job ${jobName}: its encrypted data could not be opened: ${why}. Nothing was run.`);
  }
  let value: unknown;
  try {
    value = JSON.parse(opened);
  } catch {
    throw new PayloadError(`Job ${jobName}: its encrypted data is not JSON. Nothing was run.`);
  }
  if (!isPlainObject(value) || !isPlainObject(value.command))
    throw new PayloadError(`Job ${jobName}: its encrypted data holds no command object.`);
  const path = forbiddenKeyPath(value, 'sealed data');
  if (path) throw new PayloadError(`Job ${jobName}: its encrypted data holds the forbidden key ${path}.`);
  return {
    command: value.command,
    models: value.models === undefined ? undefined : checkModels(value.models, jobName),
    middleware: value.middleware === undefined ? undefined : checkStoredMiddleware(value.middleware, jobName),
  };
}
