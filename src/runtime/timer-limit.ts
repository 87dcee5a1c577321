/**
 * The longest delay a Node timer holds (2^31 − 1 ms, about 24.8 days). A longer one fires at
 * once, with only a warning, so every wait that may be longer is checked or stepped against it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;
