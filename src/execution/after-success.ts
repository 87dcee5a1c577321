import { batchJobSucceeded } from '../bus/batch-progress.js';
import { nextChainTarget, sendChainLink } from '../bus/chain-dispatch.js';
import { encodeLink, type LinkEncoding } from '../bus/chain-link.js';
import { sendPayload } from '../bus/dispatcher.js';
import type { FinishingWrites, WorkerQueue } from '../contracts/worker-queue.js';
import { JobQueued } from '../events/job-queued.js';
import type { ChainState } from '../job/job-context.js';
import { countDispatched } from '../metrics/process-metrics.js';
import { serializePayload } from '../payload/encode-payload.js';
import type { CallbackContext, JobPayload } from '../payload/job-payload.js';
import { events, runtime } from '../runtime/current.js';
import { endSendSpans, startSendSpan } from '../tracing/send-span.js';
import { type BatchCounts, batchCountWithin } from './record-failure.js';

/** The send span status of a chain's next link whose job's delete did not land (the lease lost). */
const LINK_NOT_STORED = "the chain's next job was not stored: the finishing job's lease was lost before its delete";

/** What a job's info says about its batch and, for a callback job, what it was called for. */
export function busInfo(payload: JobPayload): { batchId?: string; callback?: CallbackContext } {
  return {
    ...(payload.batchId ? { batchId: payload.batchId } : {}),
    ...(payload.callback ? { callback: payload.callback } : {}),
  };
}

/** The runtime's batch repository, or undefined when `batching` is not configured. */
export async function runtimeBatches(): Promise<BatchCounts | undefined> {
  const app = await runtime();
  return app.config.batching ? app.queues.batches() : undefined;
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

/** What a job's success does besides deleting it. */
export interface SuccessPlan {
  /** Runs before the delete: the next job of the chain when it goes to another database. */
  before?: () => Promise<void>;
  /** Committed with the delete: the next job of the chain on the same database, then the batch count. */
  within?: FinishingWrites;
  /** Runs once the delete landed: announcements and the batch's callbacks. */
  after(): Promise<void>;
  /**
   * Called once the finishing write settled, however it went: `deleted` when the job's delete
   * (and so `within`'s writes) committed; otherwise `error` is why (undefined: the lease was lost
   * and `within` never ran or was rolled back). Ends the next link's send span, exactly once.
   */
  settled(deleted: boolean, error?: unknown): void;
}

/**
 * Plans a job's success so the chain is never lost nor doubled while the worker holds the job:
 * the next job is inserted in the same transaction as the delete (and the batch count) when it
 * goes to the same database; to another database it is pushed before the delete (at least once,
 * as Laravel does). A next job that cannot be encoded or pushed is reported; the chain ends there.
 */
export async function planSuccess(
  payload: JobPayload,
  chain: ChainState | undefined,
  driver: WorkerQueue,
  report: (error: unknown) => void,
): Promise<SuccessPlan> {
  const writes: FinishingWrites[] = [];
  const announcements: Array<() => Promise<void>> = [];
  let before: (() => Promise<void>) | undefined;
  let settle: SuccessPlan['settled'] | undefined;
  if (chain && chain.links.length > 0) {
    try {
      const target = (await nextChainTarget(chain.links, {
        chainConnection: chain.connection,
        chainQueue: chain.queue,
        chainCatchCallbacks: chain.catchCallbacks,
      }))!;
      const app = await runtime();
      const next = app.queues.connection(target.connectionName);
      if (driver.sharesStoreWith(next)) {
        // Started before the payload is serialized, so the next link carries this attempt's send span.
        const span = startSendSpan(target.connectionName, target.queue, target.payload);
        let text: string;
        try {
          text = serializePayload(target.payload, app.config.maxPayloadSize);
        } catch (error) {
          endSendSpans(span, error);
          throw error;
        }
        let id = '';
        // `within` may run more than once (a finishing write tried again after a deadlock or an
        // outage) or not at all (the lease lost first): only the settled delete says whether the
        // link was stored, so the span ends there, once.
        let storeError: unknown;
        settle = (deleted, error) => {
          if (deleted) endSendSpans(span);
          else endSendSpans(span, error ?? storeError ?? new Error(LINK_NOT_STORED));
        };
        writes.push(async (trx) => {
          try {
            [id] = (await next.bulk([
              { queue: target.queue, payload: text, delay: target.delay, transaction: trx },
            ])) as [string];
            storeError = undefined;
          } catch (error) {
            storeError = error;
            throw error;
          }
        });
        announcements.push(async () => {
          countDispatched(target.connectionName, target.queue, target.payload);
          if (events.has(JobQueued))
            await events.emit(new JobQueued(target.connectionName, target.queue, id, target.payload, target.delay));
        });
      } else {
        before = async () => void (await sendPayload(target).catch(report));
      }
    } catch (error) {
      report(error);
    }
  }
  const batchWrite = await batchCountWithin(payload, driver, runtimeBatches, 'success');
  if (batchWrite) writes.push(batchWrite);
  return {
    before,
    within:
      writes.length > 0
        ? async (trx) => {
            for (const write of writes) await write(trx);
          }
        : undefined,
    settled(deleted, error) {
      const end = settle;
      settle = undefined;
      end?.(deleted, error);
    },
    async after() {
      for (const announce of announcements) await announce().catch(report);
      if (payload.batchId)
        await batchJobSucceeded(payload.batchId, payload.uuid, batchWrite !== undefined).catch(report);
    },
  };
}

/**
 * After a job succeeded on the sync connection (ran without being released or failed, whether it
 * deleted itself or not, as Laravel): the next job of its chain is pushed, then its batch counts
 * it. The next job's push is the caller's to see, as on Laravel's sync queue: a next job on the
 * sync connection runs inside it, and when that job fails (or the push does) the error is thrown
 * on, the rest of the chain does not run and the `dispatchSync` or dispatch being awaited rejects.
 * The job itself stays done (its failed() is not called). A batch count error is reported.
 */
export async function afterJobSucceeded(
  payload: JobPayload,
  chain: ChainState | undefined,
  report: (error: unknown) => void,
  counted = false,
): Promise<void> {
  if (chain && chain.links.length > 0) {
    const carry = {
      chainConnection: chain.connection,
      chainQueue: chain.queue,
      chainCatchCallbacks: chain.catchCallbacks,
    };
    await sendChainLink(chain.links, carry);
  }
  if (payload.batchId) await batchJobSucceeded(payload.batchId, payload.uuid, counted).catch(report);
}
