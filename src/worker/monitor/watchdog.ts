/** A job whose handler is running, as the watchdog sees it in the shared running-jobs table. */
export interface RunningJob {
  id: string;
  /** Epoch milliseconds at which the attempt times out; Infinity without a timeout. */
  deadline: number;
}

/** Why the watchdog ends the process, with the jobs to blame. */
export interface Verdict {
  overdue: RunningJob[];
  /** The reason in words; `nameOf` gives a job's display name once its row has been read. */
  describe(nameOf: (id: string) => string): string;
}

/**
 * Decides whether the main thread is wedged: its loop has not turned for a second and either a job
 * is past its deadline by the grace (the main thread's own timer could not fire), or, with no
 * deadline to wait for, the loop has been blocked longer than the heartbeat lapse (past that,
 * keeping its leases alive would hold the jobs forever).
 */
export function judge(
  now: number,
  lastBeat: number,
  running: readonly RunningJob[],
  graceMs: number,
  lapseMs: number,
): Verdict | undefined {
  const blockedMs = now - lastBeat;
  if (blockedMs < 1000) return undefined;
  const blocked = (blockedMs / 1000).toFixed(1);
  const overdue = running.filter((job) => now > job.deadline + graceMs);
  if (overdue.length > 0) {
    const first = overdue[0]!;
    const late = ((now - first.deadline) / 1000).toFixed(1);
    return {
      overdue,
      describe: (nameOf) =>
        `${nameOf(first.id)} #${first.id} is ${late} s past its timeout and the event loop has been blocked for ${blocked} s`,
    };
  }
  const waitingForDeadline = running.some((job) => Number.isFinite(job.deadline));
  if (!waitingForDeadline && blockedMs > lapseMs) {
    // Nothing says which job is at fault, so every running one is charged its attempt.
    return {
      overdue: [...running],
      describe: () => `the event loop has been blocked for ${blocked} s with no job deadline to wait for`,
    };
  }
  return undefined;
}

/**
 * The longest the watchdog waits after SIGALRM before SIGKILL, for an application that catches
 * SIGALRM and so would keep a wedged process alive. It sends SIGKILL sooner when the jobs it
 * handed back are about to fall due (killDeadline).
 */
export const KILL_FALLBACK_MS = 2000;

/** What the watchdog keeps in hand, before a handed-back job falls due, for the kill itself. */
const KILL_MARGIN_MS = 250;

/**
 * The delay, in whole seconds, with which the watchdog hands its jobs back (a blamed job released
 * after its `backoff`, the bystanders unclaimed). Rows keep time in whole seconds and a row is
 * due once the database's second reaches it, so a delay of n seconds frees a row more than
 * n - 1 seconds after its write, however late in its second the write lands.
 */
export function handBackDelaySeconds(backoff = 0): number {
  return Math.max(Math.ceil(backoff), Math.ceil(KILL_FALLBACK_MS / 1000) + 1);
}

/**
 * When the process must be gone, given the moment the watchdog began handing jobs back: every
 * row handed back was written after it, so none falls due before this. The writes that are
 * still out by then are abandoned (their jobs come back when the worker's heartbeat lapses, or
 * their reservations expire without heartbeats) and SIGKILL goes out no later, so no other
 * worker can start a job the wedged process may still be running. `handBackStartedAt` and the
 * result are on one clock, the monotonic one in the watchdog.
 */
export function killDeadline(handBackStartedAt: number): number {
  return handBackStartedAt + (handBackDelaySeconds() - 1) * 1000 - KILL_MARGIN_MS;
}
