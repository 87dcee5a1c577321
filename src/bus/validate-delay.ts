import { PayloadError } from '../errors/payload-error.js';
import { MAX_SECONDS, numberProblem } from '../runtime/numeric-bounds.js';

/**
 * Throws a PayloadError naming `what` (the job, or the call) when a dispatch delay cannot be
 * stored: seconds outside 0…MAX_SECONDS, an invalid Date, or a Date further than MAX_SECONDS
 * ahead (its `available_at` would be past what errand writes; decision 0036).
 */
export function validateDelay(what: string, delay: number | Date | undefined, now = Date.now()): void {
  if (delay === undefined) return;
  if (delay instanceof Date) {
    const ms = delay.getTime();
    if (Number.isNaN(ms))
      throw new PayloadError(`${what}: delay must be seconds or a valid Date, got an invalid Date.`);
    if ((ms - now) / 1000 > MAX_SECONDS) {
      throw new PayloadError(
        `${what}: delay must be a Date at most ${MAX_SECONDS} seconds ahead, got ${delay.toISOString()}.`,
      );
    }
    return;
  }
  const problem = numberProblem(delay);
  if (problem) throw new PayloadError(`${what}: delay ${problem}.`);
}
