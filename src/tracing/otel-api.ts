import { createRequire } from 'node:module';

import type * as OtelApi from '@opentelemetry/api';

/** The parts of `@opentelemetry/api` errand calls. */
export type OtelApiModule = typeof OtelApi;

let loaded: OtelApiModule | null | undefined;

/**
 * `@opentelemetry/api`, loaded on first call, or undefined when it is not installed. It is an
 * optional peer: tracing an app that never installed it is simply off, never an error, since
 * without an SDK there would be nothing to export to anyway. Loaded synchronously (the package
 * is CommonJS), so boot needs no extra await and a missing package is looked for once.
 */
export function loadOtelApi(): OtelApiModule | undefined {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApiModule;
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'MODULE_NOT_FOUND') throw error;
      loaded = null;
    }
  }
  return loaded ?? undefined;
}
