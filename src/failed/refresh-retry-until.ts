import { instanceOptions } from '../job/instance-options.js';
import { jobRegistry } from '../job/job-registry.js';
import { decodeJob, parsePayload } from '../payload/decode-payload.js';
import { resolveRetryUntil } from '../payload/encode-payload.js';
import type { JobPayload } from '../payload/job-payload.js';
import type { Keyring } from '../payload/keyring.js';

/**
 * The payload a retried job goes back with: when it carries a `retryUntil`, a fresh one. A job
 * whose deadline passed while it sat in failed_jobs would otherwise fail again at once (Laravel
 * recomputes it on retry too). With the class registered in this process its `retryUntil()`
 * method, else its option, is evaluated again, counted from now (a method or function gets the
 * job rebuilt from the payload, models not fetched); otherwise the original window (`retryUntil - createdAt`) is counted from now. Any other payload
 * is returned unchanged, byte for byte.
 */
export function refreshRetryUntil(raw: string, keyring: Keyring, now = new Date()): string {
  if (!carriesRetryUntil(raw)) return raw;
  let payload: JobPayload;
  try {
    payload = parsePayload(raw);
  } catch {
    // A payload the worker cannot read goes back as it was: the worker fails it again with its reason.
    return raw;
  }
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const next =
    reevaluated(payload, keyring, nowSeconds) ??
    nowSeconds + Math.max(0, (payload.retryUntil ?? 0) - payload.createdAt);
  if (next === payload.retryUntil) return raw;
  return JSON.stringify({ ...(JSON.parse(raw) as object), retryUntil: next });
}

/**
 * The job's `retryUntil` evaluated now: its own `retryUntil()` method (on the job rebuilt from the
 * payload) first, as at dispatch, else its class option; undefined when this process cannot (class
 * not loaded, data sealed).
 */
function reevaluated(payload: JobPayload, keyring: Keyring, nowSeconds: number): number | undefined {
  const entry = jobRegistry.byName(payload.data.commandName);
  if (!entry) return undefined;
  const option = entry.options.retryUntil;
  const hasMethod = typeof (entry.target.prototype as { retryUntil?: unknown }).retryUntil === 'function';
  if (option === undefined && !hasMethod) return undefined;
  try {
    const job = hasMethod || typeof option === 'function' ? decodeJob(payload, keyring).instance : {};
    const own = hasMethod ? instanceOptions(job, entry.name, 'Job', ['retryUntil']).retryUntil : undefined;
    return resolveRetryUntil(own ?? option, job, nowSeconds) ?? undefined;
  } catch {
    return undefined;
  }
}

/** True when a stored payload carries a `retryUntil`. */
function carriesRetryUntil(raw: string): boolean {
  try {
    return (JSON.parse(raw) as { retryUntil?: unknown }).retryUntil != null;
  } catch {
    return false;
  }
}
