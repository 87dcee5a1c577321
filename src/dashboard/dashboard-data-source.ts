import { runtime } from '../runtime/current.js';
import type { DashboardData } from './dashboard-api.js';
import { type DashboardOptions, DEFAULT_REDACT } from './dashboard-options.js';
import { RuntimeDashboardData } from './runtime-data.js';

/** Where the dashboard reads and changes: `options.data`, else the errand runtime's stores. */
export async function dataFromOptions(options: DashboardOptions): Promise<DashboardData> {
  if (options.data) return options.data;
  const given = options.runtime;
  const app = given === undefined ? await runtime() : typeof given === 'function' ? await given() : given;
  return new RuntimeDashboardData(app, {
    cap: options.countCap ?? 100_000,
    cacheMs: (options.countCacheSeconds ?? 5) * 1000,
    redact: options.redact ?? DEFAULT_REDACT,
  });
}
