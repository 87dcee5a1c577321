import type { WorkerOptions } from './worker-options.js';

/** Why a worker stopped (Laravel's WorkerStopReason values). */
export type WorkerStopReason = 'interrupted' | 'memory' | 'once' | 'empty' | 'max_time' | 'max_jobs';

/** The process status a stop reason exits with: 12 for memory, as Laravel; 0 otherwise. */
export const EXIT_MEMORY_LIMIT = 12;

/** What the loop knows after an iteration. */
export interface LoopState {
  stopRequested: boolean;
  jobsProcessed: number;
  lastIterationHadJob: boolean;
  startedAt: number;
  now: number;
  memoryMb: number;
}

/** Decides, in Laravel's order, whether the worker should stop after this iteration. */
export function stopReason(options: WorkerOptions, state: LoopState): WorkerStopReason | undefined {
  if (state.stopRequested) return 'interrupted';
  if (options.memory > 0 && state.memoryMb >= options.memory) return 'memory';
  if (options.once) return 'once';
  if (options.stopWhenEmpty && !state.lastIterationHadJob) return 'empty';
  if (options.maxTime > 0 && state.now - state.startedAt >= options.maxTime * 1000) return 'max_time';
  if (options.maxJobs > 0 && state.jobsProcessed >= options.maxJobs) return 'max_jobs';
  return undefined;
}

/** The exit status for a stop reason. */
export function stopStatus(reason: WorkerStopReason): number {
  return reason === 'memory' ? EXIT_MEMORY_LIMIT : 0;
}
