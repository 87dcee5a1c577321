import { batchJobFailed, batchJobSucceeded } from '../bus/batch-progress.js';
import { invokeCallbacks } from '../bus/callbacks.js';
import { sendChainLink } from '../bus/chain-dispatch.js';
import { encodeLink, type LinkEncoding } from '../bus/chain-link.js';
import type { FinishingWrites, QueueDriver } from '../contracts/queue-driver.js';
import { DatabaseQueue } from '../drivers/database/database-queue.js';
import type { ChainState } from '../job/job-context.js';
import { runtime } from '../runtime/errand.js';
import type { CallbackContext, JobPayload } from '../payload/job-payload.js';

/** What a job's info says about its batch and, for a callback job, what it was called for. */
export function busInfo(payload: JobPayload): { batchId?: string; callback?: CallbackContext } {
  return {
    ...(payload.batchId ? { batchId: payload.batchId } : {}),
    ...(payload.callback ? { callback: payload.callback } : {}),
  };
}

/**
 * The batch count to commit with a batched job's finishing write, when the jobs and the batch
 * table share a database: then a job is never deleted uncounted (or counted and left to run again).
 */
export async function batchCountWithin(payload: JobPayload | undefined, driver: QueueDriver, kind: 'success' | 'failure'): Promise<FinishingWrites | undefined> {
  const batchId = payload?.batchId;
  if (!batchId || !(driver instanceof DatabaseQueue)) return undefined;
  const app = await runtime();
  if (!app.config.batching) return undefined;
  const repository = app.queues.batches();
  if (repository.knex !== driver.knex) return undefined;
  const uuid = payload.uuid;
  return kind === 'success' ? (trx) => repository.recordSuccess(batchId, uuid, trx) : (trx) => repository.recordFailure(batchId, uuid, trx);
}

/** The chain a running job can see and change (prependToChain/appendToChain), from its payload. */
export function chainStateOf(payload: JobPayload, encoding: LinkEncoding): ChainState {
  return {
    links: [...(payload.chained ?? [])],
    ...(payload.chainConnection ? { connection: payload.chainConnection } : {}),
    ...(payload.chainQueue ? { queue: payload.chainQueue } : {}),
    ...(payload.chainCatchCallbacks?.length ? { catchCallbacks: payload.chainCatchCallbacks } : {}),
    encode: (job) => encodeLink(job, encoding),
  };
}

/**
 * After a job succeeded (ran without being released or failed, whether it deleted itself or not,
 * as Laravel): the next job of its chain is pushed, then its batch counts it. An error here is
 * reported; the job itself stays done.
 */
export async function afterJobSucceeded(payload: JobPayload, chain: ChainState | undefined, report: (error: unknown) => void, counted = false): Promise<void> {
  if (chain && chain.links.length > 0) {
    const carry = { chainConnection: chain.connection, chainQueue: chain.queue, chainCatchCallbacks: chain.catchCallbacks };
    await sendChainLink(chain.links, carry).catch(report);
  }
  if (payload.batchId) await batchJobSucceeded(payload.batchId, payload.uuid, counted).catch(report);
}

/** After a job failed for good: its batch counts the failure, and its chain's catch callbacks run (the chain ends). */
export async function afterJobFailed(payload: JobPayload, error: Error, report: (error: unknown) => void, counted = false): Promise<void> {
  if (payload.batchId) await batchJobFailed(payload.batchId, payload.uuid, error, counted).catch(report);
  if (payload.chainCatchCallbacks?.length) {
    const where = { connection: payload.chainConnection, queue: payload.chainQueue };
    await invokeCallbacks(payload.chainCatchCallbacks, { args: [error], error, ...where }).catch(report);
  }
}
