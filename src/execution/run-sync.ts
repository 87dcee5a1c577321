import type { DependencyContainer } from 'tsyringe';
import { DEFAULT_MAX_PAYLOAD_SIZE } from '../config/defaults.js';
import type { JobInfo } from '../job/job-context.js';
import { decodeJob, parsePayload } from '../payload/decode-payload.js';
import type { Keyring } from '../payload/keyring.js';
import { report } from '../runtime/current.js';
import { afterJobFailed } from './after-failure.js';
import { afterJobSucceeded, busInfo, chainStateOf } from './after-success.js';
import { isRefusal, jobForFailedHook, modelStep } from './load-models.js';
import { runAttempt } from './run-attempt.js';

/**
 * Runs a payload inline, as the `sync` connection and `dispatchSync` do: the job is encoded and
 * decoded exactly as on a worker (models fetched fresh, encrypted data opened), runs once, and on
 * an error its failed() runs and the job's error is thrown to the caller (an error from failed()
 * itself is reported, as a worker does). Nothing is stored in failed_jobs (Laravel's rule for sync).
 */
export async function runSync(
  payloadText: string,
  connectionName: string,
  container: DependencyContainer,
  keyring?: Keyring,
  hooks: { beforeHandle?: () => Promise<void> } = {},
): Promise<void> {
  const payload = parsePayload(payloadText);
  const decoded = decodeJob(payload, keyring);
  const chain = chainStateOf(payload, { keyring, maxPayloadSize: DEFAULT_MAX_PAYLOAD_SIZE });
  const info: JobInfo = {
    id: payload.uuid,
    uuid: payload.uuid,
    queue: 'sync',
    connection: connectionName,
    attempts: 1,
    displayName: payload.displayName,
    ...busInfo(payload),
  };
  const outcome = await runAttempt(decoded.instance, info, {
    timeout: payload.timeout ?? 0,
    container,
    prepare: modelStep(decoded, payload),
    middleware: decoded.middleware,
    beforeHandle: hooks.beforeHandle,
    chain,
  });
  const error =
    outcome.kind === 'completed' ? (outcome.intent?.kind === 'fail' ? outcome.intent.error : undefined) : outcome.error;
  if (!error) {
    // A job released on the sync connection is not run again, and its chain does not go on (as Laravel).
    if (outcome.kind === 'completed' && outcome.intent?.kind !== 'release')
      await afterJobSucceeded(payload, chain, report);
    return;
  }
  // Nothing goes to failed_jobs, but the batch counts the failure as a worker's would.
  await afterJobFailed(payload, error, report);
  if (isRefusal(error)) throw error;
  try {
    const fresh = await jobForFailedHook(payload, keyring, info);
    if (typeof fresh.failed === 'function') await fresh.failed(error);
  } catch (hookError) {
    // As on a worker: the caller learns why the job failed, not why its failed() did.
    report(hookError);
  }
  throw error;
}
