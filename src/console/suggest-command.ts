import { editDistance } from '../runtime/edit-distance.js';

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
