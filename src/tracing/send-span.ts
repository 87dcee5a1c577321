import type { Link, Span } from '@opentelemetry/api';

import type { JobPayload } from '../payload/job-payload.js';
import { sendAttributes } from './span-attributes.js';
import { endWithError } from './span-error.js';
import { traceContextOf } from './trace-context.js';
import { remoteSpanContext, tracing } from './tracing-state.js';

/** A send span, as the store paths hold it until their store resolves. */
export type SendSpan = Span;

/**
 * Starts the PRODUCER span `send <queue>` of one job about to be stored, under the active context
 * (the request, or the attempt a handler dispatches from), and writes its context into the
 * payload's `traceContext`, which must happen before the payload is serialized. Nothing is
 * written when the span context is invalid (the API without an SDK). Undefined when tracing is
 * off. `links`: spans the send relates to (a retry's original dispatch).
 */
export function startSendSpan(
  connection: string,
  queue: string,
  payload: JobPayload,
  links?: Link[],
): Span | undefined {
  const state = tracing();
  if (!state) return undefined;
  const span = state.tracer.startSpan(`send ${queue}`, {
    kind: state.api.SpanKind.PRODUCER,
    attributes: sendAttributes(connection, queue, payload),
    ...(links ? { links } : {}),
  });
  const context = span.spanContext();
  if (state.api.trace.isSpanContextValid(context)) payload.traceContext = traceContextOf(context);
  return span;
}

/**
 * One send span per job of a bulk store (`Queue.bulk`, a batch's jobs, a chain's next link):
 * each job has its own message id and its own context to carry, which one span for the whole
 * INSERT could not give. Undefined when tracing is off.
 */
export function startSendSpans(
  connection: string,
  entries: ReadonlyArray<{ queue: string; payload: JobPayload }>,
): Span[] | undefined {
  if (!tracing()) return undefined;
  return entries.map((entry) => startSendSpan(connection, entry.queue, entry.payload)!);
}

/** Ends send spans once their store resolved, or with `error` (ERROR status, the exception recorded) when it failed. */
export function endSendSpans(spans: Span | readonly Span[] | undefined, error?: unknown): void {
  if (!spans) return;
  const state = tracing();
  for (const span of Array.isArray(spans) ? (spans as readonly Span[]) : [spans as Span]) {
    if (error !== undefined && state) endWithError(state.api, span, error);
    else span.end();
  }
}

/**
 * Runs `store` (the INSERT or script of one or more jobs) between their send spans: started
 * before, so the payloads carry their context into the store; ended when it resolves or fails.
 * With tracing off, or on a connection that stores nothing (`sync`, which runs the jobs inline),
 * `store` runs alone.
 */
export async function traceSend<T>(
  connection: { name: string; runsJobsInline?: boolean },
  entries: ReadonlyArray<{ queue: string; payload: JobPayload }>,
  store: () => Promise<T>,
): Promise<T> {
  const spans = connection.runsJobsInline ? undefined : startSendSpans(connection.name, entries);
  if (!spans) return store();
  try {
    const result = await store();
    endSendSpans(spans);
    return result;
  } catch (error) {
    endSendSpans(spans, error);
    throw error;
  }
}

/**
 * The send span of a failed job pushed back (`queue:retry`, the dashboard), and the payload text
 * to store: the stored text with its `traceContext` replaced by the span's (so the new attempts
 * relate to the retry), the span linking to the context the job carried before (its original
 * dispatch). With tracing off, on the sync connection (which stores nothing), or for text that is
 * not a JSON object, the text is returned as it was and nothing is started.
 */
export function startRetrySpan(
  connection: { connectionName: string; runsJobsInline?: boolean },
  queue: string,
  raw: string,
): { text: string; span?: Span } {
  const state = tracing();
  if (!state || connection.runsJobsInline) return { text: raw };
  let payload: JobPayload;
  try {
    payload = JSON.parse(raw) as JobPayload;
  } catch {
    return { text: raw };
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) return { text: raw };
  const before = remoteSpanContext(state.api, payload.traceContext);
  const carried = payload.traceContext;
  const span = startSendSpan(connection.connectionName, queue, payload, before ? [{ context: before }] : undefined)!;
  return { text: payload.traceContext === carried ? raw : JSON.stringify(payload), span };
}
