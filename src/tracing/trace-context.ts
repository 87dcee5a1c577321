import type { SpanContext } from '@opentelemetry/api';

import type { TraceContext } from '../payload/job-payload.js';

/** W3C `traceparent` of version 00, the one errand writes: tested first, without captures. */
const TRACEPARENT_00 = /^00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Any version's `traceparent`: version, trace id, parent (span) id, flags, in lowercase hex. A
 * later version may append fields after the flags, which a reader ignores; version ff is invalid.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

const ZERO_TRACE_ID = '0'.repeat(32);
const ZERO_SPAN_ID = '0'.repeat(16);

/** A span context as the payload's `traceContext` carries it (W3C Trace Context, version 00). */
export function traceContextOf(context: SpanContext): TraceContext {
  const flags = context.traceFlags & 0xff;
  const traceparent = `00-${context.traceId}-${context.spanId}-${flags < 16 ? '0' : ''}${flags.toString(16)}`;
  const tracestate = context.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/**
 * The parts of a payload's `traceContext`, or undefined when it is absent, malformed or names an
 * all-zero trace or span id (W3C: invalid). It is a hint for tracing, written by errand or by any
 * producer that follows docs/payload.md, and a bad one must never fail the job it rides on.
 */
export function parseTraceparent(
  value: unknown,
): { traceId: string; spanId: string; traceFlags: number; tracestate?: string } | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { traceparent, tracestate } = value as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string') return undefined;
  let traceId: string;
  let spanId: string;
  let flags: string;
  // Read on every attempt of a traced job: the common form is sliced, not matched with captures.
  if (TRACEPARENT_00.test(traceparent)) {
    traceId = traceparent.slice(3, 35);
    spanId = traceparent.slice(36, 52);
    flags = traceparent.slice(53, 55);
  } else {
    const match = TRACEPARENT.exec(traceparent);
    if (!match || match[1] === '00' || match[1] === 'ff') return undefined;
    [, , traceId, spanId, flags] = match as unknown as [string, string, string, string, string];
  }
  if (traceId === ZERO_TRACE_ID || spanId === ZERO_SPAN_ID) return undefined;
  return {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    ...(typeof tracestate === 'string' && tracestate !== '' ? { tracestate } : {}),
  };
}
