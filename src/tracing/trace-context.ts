import type { SpanContext } from '@opentelemetry/api';

import type { TraceContext } from '../payload/job-payload.js';

/**
 * W3C `traceparent`: version, trace id, parent (span) id, flags, in lowercase hex. A future
 * version may append fields after the flags, which a reader ignores; version ff is invalid.
 */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** A span context as the payload's `traceContext` carries it (W3C Trace Context, version 00). */
export function traceContextOf(context: SpanContext): TraceContext {
  const flags = context.traceFlags & 0xff;
  const traceparent = `00-${context.traceId}-${context.spanId}-${flags < 16 ? '0' : ''}${flags.toString(16)}`;
  const tracestate = context.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/**
 * The parts of a payload's `traceContext`, or undefined when it is absent or malformed: it is a
 * hint for tracing, written by errand or by any producer that follows docs/payload.md, and a bad
 * one must never fail the job it rides on.
 */
export function parseTraceparent(
  value: unknown,
): { traceId: string; spanId: string; traceFlags: number; tracestate?: string } | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const { traceparent, tracestate } = value as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string') return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (version === 'ff' || (version === '00' && rest !== undefined)) return undefined;
  return {
    traceId,
    spanId,
    traceFlags: Number.parseInt(flags, 16),
    ...(typeof tracestate === 'string' && tracestate !== '' ? { tracestate } : {}),
  };
}
