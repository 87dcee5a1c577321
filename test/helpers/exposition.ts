// A strict reader of the Prometheus text format 0.0.4 (and the OpenMetrics text errand serves):
// every sample must belong to a family announced with HELP and TYPE before it, every line must
// parse, and a family is announced once. Tests read counts from it instead of trusting prom-client.

/** One sample line: its metric name (with `_bucket`, `_count` … suffixes), labels and value. */
export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

/** A family as HELP and TYPE announced it. */
export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: string;
}

/** A parsed exposition. */
export interface Exposition {
  readonly families: ReadonlyMap<string, Family>;
  readonly samples: readonly Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SUFFIXES: Record<string, readonly string[]> = {
  counter: ['', '_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['', '_sum', '_count', '_created'],
  untyped: [''],
  unknown: [''],
};

function parseLabels(text: string, line: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) throw new Error(`Unreadable labels in line: ${line}`);
    const key = text.slice(i, eq).trim();
    if (!NAME.test(key) || text[eq + 1] !== '"') throw new Error(`Unreadable label name in line: ${line}`);
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\\') {
        const next = text[++j];
        value += next === 'n' ? '\n' : next;
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`Unterminated label value in line: ${line}`);
    if (key in labels) throw new Error(`Label ${key} given twice in line: ${line}`);
    labels[key] = value;
    i = j + 1;
    if (text[i] === ',') i++;
    else if (i < text.length) throw new Error(`Unreadable labels in line: ${line}`);
  }
  return labels;
}

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (text === 'NaN') return Number.NaN;
  const n = Number(text);
  if (text === '' || Number.isNaN(n)) throw new Error(`Unreadable value in line: ${line}`);
  return n;
}

/** Parses an exposition, throwing on the first line that breaks the format. */
export function parseExposition(text: string): Exposition {
  const families = new Map<string, Family>();
  const helps = new Map<string, string>();
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line === '# EOF') continue;
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (!NAME.test(name)) throw new Error(`Bad family name: ${line}`);
      if (kind === 'HELP') {
        if (helps.has(name)) throw new Error(`HELP given twice for ${name}`);
        helps.set(name, rest);
      } else {
        if (families.has(name)) throw new Error(`TYPE given twice for ${name}`);
        if (!(rest in SUFFIXES)) throw new Error(`Unknown type in line: ${line}`);
        const help = helps.get(name);
        if (help === undefined) throw new Error(`TYPE before HELP (or no HELP) for ${name}`);
        families.set(name, { name, help, type: rest });
      }
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\S+))?$/.exec(line);
    if (!m) throw new Error(`Unreadable sample line: ${line}`);
    const [, name, labelText, value] = m as unknown as [string, string, string | undefined, string];
    const family = [...families.values()].find((f) =>
      (SUFFIXES[f.type] ?? ['']).some((suffix) => `${f.name}${suffix}` === name),
    );
    if (!family) throw new Error(`Sample of no announced family: ${line}`);
    samples.push({ name, labels: labelText ? parseLabels(labelText, line) : {}, value: parseValue(value, line) });
  }
  for (const name of helps.keys()) if (!families.has(name)) throw new Error(`HELP without TYPE for ${name}`);
  return { families, samples };
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when none matches. */
export function sampleValue(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const found = exposition.samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  if (found.length > 1) throw new Error(`${found.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}

/** The samples named `name`, as `label=value,…  value` lines sorted: exact comparisons in tests. */
export function sampleLines(exposition: Exposition, name: string, omit: readonly string[] = []): string[] {
  return exposition.samples
    .filter((s) => s.name === name)
    .map(
      (s) =>
        `${Object.entries(s.labels)
          .filter(([k]) => !omit.includes(k))
          .map(([k, v]) => `${k}=${v}`)
          .join(',')} ${s.value}`,
    )
    .sort();
}
