import { batchJobFailed } from '../bus/batch-progress.js';
import { invokeCallbacks } from '../bus/callbacks.js';
import type { JobPayload } from '../payload/job-payload.js';

/**
 * After a job failed for good (its failure recorded, see record-failure.ts): its batch counts the
 * failure unless `counted` (the recording did), is cancelled unless it allows failures, and runs
 * its callbacks that fell due; its chain's catch callbacks run (the chain ends). Errors are
 * reported: the job's failure stands.
 */
export async function afterJobFailed(
  payload: JobPayload,
  error: Error,
  report: (error: unknown) => void,
  counted = false,
): Promise<void> {
  if (payload.batchId) await batchJobFailed(payload.batchId, payload.uuid, error, counted).catch(report);
  if (payload.chainCatchCallbacks?.length) {
    const where = { connection: payload.chainConnection, queue: payload.chainQueue };
    await invokeCallbacks(payload.chainCatchCallbacks, { args: [error], error, ...where }).catch(report);
  }
}
