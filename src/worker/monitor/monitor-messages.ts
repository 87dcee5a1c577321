import type { ResolvedConfig } from '../../config/config-types.js';
import type { Controls, WorkerRegistration } from '../../contracts/worker-queue.js';

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
  /**
   * The worker's lease, written by both threads: [0] the epoch ms until which the worker row
   * surely stands (when the last confirmed heartbeat was sent, plus the lapse), [1] how many times
   * the lease was found lost. Prefetched jobs start only while [0] lies ahead and [1] is the
   * count they were claimed under.
   */
  lease: SharedArrayBuffer;
  /** The jobs whose handlers run now (a RunningJobsTable), which the watchdog judges. */
  running: SharedArrayBuffer;
  /** The worker's `tries` and `backoff`, for jobs that set none: a timed-out attempt's fate depends on them. */
  jobDefaults: { tries: number; backoff: number };
}

/** Main thread → monitor. */
export type ToMonitor =
  /** Jobs just claimed by this worker: their ids, the attempt each claim counted, and the claim's number. */
  | { type: 'hold'; ids: string[]; attempts: number[]; claim: number }
  /** Jobs no longer held, each with the claim (the `claim` of its `hold`) it was held under. */
  | { type: 'forget'; ids: string[]; claims: number[] }
  | { type: 'stop'; deregister: boolean }
  /** Several of the above, in order: one message per turn of the event loop instead of one per job. */
  | { type: 'batch'; messages: ToMonitor[] };

/** Monitor → main thread. */
export type FromMonitor =
  | { type: 'ready' }
  | { type: 'controls'; controls: Controls }
  /** Dead workers swept: their jobs came back, `byQueue` per queue. */
  | { type: 'swept'; jobs: number; workers: string[]; byQueue: Record<string, number> }
  | { type: 'lease-lost' }
  | { type: 'error'; message: string; fatal: boolean }
  | { type: 'stopped' };
