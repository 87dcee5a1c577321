import type { DependencyContainer } from 'tsyringe';

import type { Queueable } from '../../job/queueable.js';
import { parsePayload, restoreJob } from '../../payload/decode-payload.js';
import { runAttempt } from '../../worker/run-attempt.js';

/**
 * Runs a payload inline, as the `sync` connection and `dispatchSync` do: the job is encoded and
 * decoded exactly as on a worker, runs once, and on an error its failed() runs and the error is
 * thrown to the caller. Nothing is stored in failed_jobs (Laravel's rule for sync).
 */
export async function runSync(payloadText: string, connectionName: string, container: DependencyContainer): Promise<void> {
  const payload = parsePayload(payloadText);
  const job = restoreJob(payload);
  const outcome = await runAttempt(
    job,
    { id: payload.uuid, uuid: payload.uuid, queue: 'sync', connection: connectionName, attempts: 1, displayName: payload.displayName },
    { timeout: payload.timeout ?? 0, container },
  );
  const error = outcome.kind === 'completed' ? (outcome.intent?.kind === 'fail' ? outcome.intent.error : undefined) : outcome.error;
  if (!error) return;
  const fresh = restoreJob(payload) as Queueable & { failed?: (e: Error) => unknown };
  if (typeof fresh.failed === 'function') await fresh.failed(error);
  throw error;
}
