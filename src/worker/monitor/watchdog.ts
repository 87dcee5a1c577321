import type { WatchedJob } from './monitor-messages.js';

/** Why the watchdog ends the process, with the jobs to blame. */
export interface Verdict {
  overdue: WatchedJob[];
  reason: string;
}

/**
 * Decides whether the main thread is wedged: its loop has not turned for a second and either a job
 * is past its deadline by the grace (the main thread's own timer could not fire), or, with no
 * deadline to wait for, the loop has been blocked longer than the heartbeat lapse (past that,
 * keeping its leases alive would hold the jobs forever).
 */
export function judge(now: number, lastBeat: number, watched: Iterable<WatchedJob>, graceMs: number, lapseMs: number): Verdict | undefined {
  const blockedMs = now - lastBeat;
  if (blockedMs < 1000) return undefined;
  const all = [...watched];
  const overdue = all.filter((w) => now > w.deadline + graceMs);
  if (overdue.length > 0) {
    const first = overdue[0]!;
    const late = ((now - first.deadline) / 1000).toFixed(1);
    return { overdue, reason: `${first.displayName} #${first.job.id} is ${late} s past its timeout and the event loop has been blocked for ${(blockedMs / 1000).toFixed(1)} s` };
  }
  const waitingForDeadline = all.some((w) => Number.isFinite(w.deadline));
  if (!waitingForDeadline && blockedMs > lapseMs) {
    // Nothing says which job is at fault, so every running one is charged its attempt.
    return { overdue: all, reason: `the event loop has been blocked for ${(blockedMs / 1000).toFixed(1)} s with no job deadline to wait for` };
  }
  return undefined;
}
