import type { Span } from '@opentelemetry/api';

import type { ReservedJob } from '../contracts/reserved-job.js';
import type { JobPayload } from '../payload/job-payload.js';
import { processAttributes } from './span-attributes.js';
import { markError } from './span-error.js';
import { remoteSpanContext, type TracingState } from './tracing-state.js';

// The span of each attempt under way that has no error recorded yet, keyed by its claim (one
// object per attempt): the processor reports failures by the claim it holds, without the span
// travelling through every step of the state machine.
const open = new WeakMap<ReservedJob, { span: Span; state: TracingState }>();

/**
 * Runs one attempt (`run` called on `self` with `args`: the handler, its middleware and the
 * finishing writes) inside the CONSUMER span `process <queue>`, made current so that jobs, chain
 * links, batch callbacks and queued listeners dispatched from it carry its context. How it relates
 * to the dispatch's span follows `tracing.propagation`: `link` a new trace linking to it, `parent`
 * a child of it, `parent-first-attempt` a child on attempt 1 and a linked new trace on later
 * attempts (a retry hours later does not stretch the request's trace). A payload without a usable
 * `traceContext` gives a new trace with no link. The span ends when `run` settles; `'lost'` (the
 * lease was lost) ends it with ERROR status when no error was recorded before.
 *
 * A span the sampler dropped is still made current (its dispatches carry the unsampled context,
 * so downstream parent-based samplers drop them too), but nothing else is done for it: it has no
 * status to set and no end to report, so the attempt's own promise is returned as it is.
 */
export function traceAttempt<This, Args extends unknown[], T>(
  state: TracingState,
  reserved: ReservedJob,
  connection: string,
  payload: JobPayload | undefined,
  run: (this: This, ...args: Args) => Promise<T>,
  self: This,
  ...args: Args
): Promise<T> {
  const { api, tracer, propagation } = state;
  const remote = payload ? remoteSpanContext(api, payload.traceContext) : undefined;
  const child =
    remote !== undefined &&
    (propagation === 'parent' || (propagation === 'parent-first-attempt' && reserved.attempts <= 1));
  const active = api.context.active();
  const attributes = processAttributes(connection, reserved, payload);
  const name = `process ${reserved.queue}`;
  // `active` passed on: the tracer would look it up again. One literal shape per branch.
  const span = child
    ? tracer.startSpan(name, { kind: api.SpanKind.CONSUMER, attributes }, api.trace.setSpanContext(active, remote))
    : tracer.startSpan(
        name,
        { kind: api.SpanKind.CONSUMER, attributes, root: true, links: remote ? [{ context: remote }] : undefined },
        active,
      );
  const current = api.trace.setSpan(active, span);
  if (!span.isRecording()) return api.context.with(current, run, self, ...args);
  open.set(reserved, { span, state });
  return api.context.with(current, run, self, ...args).then(
    (result) => {
      if (open.delete(reserved) && result === 'lost')
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: 'the lease was lost; the attempt changed nothing' });
      span.end();
      return result;
    },
    (error: unknown) => {
      if (open.delete(reserved)) markError(api, span, error);
      span.end();
      throw error;
    },
  );
}

/**
 * Records why an attempt failed on its span (ERROR status, an exception event): the handler threw
 * or timed out (whether the job is then released or failed), or the job failed without running.
 * Only the first error of an attempt is recorded; nothing happens when the attempt is not traced.
 */
export function attemptFailed(reserved: ReservedJob, error: unknown): void {
  const entry = open.get(reserved);
  if (!entry) return;
  open.delete(reserved);
  markError(entry.state.api, entry.span, error);
}
