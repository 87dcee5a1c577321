/**
 * The commands closest to an unknown name, for "(Did you mean …?)". A name is compared whole and
 * by the part after its group's colon, so `work` finds `queue:work` and `failed` finds
 * `queue:failed`: people type the short name they remember. Ties are all kept, closest first; a
 * candidate more than three edits away, or sharing less than 40 % of its letters, is no
 * suggestion (commander's own limits for its suggestions).
 */
export function suggestCommands(typed: string, names: readonly string[]): string[] {
  let best = MAX_DISTANCE + 1;
  let found: string[] = [];
  for (const name of new Set(names)) {
    if (name.length <= 1) continue;
    const colon = name.indexOf(':');
    const forms = colon > 0 ? [name, name.slice(colon + 1)] : [name];
    const distance = Math.min(...forms.map((form) => closeness(typed, form)));
    if (distance > MAX_DISTANCE) continue;
    if (distance < best) {
      best = distance;
      found = [name];
    } else if (distance === best) {
      found.push(name);
    }
  }
  return found.sort();
}

/** The commander wording: `\n(Did you mean x?)`, `\n(Did you mean one of x, y?)`, or '' for none. */
export function suggestionText(suggestions: readonly string[]): string {
  if (suggestions.length === 0) return '';
  if (suggestions.length === 1) return `\n(Did you mean ${suggestions[0]}?)`;
  return `\n(Did you mean one of ${suggestions.join(', ')}?)`;
}

const MAX_DISTANCE = 3;
const MIN_SIMILARITY = 0.4;

/** The edit distance from `a` to `b`, or past the limit when they are too far apart to suggest. */
function closeness(a: string, b: string): number {
  const distance = editDistance(a, b);
  const length = Math.max(a.length, b.length);
  return (length - distance) / length > MIN_SIMILARITY ? distance : MAX_DISTANCE + 1;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > MAX_DISTANCE) return Math.max(a.length, b.length);
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, d[i - 2][j - 2] + 1);
      d[i][j] = value;
    }
  }
  return d[a.length][b.length];
}
