/**
 * Seconds to wait before the next attempt: `backoff[attempts - 1]`, the last entry once past the
 * end, or the worker's `--backoff` when the job sets none (Laravel's rule).
 */
export function calculateBackoff(backoff: string | null | undefined, attempts: number, fallback: number): number {
  if (!backoff) return fallback;
  const steps = backoff.split(',').map(Number);
  const index = Math.min(Math.max(attempts - 1, 0), steps.length - 1);
  const seconds = steps[index]!;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds : fallback;
}
