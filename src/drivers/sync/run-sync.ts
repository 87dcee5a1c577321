import type { DependencyContainer } from 'tsyringe';

import { decodeJob, parsePayload } from '../../payload/decode-payload.js';
import type { Keyring } from '../../payload/keyring.js';
import { isRefusal, jobForFailedHook, modelStep } from '../../worker/job-models.js';
import { runAttempt } from '../../worker/run-attempt.js';

/**
 * Runs a payload inline, as the `sync` connection and `dispatchSync` do: the job is encoded and
 * decoded exactly as on a worker (models fetched fresh, encrypted data opened), runs once, and on
 * an error its failed() runs and the error is thrown to the caller. Nothing is stored in
 * failed_jobs (Laravel's rule for sync).
 */
export async function runSync(payloadText: string, connectionName: string, container: DependencyContainer, keyring?: Keyring): Promise<void> {
  const payload = parsePayload(payloadText);
  const decoded = decodeJob(payload, keyring);
  const outcome = await runAttempt(
    decoded.instance,
    { id: payload.uuid, uuid: payload.uuid, queue: 'sync', connection: connectionName, attempts: 1, displayName: payload.displayName },
    { timeout: payload.timeout ?? 0, container, prepare: modelStep(decoded, payload) },
  );
  const error = outcome.kind === 'completed' ? (outcome.intent?.kind === 'fail' ? outcome.intent.error : undefined) : outcome.error;
  if (!error) return;
  if (isRefusal(error)) throw error;
  const fresh = await jobForFailedHook(payload, keyring);
  if (typeof fresh.failed === 'function') await fresh.failed(error);
  throw error;
}
