// The payload's traceContext (decision 0078): written as W3C traceparent/tracestate from a span
// context, read leniently (anything malformed is as if absent), and kept by parsePayload only in
// its documented shape.
import { createTraceState, TraceFlags } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';

import { parsePayload } from '../../src/payload/decode-payload.js';
import { loadOtelApi } from '../../src/tracing/otel-api.js';
import { parseTraceparent, traceContextOf } from '../../src/tracing/trace-context.js';
import { remoteSpanContext } from '../../src/tracing/tracing-state.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const SPAN = '00f067aa0ba902b7';

describe('traceContextOf', () => {
  it('writes version 00, lowercase hex, two flag digits, and tracestate only when there is one', () => {
    expect(traceContextOf({ traceId: TRACE, spanId: SPAN, traceFlags: TraceFlags.SAMPLED })).toEqual({
      traceparent: `00-${TRACE}-${SPAN}-01`,
    });
    expect(
      traceContextOf({
        traceId: TRACE,
        spanId: SPAN,
        traceFlags: TraceFlags.NONE,
        traceState: createTraceState('vendor=abc,other=1'),
      }),
    ).toEqual({ traceparent: `00-${TRACE}-${SPAN}-00`, tracestate: 'vendor=abc,other=1' });
  });
});

describe('parseTraceparent', () => {
  it('reads version 00 and a later version by its first four fields', () => {
    expect(parseTraceparent({ traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'a=1' })).toEqual({
      traceId: TRACE,
      spanId: SPAN,
      traceFlags: 1,
      tracestate: 'a=1',
    });
    expect(parseTraceparent({ traceparent: `01-${TRACE}-${SPAN}-03-future` })?.traceFlags).toBe(3);
  });

  it.each([
    ['absent', undefined],
    ['a string', `00-${TRACE}-${SPAN}-01`],
    ['no traceparent', { tracestate: 'a=1' }],
    ['uppercase hex', { traceparent: `00-${TRACE.toUpperCase()}-${SPAN}-01` }],
    ['version ff', { traceparent: `ff-${TRACE}-${SPAN}-01` }],
    ['version 00 with more fields', { traceparent: `00-${TRACE}-${SPAN}-01-x` }],
    ['a short trace id', { traceparent: `00-${TRACE.slice(1)}-${SPAN}-01` }],
  ])('ignores %s', (_what, value) => {
    expect(parseTraceparent(value)).toBeUndefined();
  });

  it('gives no remote context for all-zero ids', () => {
    const api = loadOtelApi()!;
    expect(remoteSpanContext(api, { traceparent: `00-${'0'.repeat(32)}-${SPAN}-01` })).toBeUndefined();
    expect(remoteSpanContext(api, { traceparent: `00-${TRACE}-${'0'.repeat(16)}-01` })).toBeUndefined();
    expect(remoteSpanContext(api, { traceparent: `00-${TRACE}-${SPAN}-01` })).toMatchObject({
      traceId: TRACE,
      spanId: SPAN,
      isRemote: true,
    });
  });
});

describe('parsePayload', () => {
  const payload = (traceContext: unknown) =>
    JSON.stringify({
      uuid: '2b6c3c1e-8d0f-4c1e-9a77-4f1f3c1f2a10',
      displayName: 'AddToCart',
      job: 'errand:CallQueuedHandler@call',
      data: { commandName: 'AddToCart', command: {} },
      createdAt: 1,
      traceContext,
    });

  it('keeps a traceContext of the documented shape', () => {
    const context = { traceparent: `00-${TRACE}-${SPAN}-01`, tracestate: 'a=1' };
    expect(parsePayload(payload(context)).traceContext).toEqual(context);
  });

  it('drops any other, without refusing the job', () => {
    expect(parsePayload(payload('00-x')).traceContext).toBeUndefined();
    expect(parsePayload(payload({ traceparent: 7 })).traceContext).toBeUndefined();
    expect(parsePayload(payload({ traceparent: 'x', tracestate: 5 })).traceContext).toEqual({ traceparent: 'x' });
  });
});
