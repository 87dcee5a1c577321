import { createRequire } from 'node:module';

import type * as PromClient from 'prom-client';

import { ConfigError } from '../errors/config-error.js';

/** prom-client's module, as errand uses it. */
export type PromClientModule = typeof PromClient;

let loaded: PromClientModule | undefined;

/**
 * prom-client, loaded on first use: it is an optional peer dependency, so the main entry never
 * loads it and an app that exports no metrics need not install it. Synchronous (prom-client is
 * CommonJS), so registering metrics stays a plain call. A missing package is a ConfigError
 * naming the install command.
 */
export function loadPromClient(): PromClientModule {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('prom-client') as PromClientModule;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    const missing =
      code === 'MODULE_NOT_FOUND' &&
      typeof message === 'string' &&
      message.startsWith("Cannot find module 'prom-client'");
    if (!missing) throw error;
    throw new ConfigError(
      "errand's Prometheus metrics need prom-client, an optional peer dependency: install it with `npm install prom-client`.",
      { cause: error },
    );
  }
  return loaded;
}
