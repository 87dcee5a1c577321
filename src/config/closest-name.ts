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

/** Edits (insert, delete, substitute, swap two neighbours) turning `a` into `b`. */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, rows[i - 2]![j - 2]! + 1);
      rows[i]![j] = value;
    }
  }
  return rows[a.length]![b.length]!;
}
