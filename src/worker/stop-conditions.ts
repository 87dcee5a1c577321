import type { WorkerOptions } from './worker-options.js';

/** Why a worker stopped (Laravel's WorkerStopReason values). */
export type WorkerStopReason =
  | 'interrupted'
  | 'memory'
  | 'once'
  | 'empty'
  | 'empty_for'
  | 'max_time'
  | 'max_jobs'
  | 'restart_signal'
  | 'lost_connection';

/** The process status a stop reason exits with: 12 for memory, as Laravel; 0 otherwise. */
export const EXIT_MEMORY_LIMIT = 12;

/**
 * The status a process ends with when the watchdog kills it for a job that blocked the event
 * loop past its timeout: 128 + SIGALRM (14), as a shell reports it.
 */
export const EXIT_WATCHDOG = 142;

/** What the loop knows when it checks. */
export interface LoopState {
  stopRequested: boolean;
  restartRequested: boolean;
  jobsProcessed: number;
  /** A claim found nothing and nothing is running or buffered. */
  drained: boolean;
  /** Milliseconds since a job was last claimed (or since start). */
  idleMs: number;
  startedAt: number;
  now: number;
  memoryMb: number;
}

/** Decides, in Laravel's order, whether the worker should stop. */
export function stopReason(options: WorkerOptions, state: LoopState): WorkerStopReason | undefined {
  if (state.stopRequested) return 'interrupted';
  if (options.memory > 0 && state.memoryMb >= options.memory) return 'memory';
  if (state.restartRequested) return 'restart_signal';
  if (options.once && (state.jobsProcessed > 0 || state.drained)) return 'once';
  if (options.stopWhenEmpty && state.drained) return 'empty';
  if (options.stopWhenEmptyFor > 0 && state.drained && state.idleMs >= options.stopWhenEmptyFor * 1000)
    return 'empty_for';
  if (options.maxTime > 0 && state.now - state.startedAt >= options.maxTime * 1000) return 'max_time';
  if (options.maxJobs > 0 && state.jobsProcessed >= options.maxJobs) return 'max_jobs';
  return undefined;
}

/** The exit status for a stop reason. */
export function stopStatus(reason: WorkerStopReason): number {
  return reason === 'memory' ? EXIT_MEMORY_LIMIT : 0;
}
