import { decodeJob, parsePayload } from '../payload/decode-payload.js';
import { effectiveOptions, encodePayload, registeredJobOf } from '../payload/encode-payload.js';
import type { Keyring } from '../payload/keyring.js';
import { loadModels } from '../payload/model-identifiers.js';
import { runtime } from '../runtime/current.js';

/**
 * What a worker would get back from `job`: encoded to a payload (with every dispatch-time check),
 * stored as JSON, decoded, and its models fetched fresh. For tests, to prove a job survives the
 * queue; a missing model throws its ModelNotFoundError.
 *
 * @example
 * ```ts
 * const copy = await serializeAndRestore(new ShipOrder(order, new Date()));
 * expect(copy.shippedAt).toBeInstanceOf(Date);
 * ```
 */
export async function serializeAndRestore<T extends object>(job: T, options: { keyring?: Keyring } = {}): Promise<T> {
  const entry = registeredJobOf(job);
  const keyring = options.keyring ?? (entry.options.encrypted ? (await runtime()).config.keyring : undefined);
  const payload = parsePayload(JSON.stringify(encodePayload(job, effectiveOptions(entry, {}, job), { keyring })));
  const decoded = decodeJob(payload, keyring);
  const missing = await loadModels(decoded.instance, decoded.models, `Job ${entry.name}`);
  if (missing) throw missing;
  return decoded.instance as unknown as T;
}
