import type { Span } from '@opentelemetry/api';

import type { OtelApiModule } from './otel-api.js';

/** Marks `span` failed by `error` (ERROR status with its message, an exception event), without ending it. */
export function markError(api: OtelApiModule, span: Span, error: unknown): void {
  if (error instanceof Error) {
    span.recordException(error);
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: `${error.name}: ${error.message}` });
  } else {
    span.recordException(String(error));
    span.setStatus({ code: api.SpanStatusCode.ERROR, message: String(error) });
  }
}

/** {@link markError}, then ends the span. */
export function endWithError(api: OtelApiModule, span: Span, error: unknown): void {
  markError(api, span, error);
  span.end();
}
