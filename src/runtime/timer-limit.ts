/**
 * The longest delay a Node timer holds (2^31 − 1 ms, about 24.8 days). A longer one fires at
 * once, with only a warning, so every wait that may be longer is checked or stepped against it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Calls `callback` after `ms` milliseconds, however long: a wait past MAX_TIMER_MS is taken in
 * steps on the monotonic clock instead of overflowing into an immediate call. Returns a
 * function that cancels. `unref`: the wait does not keep the process alive.
 */
export function longTimeout(callback: () => void, ms: number, options: { unref?: boolean } = {}): () => void {
  let timer: NodeJS.Timeout | undefined;
  const arm = (wait: number) => {
    timer = setTimeout(wait > MAX_TIMER_MS ? step : callback, Math.min(wait, MAX_TIMER_MS));
    if (options.unref) timer.unref();
  };
  // Only a wait past the limit is stepped: a shorter one is one plain timer, as before.
  const deadline = performance.now() + ms;
  const step = () => {
    const left = deadline - performance.now();
    if (left <= 0) callback();
    else arm(left);
  };
  arm(ms);
  return () => clearTimeout(timer);
}
