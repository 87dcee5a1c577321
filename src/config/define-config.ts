import type { ErrandConfig } from './config-types.js';

/** Types an `errand.config.*` export; returns it unchanged. */
export function defineConfig(config: ErrandConfig): ErrandConfig {
  return config;
}
