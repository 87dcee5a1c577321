import { report, runtime } from '../runtime/current.js';
import { Batch } from './batch.js';
import { type CallbackCall, invokeCallbacks } from './callbacks.js';
import { sendChainLink } from './chain-dispatch.js';

/**
 * Counts a batched job's success (unless its delete already did, in one transaction), then runs
 * what became due: progress callbacks every time,
 * `then` once every job has succeeded, `finally` once every job has run. Each of `then`, `catch`
 * and `finally` runs once: the run is claimed by one conditional UPDATE, whichever worker gets
 * there first.
 */
export async function batchJobSucceeded(batchId: string, uuid: string, counted = false): Promise<void> {
  const repository = (await runtime()).queues.batches();
  if (!counted) await repository.recordSuccess(batchId, uuid);
  const batch = await read(batchId);
  if (!batch) return;
  await invokeCallbacks(batch.options.progress, call(batch));
  await settle(batch);
}

/**
 * Counts a batched job's final failure: without `allowFailures` the batch is cancelled; `catch`
 * runs on the first failure; `finally` once every job has run.
 */
export async function batchJobFailed(batchId: string, uuid: string, error: Error, counted = false): Promise<void> {
  const repository = (await runtime()).queues.batches();
  if (!counted) await repository.recordFailure(batchId, uuid);
  if (!(await read(batchId))?.options.allowFailures) await repository.cancel(batchId);
  const batch = await read(batchId);
  if (!batch) return;
  if (batch.options.allowFailures) await invokeCallbacks(batch.options.progress, call(batch));
  if (batch.failedJobs > 0 && (await repository.claimCallback(batchId, 'catch'))) {
    await invokeCallbacks(batch.options.catch, call(batch, error));
  }
  await settle(batch);
}

/** Runs `then` and `finally` if they are due and nobody has run them; continues an enclosing chain. */
export async function settle(batch: Batch): Promise<void> {
  const repository = (await runtime()).queues.batches();
  if (batch.pendingJobs === 0 && (await repository.claimCallback(batch.id, 'then'))) {
    await invokeCallbacks(batch.options.then, call(batch));
  }
  if (batch.pendingJobs - batch.failedJobs <= 0 && (await repository.claimCallback(batch.id, 'finally'))) {
    const latest = (await read(batch.id)) ?? batch;
    await invokeCallbacks(latest.options.finally, call(latest));
    const chain = latest.options.chain;
    // A chain that holds a batch goes on once the batch has run, unless it was cancelled.
    if (chain && !latest.cancelled()) {
      await sendChainLink(chain.links, {
        chainConnection: chain.connection,
        chainQueue: chain.queue,
        chainCatchCallbacks: chain.catch,
      }).catch(report);
    }
  }
}

async function read(batchId: string): Promise<Batch | undefined> {
  const row = await (await runtime()).queues.batches().find(batchId);
  return row ? new Batch(row) : undefined;
}

function call(batch: Batch, error?: Error): CallbackCall {
  return {
    args: [batch, error],
    batchId: batch.id,
    error,
    connection: batch.options.connection,
    queue: batch.options.queue,
  };
}
