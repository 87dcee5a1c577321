import type { JobOptions } from '../job/job-options.js';

/** What a PendingDispatch can set on top of the class's `@Job` options. */
export interface DispatchOptions {
  connection?: string;
  queue?: string;
  /** Seconds from now, or an instant. */
  delay?: number | Date;
  options: Partial<JobOptions>;
}
