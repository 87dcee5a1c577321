import { editDistance } from '../runtime/edit-distance.js';

/**
 * The candidate a mistyped `name` most likely meant, or undefined when none is close: the same
 * name but for case, `_` or `-` (`retry_after` → `retryAfter`), one within a few edits
 * (`clinet` → `client`, `conections` → `connections`), or one that starts with it (`conn` →
 * `connection`). Ties go to the earlier candidate.
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const wanted = normalize(name);
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const other = normalize(candidate);
    const distance = editDistance(wanted, other);
    // A third of the longer name, at least 2: close enough to be a slip, far enough from a different word.
    const close = distance <= Math.max(2, Math.floor(Math.max(wanted.length, other.length) / 3));
    const prefix = wanted.length >= 4 && other.startsWith(wanted);
    if ((close || prefix) && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}
