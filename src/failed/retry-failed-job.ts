import { ownProperty } from '../config/own-property.js';
import type { StoredFailedJob } from '../contracts/failed-job-store.js';
import { ConfigError } from '../errors/config-error.js';
import { JobRetryRequested } from '../events/job-retry-requested.js';
import { dispatchEvent } from '../listeners/event-dispatcher.js';
import { countDispatched } from '../metrics/process-metrics.js';
import { type ErrandRuntime, events } from '../runtime/current.js';
import { endSendSpans, type SendSpan, startRetrySpan } from '../tracing/send-span.js';
import { refreshRetryUntil } from './refresh-retry-until.js';

/**
 * Pushes a failed job back onto the connection and queue it failed on, with its attempts reset
 * and its payload (and uuid) unchanged but for a fresh `retryUntil` (see refreshRetryUntil) and,
 * with tracing on, the retry's own `traceContext` (see startRetrySpan), as
 * Laravel's `queue:retry` does; then forgets the failed record. Emits `JobRetryRequested` first.
 * `key` is the record's uuid or its numeric id. Resolves to the new job id. The push comes first: a crash in between leaves the record to retry again, never a job lost.
 */
export async function retryFailedJob(app: ErrandRuntime, key: string): Promise<string> {
  const record = await app.queues.failer().find(key);
  if (!record) throw new ConfigError(`No failed job has the id or uuid [${key}].`);
  return retryFailedRecord(app, record);
}

/**
 * {@link retryFailedJob} for a record already read (`queue:retry all` reads them in one query).
 * A new jobs row starts at zero attempts, so pushing the stored payload is the reset.
 */
export async function retryFailedRecord(app: ErrandRuntime, record: StoredFailedJob): Promise<string> {
  const driver = app.queues.connection(record.connection);
  const { text, span } = startRetrySpan(driver, record.queue, await retryRequested(app, record));
  let id: string;
  try {
    id = await driver.push({ queue: record.queue, payload: text });
  } catch (error) {
    endSendSpans(span, error);
    throw error;
  }
  endSendSpans(span);
  countDispatched(record.connection, record.queue, text, app.queues.connection(record.connection).runsJobsInline);
  await app.queues.failer().forget(record.uuid);
  return id;
}

/**
 * {@link retryFailedRecord} for a chunk of records: one bulk push per connection, then the
 * records forgotten. Every push of the chunk comes before any forget, so a crash midway leaves
 * the whole chunk to retry again (at most this chunk runs twice), never a job lost.
 */
export async function retryFailedRecords(app: ErrandRuntime, records: readonly StoredFailedJob[]): Promise<void> {
  const byConnection = new Map<string, { queue: string; payload: string }[]>();
  const spans: SendSpan[] = [];
  for (const record of records) {
    const payload = await retryRequested(app, record);
    const { text, span } = startRetrySpan(app.queues.connection(record.connection), record.queue, payload);
    if (span) spans.push(span);
    let requests = byConnection.get(record.connection);
    if (!requests) byConnection.set(record.connection, (requests = []));
    requests.push({ queue: record.queue, payload: text });
  }
  try {
    for (const [connection, requests] of byConnection) {
      const driver = app.queues.connection(connection);
      await driver.bulk(requests);
      for (const request of requests)
        countDispatched(connection, request.queue, request.payload, driver.runsJobsInline);
    }
  } catch (error) {
    endSendSpans(spans, error);
    throw error;
  }
  endSendSpans(spans);
  const failer = app.queues.failer();
  for (const record of records) await failer.forget(record.uuid);
}

/** Checks the record's connection is still configured, emits JobRetryRequested, and gives the payload to push. */
async function retryRequested(app: ErrandRuntime, record: StoredFailedJob): Promise<string> {
  if (!ownProperty(app.config.connections, record.connection)) {
    throw new ConfigError(
      `Failed job [${record.uuid}] ran on connection [${record.connection}], which is no longer configured.`,
    );
  }
  const requested = new JobRetryRequested(record);
  await events.emit(requested);
  await dispatchEvent(requested);
  return refreshRetryUntil(record.payload, app.config.keyring);
}
