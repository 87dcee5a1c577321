import { PayloadError } from '../errors/payload-error.js';
import type { JobPayload, UniqueLockRef } from './job-payload.js';

/**
 * The `unique` key of a stored payload, checked for shape: `{ key, until }` or absent. A malformed
 * one fails the job with the reason, as any other malformed key does.
 */
export function parseUniqueKey(raw: Record<string, unknown>, jobName: string): Pick<JobPayload, 'unique'> {
  const unique = raw.unique;
  if (unique === undefined || unique === null) return {};
  if (!isUniqueLockRef(unique)) {
    throw new PayloadError(
      `The payload of ${jobName} has a malformed unique: it must be { key: a non-empty string without NUL, until: 'processing' | 'done' }.`,
    );
  }
  return { unique: { key: unique.key, until: unique.until } };
}

/**
 * The unique lock named by payload text that could not be parsed as a whole (so its job fails
 * undecoded): its lock is still released, if the text is JSON with a well-formed `unique` and uuid.
 */
export function uniqueOfRawPayload(text: string): { uuid: string; unique: UniqueLockRef } | undefined {
  try {
    const value = JSON.parse(text) as { uuid?: unknown; unique?: unknown } | null;
    if (value && typeof value.uuid === 'string' && value.uuid !== '' && isUniqueLockRef(value.unique))
      return { uuid: value.uuid, unique: value.unique };
  } catch {
    // Not JSON: there is nothing to release.
  }
  return undefined;
}

function isUniqueLockRef(value: unknown): value is UniqueLockRef {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const { key, until } = value as Record<string, unknown>;
  // No NUL: the key is bound into the locks table's queries, and PostgreSQL's text refuses it.
  return (
    typeof key === 'string' && key !== '' && !key.includes('\u0000') && (until === 'processing' || until === 'done')
  );
}
