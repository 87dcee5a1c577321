import type { DashboardData } from './dashboard-api.js';
import { DashboardHttpError } from './dashboard-api.js';
import type { DashboardOptions } from './dashboard-options.js';

/** Where the dashboard reads and changes: `options.data`, else the errand runtime. */
export function dataFromOptions(options: DashboardOptions): DashboardData {
  if (options.data) return options.data;
  // Until the runtime's inspectors are wired, every read answers 503 and names the option.
  return new Proxy({ connections: [], defaultConnection: '' } as unknown as DashboardData, {
    get(target, name) {
      if (name in target) return target[name as keyof DashboardData];
      return () =>
        Promise.reject(new DashboardHttpError(503, 'The dashboard reads no runtime yet: pass `data`.', 'data'));
    },
  });
}
