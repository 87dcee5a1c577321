import { longTimeout, MAX_TIMER_MS } from '../runtime/timer-limit.js';

/**
 * The worker loop's one place to wait: `sleep()` ends at its timer or at the first `wake()`
 * (a job finished, a job was pushed, a signal arrived). A wake with nobody asleep is kept, so a
 * wake-up that races the loop is never lost.
 */
export class Sleeper {
  private pending: { cancel: (() => void) | undefined; resolve: () => void } | undefined;
  private woken = false;

  /** Waits up to `seconds` (undefined: until woken). */
  sleep(seconds?: number): Promise<void> {
    if (this.woken) {
      this.woken = false;
      return nextTurn();
    }
    if (seconds !== undefined && seconds <= 0) return nextTurn();
    this.finish();
    return new Promise((resolve) => {
      // Stepped: a --sleep past Node's timer limit would otherwise end at once, in a busy loop.
      const cancel = seconds === undefined ? undefined : longTimeout(() => this.finish(), seconds * 1000);
      this.pending = { cancel, resolve };
    });
  }

  /**
   * Wakes the sleeper at `at` (epoch milliseconds); returns a function that cancels. Looks
   * again whenever its timer fires: a timer may fire a little early by Date.now() (its clock is
   * monotonic, and the wall clock may be stepped), and a Node timer holds at most MAX_TIMER_MS.
   */
  wakeAt(at: number): () => void {
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      const left = at - Date.now();
      if (left <= 0) return this.wake();
      timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS)).unref();
    };
    arm();
    return () => clearTimeout(timer);
  }

  wake(): void {
    if (this.pending) this.finish();
    else this.woken = true;
  }

  private finish(): void {
    const pending = this.pending;
    this.pending = undefined;
    if (!pending) return;
    pending.cancel?.();
    setImmediate(pending.resolve);
  }
}

/**
 * Resolves on the event loop's next turn, never as a bare microtask: with a synchronous driver
 * (better-sqlite3) every query resolves at once, and a busy loop that only chained promises
 * would starve timers, signal handlers and the monitor thread's messages (the watchdog would
 * then see a blocked loop and end the process).
 */
function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
