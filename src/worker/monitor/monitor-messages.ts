import type { ResolvedConfig } from '../../config/config-types.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';
import type { Controls } from '../../drivers/database/queries/controls.js';
import type { WorkerRegistration } from '../../drivers/database/queries/workers.js';
import type { TimeoutPolicy } from './timeout-policy.js';

/** What the monitor thread is started with. */
export interface MonitorData {
  /** The resolved configuration without `report` (functions cannot cross threads). */
  config: Omit<ResolvedConfig, 'report'>;
  connectionName: string;
  registration: WorkerRegistration;
  /** Heartbeats on (seconds), or off: then only controls are polled, every `pollInterval`. */
  heartbeat: { interval: number; lapse: number } | false;
  pollInterval: number;
  /** Milliseconds past a job's deadline before a blocked event loop ends the process. */
  watchdogGraceMs: number;
  /** The main thread writes Date.now() into slot 0 several times a second while its loop turns. */
  loopBeat: SharedArrayBuffer;
}

/** A job the main thread is running, with its deadline. */
export interface WatchedJob {
  job: ReservedJob;
  displayName: string;
  uuid: string | undefined;
  /** Epoch milliseconds at which the attempt times out; Infinity without a timeout. */
  deadline: number;
  policy: TimeoutPolicy;
}

/** Main thread → monitor. */
export type ToMonitor =
  | { type: 'hold'; jobs: ReservedJob[] }
  | { type: 'forget'; ids: string[] }
  | { type: 'watch'; watched: WatchedJob }
  | { type: 'unwatch'; id: string }
  | { type: 'stop'; deregister: boolean }
  /** Several of the above, in order: one message per turn of the event loop instead of four per job. */
  | { type: 'batch'; messages: ToMonitor[] };

/** Monitor → main thread. */
export type FromMonitor =
  | { type: 'ready'; controls: Controls }
  | { type: 'controls'; controls: Controls }
  | { type: 'swept'; jobs: number; workers: string[] }
  | { type: 'lease-lost' }
  | { type: 'error'; message: string; fatal: boolean }
  | { type: 'stopped' };
