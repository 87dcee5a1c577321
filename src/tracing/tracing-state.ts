import type { SpanContext, Tracer } from '@opentelemetry/api';

import type { TracingPropagation } from '../config/config-types.js';
import { loadOtelApi, type OtelApiModule } from './otel-api.js';
import { parseTraceparent } from './trace-context.js';

/** What the hot paths need once tracing is on: the API, errand's tracer and the propagation mode. */
export interface TracingState {
  readonly api: OtelApiModule;
  readonly tracer: Tracer;
  readonly propagation: TracingPropagation;
}

/** The instrumentation scope errand's spans are reported under. */
export const TRACER_NAME = 'errand';

// The one variable dispatch and the worker check: undefined (tracing off, or the API not
// installed) costs them nothing more.
let state: TracingState | undefined;

/**
 * Turns tracing on or off for this process, from the config (`tracing`); boot calls it. On when
 * `enabled` and `@opentelemetry/api` loads; whether spans are recorded is then the SDK's business
 * (without one the API hands out spans that record nothing, and no `traceContext` is written).
 * The tracer is a proxy: an SDK registered after boot is picked up on the first span.
 */
export function configureTracing(config: { enabled: boolean; propagation: TracingPropagation }): void {
  const api = config.enabled ? loadOtelApi() : undefined;
  state = api ? { api, tracer: api.trace.getTracer(TRACER_NAME), propagation: config.propagation } : undefined;
}

/** The tracing state when tracing is on, else undefined. */
export function tracing(): TracingState | undefined {
  return state;
}

/** A payload's `traceContext` as a remote span context, or undefined when absent, malformed or invalid. */
export function remoteSpanContext(api: OtelApiModule, value: unknown): SpanContext | undefined {
  const parsed = parseTraceparent(value);
  if (!parsed) return undefined;
  // parseTraceparent checked what isSpanContextValid would: lowercase hex, ids not all zero.
  return {
    traceId: parsed.traceId,
    spanId: parsed.spanId,
    traceFlags: parsed.traceFlags,
    isRemote: true,
    ...(parsed.tracestate ? { traceState: api.createTraceState(parsed.tracestate) } : {}),
  };
}
