import { forbiddenKeyPath } from '../../payload/decode-payload.js';
import { numberProblem } from '../../runtime/numeric-bounds.js';
import { PushError } from './push-error.js';

/** One job a client asks to push: its registered name, its data, its own id, its delay. */
export interface PushItem {
  /** Where in the body it was (`body` or `jobs[3]`), for messages. */
  readonly at: string;
  readonly job: string;
  readonly data: Record<string, unknown>;
  /** The client's id: the same id again within the idempotency window gets the first answer. */
  readonly id: string | undefined;
  /** Seconds before the job is available. */
  readonly delay: number | undefined;
}

/** The most jobs one request may carry: each is a write, and an answer waits for all of them. */
export const MAX_JOBS_PER_REQUEST = 1000;

/** The longest client id accepted (it is hashed into a lock key, so this only bounds what is echoed back). */
export const MAX_CLIENT_ID_LENGTH = 200;

const ITEM_KEYS = ['job', 'data', 'id', 'delay'];

/**
 * The jobs a push body asks for: `{ job, data?, id?, delay? }` or `{ jobs: [ … ] }`. Anything else
 * is a 400 naming the place at fault; nothing is queued unless the whole body reads.
 */
export function parsePushBody(raw: Uint8Array): PushItem[] {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new PushError(400, 'The request body is not UTF-8 text.');
  }
  if (text.trim() === '') throw new PushError(400, 'The request body is empty: send { "job": "Name", "data": {…} }.');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new PushError(400, `The request body is not valid JSON: ${(error as Error).message}`);
  }
  if (!isPlainObject(value))
    throw new PushError(400, 'The request body must be a JSON object: { "job": … } or { "jobs": [ … ] }.');
  // JSON.parse makes "__proto__" an own key; the worker would refuse the payload, so refuse it here.
  const forbidden = forbiddenKeyPath(value, 'body');
  if (forbidden) throw new PushError(400, `The request body holds the forbidden key ${forbidden}.`);
  if ('jobs' in value) {
    const extra = Object.keys(value).filter((key) => key !== 'jobs');
    if (extra.length > 0) throw new PushError(400, `A body with "jobs" takes no other keys; remove ${list(extra)}.`);
    const jobs = value.jobs;
    if (!Array.isArray(jobs) || jobs.length === 0) throw new PushError(400, '"jobs" must be a non-empty list of jobs.');
    if (jobs.length > MAX_JOBS_PER_REQUEST) {
      throw new PushError(400, `"jobs" holds ${jobs.length} jobs; at most ${MAX_JOBS_PER_REQUEST} go in one request.`);
    }
    const items = jobs.map((job, i) => parseItem(job, `jobs[${i}]`));
    const seen = new Map<string, string>();
    for (const item of items) {
      if (item.id === undefined) continue;
      const earlier = seen.get(item.id);
      if (earlier)
        throw new PushError(
          400,
          `${item.at}.id ${JSON.stringify(item.id)} is also ${earlier}.id: each job's id must be unique.`,
        );
      seen.set(item.id, item.at);
    }
    return items;
  }
  return [parseItem(value, 'body')];
}

function parseItem(value: unknown, at: string): PushItem {
  if (!isPlainObject(value)) throw new PushError(400, `${at} must be an object { "job": "Name", "data": {…} }.`);
  const unknown = Object.keys(value).filter((key) => !ITEM_KEYS.includes(key));
  if (unknown.length > 0) {
    throw new PushError(
      400,
      `${at} has unknown ${unknown.length === 1 ? 'key' : 'keys'} ${list(unknown)}; a job takes ${list(ITEM_KEYS)}.`,
    );
  }
  const { job, data, id, delay } = value;
  if (typeof job !== 'string' || job === '') throw new PushError(400, `${at}.job must be the job's registered name.`);
  if (data !== undefined && !isPlainObject(data)) {
    throw new PushError(422, `${at}.data must be an object of the job's properties, got ${kindOf(data)}.`);
  }
  if (id !== undefined && (typeof id !== 'string' || id === '' || id.length > MAX_CLIENT_ID_LENGTH)) {
    throw new PushError(
      400,
      `${at}.id must be a string of 1 to ${MAX_CLIENT_ID_LENGTH} characters, got ${kindOf(id)}.`,
    );
  }
  const delayProblem = delay === undefined ? undefined : numberProblem(delay);
  if (delayProblem) throw new PushError(422, `${at}.delay ${delayProblem}.`);
  return {
    at,
    job,
    data: (data as Record<string, unknown> | undefined) ?? {},
    id: id as string | undefined,
    delay: delay as number | undefined,
  };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function kindOf(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string')
    return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 37)}...` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

function list(keys: readonly string[]): string {
  return keys.map((key) => JSON.stringify(key)).join(', ');
}
