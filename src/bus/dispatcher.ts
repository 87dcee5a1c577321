import type { ResolvedConnection } from '../config/config-types.js';
import { ownProperty } from '../config/own-property.js';
import type { Queue } from '../contracts/queue.js';
import { ConfigError } from '../errors/config-error.js';
import { JobQueued } from '../events/job-queued.js';
import type { JobOptions } from '../job/job-options.js';
import { countDispatched } from '../metrics/process-metrics.js';
import { effectiveOptions, encodePayload, registeredJobOf, serializePayload } from '../payload/encode-payload.js';
import { type ErrandRuntime, events, report, runtime, track } from '../runtime/current.js';
import { endSendSpans, startSendSpan } from '../tracing/send-span.js';
import { chainKeys } from './chain-link.js';
import { interceptedDispatch } from './dispatch-interceptor.js';
import type { DispatchOptions, PayloadTarget } from './dispatch-options.js';
import { afterCommit, currentTransaction, isTransaction, onHeldConnection } from './transactions.js';
import { sendUnique } from './unique-dispatch.js';
import { uniqueLockFor } from './unique-lock.js';
import { validateDelay } from './validate-delay.js';

/**
 * Encodes a job and stores it on its connection (the dispatch override, else the class option,
 * else the chain's, else the default connection). Resolves to the job id, or null when the push
 * waits for a transaction to commit.
 */
export async function pushToQueue(job: object, dispatch: DispatchOptions): Promise<string | null> {
  const app = await runtime();
  const entry = registeredJobOf(job);
  const options = effectiveOptions(entry, dispatch.options, job);
  const connectionName = dispatch.connection ?? options.connection ?? dispatch.chainConnection ?? app.config.default;
  const driver = app.queues.connection(connectionName);
  const queue = dispatch.queue ?? options.queue ?? dispatch.chainQueue ?? driver.defaultQueue;
  validateDelay(`Job ${entry.name}`, dispatch.delay);
  const faked = interceptedDispatch({
    kind: 'push',
    job,
    connection: connectionName,
    queue,
    delay: dispatch.delay,
    chain: dispatch.chain ?? [],
  });
  if (faked) return faked;
  const payload = encodePayload(job, options, {
    delay: dispatch.delay,
    keyring: app.config.keyring,
    middleware: dispatch.middleware,
  });
  if (dispatch.chain?.length || dispatch.chainCatch?.length) Object.assign(payload, await chainKeys(dispatch));
  const timing = transactionTiming(entry.name, dispatch, options, ownProperty(app.config.connections, connectionName));
  const target: PayloadTarget = { connectionName, queue, payload, delay: dispatch.delay, ...timing };
  // A unique job takes its lock first and is not pushed when another job holds it (resolves to null).
  const unique = uniqueLockFor(job, entry, options);
  return unique ? sendUnique(unique, target, job, entry.name, sendPayload) : sendPayload(target);
}

/**
 * Stores a payload that is already encoded (a chained job's turn, a callback job, a retried
 * job): now, inside the given transaction, or once a transaction commits. With tracing on, the
 * store runs in a `send <queue>` span whose context the payload carries (for a push deferred to
 * a commit, the span ends when the push is handed to the commit).
 */
export async function sendPayload(target: PayloadTarget): Promise<string | null> {
  const app = await runtime();
  const driver = app.queues.connection(target.connectionName);
  // The sync connection stores nothing (it runs the job right here): no send span (decision 0077).
  const span = driver.runsJobsInline ? undefined : startSendSpan(target.connectionName, target.queue, target.payload);
  if (!span) return storePayload(app, driver, target);
  try {
    const id = await storePayload(app, driver, target);
    endSendSpans(span);
    return id;
  } catch (error) {
    endSendSpans(span, error);
    throw error;
  }
}

