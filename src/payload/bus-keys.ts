import { PayloadError } from '../errors/payload-error.js';
import { numberProblem } from '../runtime/numeric-bounds.js';
import type { CallbackContext, CallbackRef, ChainLink, JobPayload } from './job-payload.js';

type BusKeys = Pick<
  JobPayload,
  'batchId' | 'chained' | 'chainConnection' | 'chainQueue' | 'chainCatchCallbacks' | 'callback'
>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);
/**
 * Names and ids read from a payload are bound into queries (a batch's row, the queue a chained job
 * goes to): one holding a NUL, which PostgreSQL's text refuses, would fail every write about the
 * job, its failure included, and leave it reserved. Such a payload is refused instead.
 */
const isName = (value: unknown): value is string =>
  typeof value === 'string' && value !== '' && !value.includes('\u0000');
const optionalName = (value: unknown) => value === null || value === undefined || isName(value);
/** The width of job_batches.id. */
const MAX_BATCH_ID_LENGTH = 36;

/**
 * The chain and batch keys of a stored payload, checked for shape. A chained job's own payload is
 * only checked loosely here: it is parsed in full when it is pushed and claimed in its turn.
 */
export function parseBusKeys(raw: Record<string, unknown>, jobName: string): BusKeys {
  const at = (key: string) => `The payload of ${jobName} has a malformed ${key}`;
  const keys: BusKeys = {};
  if (raw.batchId !== undefined) {
    if (!isName(raw.batchId) || raw.batchId.length > MAX_BATCH_ID_LENGTH)
      throw new PayloadError(
        `${at('batchId')}: it must be a batch id (a non-empty string of at most 36 characters, without NUL).`,
      );
    keys.batchId = raw.batchId;
  }
  if (raw.chained !== undefined) {
    if (!Array.isArray(raw.chained)) throw new PayloadError(`${at('chained')}: it must be a list.`);
    raw.chained.forEach((link, i) => checkLink(link, `${at('chained')}[${i}]`));
    keys.chained = raw.chained as ChainLink[];
  }
  for (const key of ['chainConnection', 'chainQueue'] as const) {
    if (raw[key] === undefined) continue;
    const name = raw[key];
    if (!isName(name)) throw new PayloadError(`${at(key)}: it must be a name (a non-empty string without NUL).`);
    keys[key] = name;
  }
  if (raw.chainCatchCallbacks !== undefined) {
    if (!Array.isArray(raw.chainCatchCallbacks))
      throw new PayloadError(`${at('chainCatchCallbacks')}: it must be a list.`);
    raw.chainCatchCallbacks.forEach((ref, i) => checkCallbackRef(ref, `${at('chainCatchCallbacks')}[${i}]`));
    keys.chainCatchCallbacks = raw.chainCatchCallbacks as CallbackRef[];
  }
  if (raw.callback !== undefined) {
    const callback = raw.callback;
    if (!isObject(callback) || !optionalName(callback.batchId)) throw new PayloadError(`${at('callback')}.`);
    const error = callback.error;
    if (
      error !== undefined &&
      !(isObject(error) && typeof error.name === 'string' && typeof error.message === 'string')
    ) {
      throw new PayloadError(`${at('callback.error')}: it needs a name and a message.`);
    }
    keys.callback = callback as CallbackContext;
  }
  return keys;
}

/** Throws unless `link` looks like a ChainLink. */
export function checkLink(link: unknown, at: string): void {
  if (!isObject(link) || !optionalName(link.connection) || !optionalName(link.queue))
    throw new PayloadError(`${at}: not a chain link.`);
  const delayProblem = link.delay === null || link.delay === undefined ? undefined : numberProblem(link.delay);
  if (delayProblem) throw new PayloadError(`${at}: its delay ${delayProblem}.`);
  const payload = link.payload;
  if (
    !isObject(payload) ||
    typeof payload.uuid !== 'string' ||
    !isObject(payload.data) ||
    typeof payload.data.commandName !== 'string'
  ) {
    throw new PayloadError(`${at}: its payload has no uuid or data.commandName.`);
  }
}

function checkCallbackRef(ref: unknown, at: string): void {
  if (!isObject(ref)) throw new PayloadError(`${at}: not a callback.`);
  if (ref.kind === 'function' && typeof ref.name === 'string' && ref.name !== '') return;
  if (ref.kind === 'job') return checkLink(ref.link, `${at}.link`);
  throw new PayloadError(`${at}: a callback is a job or the name of a registered function.`);
}
