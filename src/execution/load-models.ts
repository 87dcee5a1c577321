import { PayloadError } from '../errors/payload-error.js';
import { bindFailedHookContext, type JobInfo } from '../job/job-context.js';
import type { Queueable } from '../job/queueable.js';
import { type DecodedJob, decodeJob } from '../payload/decode-payload.js';
import type { JobPayload } from '../payload/job-payload.js';
import type { Keyring } from '../payload/keyring.js';
import { loadModels } from '../payload/model-identifiers.js';

const refused = new WeakSet<Error>();

/** Marks an error as a refusal of the job's stored data: none of the job's code may run for it. */
export function refusal(error: Error): Error {
  refused.add(error);
  return error;
}

/** Whether the job failed because its stored data was refused, so none of its code may run (not even failed()). */
export function isRefusal(error: Error): boolean {
  return refused.has(error);
}

/**
 * The first step of an attempt: fetch the job's models fresh. A missing model fails the job
 * (naming the class and id), or deletes it quietly with `deleteWhenMissingModels`; a model class
 * this process does not know fails it too. Either way handle() does not run.
 */
export function modelStep(decoded: DecodedJob, payload: JobPayload): (job: Queueable) => Promise<boolean> {
  return async (job) => {
    if (!decoded.models) return true;
    try {
      const missing = await loadModels(job, decoded.models, `Job ${decoded.entry.name}`);
      if (!missing) return true;
      if (payload.deleteWhenMissingModels) job.delete();
      else job.fail(missing);
    } catch (error) {
      if (!(error instanceof PayloadError)) throw error;
      job.fail(refusal(error));
    }
    return false;
  };
}

/**
 * A fresh copy of the job for its failed() hook, with every model that still exists loaded (one
 * that is gone stays undefined, so failed() runs even when a model is missing), and `info` (the
 * attempt that failed) bound, so `this.job` and `this.attempts()` work in the hook.
 */
export async function jobForFailedHook(
  payload: JobPayload,
  keyring: Keyring | undefined,
  info: JobInfo,
  signal?: AbortSignal,
): Promise<Queueable & { failed?: (error: Error) => unknown }> {
  const fresh = decodeJob(payload, keyring);
  bindFailedHookContext(fresh.instance, info, signal);
  await loadModels(fresh.instance, fresh.models, `Job ${fresh.entry.name}`);
  return fresh.instance;
}