async function storePayload(app: ErrandRuntime, driver: Queue, target: PayloadTarget): Promise<string | null> {
  if (target.transaction && !driver.knex) {
    throw new ConfigError(
      `Job ${target.payload.displayName}: withTransaction(trx) needs a database queue connection; [${target.connectionName}] is not one.`,
    );
  }
  const text = serializePayload(target.payload, app.config.maxPayloadSize);
  const what = `Job ${target.payload.displayName} on [${target.connectionName}]`;
  if (target.transaction) {
    const id = await driver.push({
      queue: target.queue,
      payload: text,
      delay: target.delay,
      transaction: target.transaction,
    });
    // The row exists for others only once the application's transaction commits.
    afterCommit(
      target.transaction,
      { what, committed: () => announce(target, id, driver.runsJobsInline), dropped: () => drop(target) },
      { track, report },
    );
    return id;
  }
  const push = async () => {
    const request = { queue: target.queue, payload: text, delay: target.delay };
    const knex = driver.knex;
    if (!knex) return driver.push(request);
    // After a commit, on the pool of the committed transaction: its connection, which it still holds.
    return onHeldConnection(
      knex,
      (held) => knex.transaction((trx) => driver.push({ ...request, transaction: trx }), { connection: held }),
      () => driver.push(request),
    );
  };
  if (!target.afterCommit) {
    const id = await push();
    await announce(target, id, driver.runsJobsInline);
    return id;
  }
  afterCommit(
    target.afterCommit,
    {
      what,
      // The sync connection runs the job here and now: not while the commit holds its connection.
      runsCode: driver.runsJobsInline === true,
      committed: async () => {
        let id: string;
        try {
          id = await push();
        } catch (error) {
          // Never stored after all: what was held for it (a unique lock) is let go.
          drop(target);
          throw error;
        }
        await announce(target, id, driver.runsJobsInline);
      },
      dropped: () => drop(target),
    },
    { track, report },
  );
  return null;
}

/**
 * Lets go of what was held for a job that will never be stored (a unique lock taken beside its
 * transaction), in view of shutdown(): a script that rolls back and then shuts down must not have
 * the connection closed under the release, which would leave the key locked.
 */
function drop(target: PayloadTarget): void {
  if (target.onDropped) void track(Promise.resolve().then(target.onDropped)).catch(report);
}

/** The job is stored (and its transaction, if any, committed): counted, then announced. */
async function announce(target: PayloadTarget, id: string, inline: boolean): Promise<void> {
  countDispatched(target.connectionName, target.queue, target.payload, inline);
  if (events.has(JobQueued))
    await events.emit(new JobQueued(target.connectionName, target.queue, id, target.payload, target.delay));
}

/** Runs a job now through the sync path: the same payload round trip, failed() on error, error thrown. */
export async function runNow(job: object, dispatch: DispatchOptions): Promise<void> {
  const faked = interceptedDispatch({ kind: 'sync', job, chain: dispatch.chain ?? [] });
  if (faked) return void (await faked);
  const app = await runtime();
  const options = effectiveOptions(registeredJobOf(job), dispatch.options, job);
  const payload = encodePayload(job, options, { keyring: app.config.keyring, middleware: dispatch.middleware });
  if (dispatch.chain?.length || dispatch.chainCatch?.length) Object.assign(payload, await chainKeys(dispatch));
  await app.queues.sync().push({ queue: 'sync', payload: serializePayload(payload, app.config.maxPayloadSize) });
}

/**
 * @internal When the push happens relative to the application's transaction: inside the one given to
 * `withTransaction`, after the commit of the one `afterCommit` names (or the ambient one), or now.
 */
export function transactionTiming(
  jobName: string,
  dispatch: DispatchOptions,
  options: JobOptions,
  connection: ResolvedConnection | undefined,
): Pick<PayloadTarget, 'transaction' | 'afterCommit'> {
  if (dispatch.transaction !== undefined) {
    if (!isTransaction(dispatch.transaction))
      throw new ConfigError(`Job ${jobName}: withTransaction(trx) needs a knex transaction.`);
    if (dispatch.transaction.isCompleted())
      throw new ConfigError(`Job ${jobName}: withTransaction(trx) was given a transaction that has already ended.`);
    return { transaction: dispatch.transaction };
  }
  const wanted =
    dispatch.afterCommit ??
    options.afterCommit ??
    (connection && 'afterCommit' in connection ? connection.afterCommit : undefined) ??
    false;
  if (wanted === false) return {};
  if (wanted !== true && !isTransaction(wanted))
    throw new ConfigError(`Job ${jobName}: afterCommit(trx) needs a knex transaction.`);
  const trx = wanted === true ? currentTransaction() : wanted;
  // Outside any transaction there is nothing to wait for: the job is pushed at once, as Laravel does.
  return trx && !trx.isCompleted() ? { afterCommit: trx } : {};
}
