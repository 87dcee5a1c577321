import { plainToClassFromExist } from 'class-transformer';

import { PayloadError } from '../errors/payload-error.js';
import { jobRegistry, type RegisteredJob } from '../job/job-registry.js';
import type { Queueable } from '../job/queueable.js';
import { CALL_QUEUED_HANDLER, type JobPayload } from './job-payload.js';
import { bytesOver } from './payload-size.js';

/**
 * Keys that would reach an object's prototype when the data is copied onto a job instance
 * (prototype pollution); a payload holding one anywhere is refused before anything is restored.
 */
const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'];

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

/**
 * Parses stored payload text and checks its shape. Throws a PayloadError saying what is wrong;
 * the worker turns it into a failed job.
 */
export function parsePayload(raw: string, maxBytes?: number): JobPayload {
  const bytes = maxBytes === undefined ? undefined : bytesOver(raw, maxBytes);
  if (bytes !== undefined) throw new PayloadError(`The payload is ${bytes} bytes, over maxPayloadSize (${maxBytes}); it was not decoded.`);
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (error) {
    throw new PayloadError(`The payload is not valid JSON: ${(error as Error).message}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PayloadError('The payload is not a JSON object.');
  }
  // Cheap test first: only a payload that mentions one of the keys is walked.
  if (FORBIDDEN_KEYS.some((key) => raw.includes(`"${key}"`))) {
    const path = forbiddenKeyPath(value, 'payload');
    if (path) throw new PayloadError(`The payload holds the forbidden key ${path}: keys that reach an object's prototype are refused.`);
  }
  const payload = value as Partial<JobPayload>;
  if (typeof payload.uuid !== 'string' || payload.uuid === '') throw new PayloadError('The payload has no uuid.');
  const data = payload.data as Partial<JobPayload['data']> | undefined;
  if (!data || typeof data.commandName !== 'string') throw new PayloadError('The payload has no data.commandName.');
  if (data.command === null || typeof data.command !== 'object' || Array.isArray(data.command)) {
    throw new PayloadError(`The payload of ${data.commandName} has no data.command object.`);
  }
  for (const key of ['maxTries', 'maxExceptions', 'timeout', 'retryUntil', 'delay'] as const) {
    const field = payload[key];
    if (field !== undefined && field !== null && (typeof field !== 'number' || !Number.isFinite(field))) {
      throw new PayloadError(`The payload of ${data.commandName} has a non-numeric ${key}.`);
    }
  }
  if (payload.backoff != null && (typeof payload.backoff !== 'string' || !/^\d+(\.\d+)?(,\d+(\.\d+)?)*$/.test(payload.backoff))) {
    throw new PayloadError(`The payload of ${data.commandName} has an unreadable backoff ${JSON.stringify(payload.backoff)}.`);
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
    data: { commandName: data.commandName, command: data.command as Record<string, unknown> },
    createdAt: typeof payload.createdAt === 'number' ? payload.createdAt : 0,
    delay: payload.delay ?? null,
  };
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
        'Import it (with its @Job decorator) from the bootstrap module the worker loads.',
    );
  }
  return entry;
}

/**
 * Rebuilds the job instance from the payload without running its constructor (as PHP's
 * unserialize does not), so constructors with required arguments are safe.
 */
export function restoreJob(payload: JobPayload): Queueable {
  const entry = resolvePayloadJob(payload);
  const blank = Object.create(entry.target.prototype) as Queueable;
  try {
    return plainToClassFromExist(blank, payload.data.command);
  } catch (error) {
    throw new PayloadError(`The data of ${entry.name} could not be restored: ${(error as Error).message}`, { cause: error });
  }
}
