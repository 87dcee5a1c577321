/** One sample line of the Prometheus text format 0.0.4. */
export interface ExpositionSample {
  /** The sample's own name (`…_bucket`, `…_sum`, `…_count` for a histogram's). */
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A family: its HELP and TYPE lines (undefined when missing) and its samples. */
export interface ExpositionFamily {
  help?: string;
  type?: string;
  samples: ExpositionSample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+(-?\d+))?$/;
const LABEL = /^\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/;
const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['_sum', '_count'] };

/**
 * Parses the text format 0.0.4 strictly: HELP and TYPE lines, samples with escaped label values
 * and optional timestamps. A sample belongs to the family its name (less a histogram's or
 * summary's suffix) declares; a sample of no declared family becomes a family without HELP and
 * TYPE, for the caller to refuse. Throws naming the line on anything else, on a TYPE after its
 * family's samples, and on a repeated series.
 */
export function parseExposition(text: string): Map<string, ExpositionFamily> {
  const families = new Map<string, ExpositionFamily>();
  const family = (name: string) => {
    let found = families.get(name);
    if (!found) families.set(name, (found = { samples: [] }));
    return found;
  };
  const seen = new Set<string>();
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1} (${JSON.stringify(line)})`;
    if (line.trim() === '') return;
    const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s(.*))?$/.exec(line);
    if (meta) {
      const [, keyword, name, rest = ''] = meta;
      const target = family(name!);
      if (keyword === 'HELP') {
        if (target.help !== undefined) throw new Error(`A second HELP for ${name} at ${where}.`);
        target.help = rest;
      } else {
        if (target.type !== undefined) throw new Error(`A second TYPE for ${name} at ${where}.`);
        if (target.samples.length > 0) throw new Error(`TYPE of ${name} after its samples at ${where}.`);
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`Unknown TYPE at ${where}.`);
        target.type = rest;
      }
      return;
    }
    if (line.startsWith('#')) return;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`Not a sample at ${where}.`);
    const [, name, labelText = '', valueText] = match;
    const labels = parseLabels(labelText, where);
    const value = parseValue(valueText!, where);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seen.has(key)) throw new Error(`A repeated series at ${where}.`);
    seen.add(key);
    family(familyOf(name!, families)).samples.push({ name: name!, labels, value });
  });
  return families;
}

function familyOf(sample: string, families: Map<string, ExpositionFamily>): string {
  if (families.has(sample)) return sample;
  for (const [name, declared] of families) {
    const suffixes = SUFFIXES[declared.type ?? ''] ?? [];
    if (suffixes.some((suffix) => sample === `${name}${suffix}`)) return name;
  }
  return sample;
}

function parseLabels(text: string, where: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.trim() !== '') {
    const match = LABEL.exec(rest);
    if (!match) throw new Error(`Bad labels at ${where}.`);
    const [whole, name, escaped] = match;
    if (name! in labels) throw new Error(`Label ${name} twice at ${where}.`);
    labels[name!] = escaped!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(whole.length);
  }
  return labels;
}

function parseValue(text: string, where: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const value = Number(text);
  if (text === '' || Number.isNaN(value)) throw new Error(`Bad value at ${where}.`);
  return value;
}
