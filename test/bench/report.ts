import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { type Measurement, round } from './measurement.js';

/** The median of each measured configuration, and the text table of them. */
export interface Summary {
  rows: SummaryRow[];
  table: string;
}

/** One configuration (system, preset, engine, scenario, concurrency, processes) with its runs. */
export interface SummaryRow {
  system: string;
  preset?: string;
  engine: string;
  scenario: string;
  concurrency?: number;
  processes?: number;
  unit: string;
  median: number;
  runs: number[];
  sample: Measurement;
}

/** What the report says about the run itself. */
export interface RunInfo {
  quick: boolean;
  repeat: number;
  seconds: number;
  skipped: string[];
  versions?: Record<string, string>;
  /** How many bench runs the figures come from (`--from a,b`); one when absent. */
  runs?: number;
  /** Each run's day and engines, when there are several. */
  sources?: string[];
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

const label = (row: { system: string; preset?: string }) => (row.preset ? `${row.system} (${row.preset})` : row.system);

/** Groups the measurements by configuration and takes each group's median. */
export function summarize(results: readonly Measurement[]): Summary {
  const groups = new Map<string, Measurement[]>();
  for (const m of results) {
    const key = [m.system, m.preset ?? '', m.engine, m.scenario, m.concurrency ?? '', m.processes ?? ''].join('|');
    groups.set(key, [...(groups.get(key) ?? []), m]);
  }
  const rows = [...groups.values()].map((runs) => {
    const first = runs[0]!;
    return {
      system: first.system,
      preset: first.preset,
      engine: first.engine,
      scenario: first.scenario,
      concurrency: first.concurrency,
      processes: first.processes,
      unit: first.unit,
      median: round(median(runs.map((m) => m.value)), 2),
      runs: runs.map((m) => m.value),
      sample: first,
    };
  });
  const header = ['engine', 'scenario', 'c', 'procs', 'system', 'median', 'unit', 'runs'];
  const cells = rows.map((r) => [
    r.engine,
    r.scenario,
    String(r.concurrency ?? ''),
    String(r.processes ?? ''),
    label(r),
    String(r.median),
    r.unit,
    r.runs.join(' '),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return { rows, table: [line(header), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') };
}

/** One telemetry mode's cost at one engine and concurrency, against `off` measured beside it. */
export interface TelemetryCost {
  engine: string;
  concurrency: number;
  /** `on` (metrics and tracing), `metrics` or `tracing` alone, `sampled` (both, 1% of traces), `sdk` (the SDK without errand's spans). */
  mode: string;
  /** Median drain rate, jobs/s, of this mode and of `off`. */
  jobsPerSecond: number;
  offJobsPerSecond: number;
  /** jobsPerSecond / offJobsPerSecond: the goal is ≥ 0.95 for `on`. */
  ratio: number;
  /** The median of each round's own ratio (the two runs measured next to each other). */
  pairedRatio: number;
  /** Median worker CPU per job (user + system, µs), this mode and `off`. */
  cpuUsPerJob: number;
  offCpuUsPerJob: number;
  /** cpuUsPerJob / offCpuUsPerJob: what the mode adds to each job's CPU, which load does not inflate. */
  cpuRatio: number;
  rounds: number;
}

/** The telemetry phase's figures: each mode against `off` of the same engine and concurrency. */
export function telemetryCosts(results: readonly Measurement[]): TelemetryCost[] {
  const runs = results.filter((m) => m.scenario === 'drain' && m.preset?.startsWith('telemetry '));
  const of = (engine: string, concurrency: number, mode: string) =>
    runs.filter((m) => m.engine === engine && m.concurrency === concurrency && m.preset === `telemetry ${mode}`);
  const costs: TelemetryCost[] = [];
  const seen = new Set<string>();
  for (const m of runs) {
    const mode = m.preset!.slice('telemetry '.length);
    const key = `${m.engine}|${m.concurrency}|${mode}`;
    if (mode === 'off' || seen.has(key)) continue;
    seen.add(key);
    const concurrency = m.concurrency ?? 1;
    const mine = of(m.engine, concurrency, mode);
    const off = of(m.engine, concurrency, 'off');
    if (off.length === 0) continue;
    const cpu = (list: Measurement[]) => median(list.map((r) => Number(r.cpuUsPerJob)));
    const paired = mine.flatMap((r) => {
      const beside = off.find((o) => o.round === r.round && o.run === r.run);
      return beside ? [r.value / beside.value] : [];
    });
    const jobsPerSecond = median(mine.map((r) => r.value));
    const offJobsPerSecond = median(off.map((r) => r.value));
    costs.push({
      engine: m.engine,
      concurrency,
      mode,
      jobsPerSecond: round(jobsPerSecond),
      offJobsPerSecond: round(offJobsPerSecond),
      ratio: round(jobsPerSecond / offJobsPerSecond, 3),
      pairedRatio: round(paired.length ? median(paired) : Number.NaN, 3),
      cpuUsPerJob: round(cpu(mine), 1),
      offCpuUsPerJob: round(cpu(off), 1),
      cpuRatio: round(cpu(mine) / cpu(off), 3),
      rounds: Math.min(mine.length, off.length),
    });
  }
  return costs;
}

const TELEMETRY_HEADER = [
  'engine',
  'c',
  'mode',
  'jobs/s',
  'off jobs/s',
  'on/off',
  'paired on/off',
  'CPU µs/job',
  'off CPU µs/job',
  'CPU on/off',
  'rounds',
];

const telemetryCells = (c: TelemetryCost) => [
  c.engine,
  String(c.concurrency),
  c.mode,
  String(c.jobsPerSecond),
  String(c.offJobsPerSecond),
  c.ratio.toFixed(3),
  c.pairedRatio.toFixed(3),
  String(c.cpuUsPerJob),
  String(c.offCpuUsPerJob),
  c.cpuRatio.toFixed(3),
  String(c.rounds),
];

/** The telemetry figures as a text table, for the console. */
export function telemetryTable(costs: readonly TelemetryCost[]): string {
  const cells = costs.map(telemetryCells);
  const widths = TELEMETRY_HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) =>
    c
      .map((cell, i) => cell.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(TELEMETRY_HEADER), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/** The telemetry section of the report. */
function telemetrySection(costs: readonly TelemetryCost[]): string[] {
  if (costs.length === 0) return [];
  return [
    '## Metrics and tracing: the cost to the worker',
    '',
    "The drain (20,000 jobs, one worker process) with nothing registered (`off`) and with errand's",
    'Prometheus metrics registered in the worker plus an OpenTelemetry SDK sampling every trace',
    'into a batch span processor whose exporter drops the spans (`on`); at c=10 also each alone, and',
    'both with a parent-based 1% ratio sampler instead of every trace (`sampled`, the usual production',
    "setting; the goal is judged on `on` and `sampled` side by side), and the SDK registered with errand's",
    "tracing off (`sdk`: what the SDK costs the process without errand's spans).",
    'The jobs are dispatched inside a span, so each carries a traceContext; each run checks',
    'afterwards that every job was counted (`errand_jobs_processed_total`) and had a consumer span',
    "carrying its producer's context. In each round the modes run one after the other, the order",
    'reversed every other round. `on/off` is the ratio of the medians (the goal: ≥ 0.95), `paired`',
    "the median of each round's own ratio; CPU is the worker process's user + system time per job,",
    'which waiting on a loaded machine does not inflate.',
    '',
    `| ${TELEMETRY_HEADER.join(' | ')} |`,
    `| ${TELEMETRY_HEADER.map(() => '---').join(' | ')} |`,
    ...costs.map((c) => `| ${telemetryCells(c).join(' | ')} |`),
    '',
  ];
}

/** Looks a configuration's median up; undefined when it was not measured. */
function find(rows: readonly SummaryRow[], q: Partial<SummaryRow>): SummaryRow | undefined {
  return rows.find((r) => (Object.keys(q) as Array<keyof SummaryRow>).every((k) => r[k] === q[k]));
}

interface Goal {
  goal: string;
  figure: string;
  met: boolean | undefined;
}

function ratioGoal(goal: string, ours: SummaryRow | undefined, theirs: SummaryRow | undefined, atLeast: number): Goal {
  if (!ours || !theirs) return { goal, figure: 'not measured', met: undefined };
  const ratio = ours.median / theirs.median;
  const apart = ours.sample.run !== theirs.sample.run ? ' (from different runs)' : '';
  return {
    goal,
    figure: `${ours.median} vs ${theirs.median} ${ours.unit}: ${ratio.toFixed(2)}×${apart}`,
    // Two runs on a shared machine may have had very different loads: no verdict across them.
    met: apart ? undefined : ratio >= atLeast,
  };
}

function limitGoal(goal: string, row: SummaryRow | undefined, atMost: number): Goal {
  if (!row) return { goal, figure: 'not measured', met: undefined };
  return { goal, figure: `${row.median} ${row.unit}`, met: row.median <= atMost };
}

/** The issue's goals, each with its figure from this run. */
export function goals(rows: readonly SummaryRow[]): Goal[] {
  const drain = (system: string, engine: string, preset?: string) =>
    find(rows, { system, engine, scenario: 'drain', concurrency: 10, processes: 1, ...(preset ? { preset } : {}) });
  const list: Goal[] = [
    ratioGoal(
      'PostgreSQL drain c=10 ≥ graphile-worker at its best settings',
      drain('errand', 'postgres'),
      drain('graphile-worker', 'postgres', 'fast'),
      1,
    ),
    ratioGoal(
      '(stretch) PostgreSQL drain c=10 ≥ 1.5× graphile-worker (fast)',
      drain('errand', 'postgres'),
      drain('graphile-worker', 'postgres', 'fast'),
      1.5,
    ),
    ratioGoal(
      'PostgreSQL drain c=10 ≥ 5× pg-boss',
      drain('errand', 'postgres'),
      drain('pg-boss', 'postgres', 'fast'),
      5,
    ),
    ratioGoal(
      'MariaDB drain c=10 ≥ 10× @boringnode/queue',
      drain('errand', 'mysql'),
      drain('@boringnode/queue', 'mysql', 'fast'),
      10,
    ),
    ratioGoal(
      'MariaDB drain c=10 ≥ 1.5× the naive raw-SQL loop',
      drain('errand', 'mysql'),
      drain('raw-sql', 'mysql'),
      1.5,
    ),
    ratioGoal(
      '(stretch) MariaDB drain c=10 ≥ BullMQ on Redis',
      drain('errand', 'mysql'),
      drain('bullmq', 'redis', 'default'),
      1,
    ),
    ratioGoal('SQLite drain c=10 ≥ the naive raw-SQL loop', drain('errand', 'sqlite'), drain('raw-sql', 'sqlite'), 1),
  ];
  for (const engine of ['sqlite', 'mysql', 'postgres']) {
    const e = (system: string, scenario: string) => find(rows, { system, engine, scenario });
    list.push(
      ratioGoal(
        `${engine}: enqueue one at a time ≥ 80% of a raw INSERT`,
        e('errand', 'enqueue-one'),
        e('raw-sql', 'enqueue-one'),
        0.8,
      ),
    );
    list.push(
      ratioGoal(
        `${engine}: bulk enqueue ≥ 50% of a raw multi-row INSERT`,
        e('errand', 'enqueue-bulk'),
        e('raw-sql', 'enqueue-bulk'),
        0.5,
      ),
    );
    list.push(
      limitGoal(
        `${engine}: latency p50 ≤ ${engine === 'postgres' ? 3 : 15} ms, idle worker in another process`,
        e('errand', 'latency'),
        engine === 'postgres' ? 3 : 15,
      ),
    );
    list.push(
      limitGoal(
        `${engine}: latency p50 ≤ ${engine === 'postgres' ? 3 : 15} ms, idle worker in the dispatching process`,
        e('errand', 'latency-in-process'),
        engine === 'postgres' ? 3 : 15,
      ),
    );
    list.push(limitGoal(`${engine}: idle worker < 2% of one core`, e('errand', 'idle-cpu'), 2));
  }
  for (const engine of ['sqlite', 'mysql', 'postgres', 'redis']) {
    const paired = (system: string) =>
      find(rows, { system, engine, scenario: 'drain', concurrency: 10, processes: 1, preset: 'rollup pair' });
    if (paired('errand (rollup off)'))
      list.push(
        ratioGoal(
          `${engine}: drain c=10 with the metrics rollup on ≥ 95% of it off`,
          paired('errand'),
          paired('errand (rollup off)'),
          0.95,
        ),
      );
  }
  list.push(...telemetryGoals(rows));
  list.push(...redisGoals(rows));
  list.push(...dashboardGoals(rows));
  for (const memory of rows.filter((r) => r.system === 'errand' && r.scenario === 'memory'))
    list.push(
      limitGoal(
        `${memory.engine}: worker RSS after ${(memory.sample.jobs ?? 0).toLocaleString('en-US')} jobs within 10% of after 10,000`,
        memory,
        10,
      ),
    );
  return list;
}

/**
 * Issue 24's goal per engine and concurrency measured: the drain with metrics and tracing on ≥ 95%
 * of off, judged on both samplers side by side: every trace recorded (`on`, the issue's wording)
 * and a parent-based 1% ratio (`sampled`, the usual production setting).
 */
function telemetryGoals(rows: readonly SummaryRow[]): Goal[] {
  const measured = rows.filter(
    (r) => r.scenario === 'drain' && (r.preset === 'telemetry on' || r.preset === 'telemetry sampled'),
  );
  return measured.map((row) =>
    ratioGoal(
      `${row.engine}: drain c=${row.concurrency} with metrics and tracing ${row.preset === 'telemetry on' ? 'on (every trace)' : 'on (1% of traces sampled)'} ≥ 95% of off`,
      row,
      find(rows, { engine: row.engine, scenario: 'drain', concurrency: row.concurrency, preset: 'telemetry off' }),
      0.95,
    ),
  );
}

/** The redis driver's goals, each against BullMQ on the same server in the same run. */
function redisGoals(rows: readonly SummaryRow[]): Goal[] {
  if (!rows.some((r) => r.engine === 'redis' && r.system === 'errand')) return [];
  const row = (system: string, scenario: string, concurrency?: number) =>
    find(rows, { system, engine: 'redis', scenario, ...(concurrency ? { concurrency, processes: 1 } : {}) });
  const latency = row('errand', 'latency');
  const bullLatency = row('bullmq', 'latency');
  const bytes = row('errand', 'bytes-per-job');
  const bullBytes = row('bullmq', 'bytes-per-job');
  return [
    ratioGoal('redis: drain c=10 ≥ 1.2× BullMQ', row('errand', 'drain', 10), row('bullmq', 'drain', 10), 1.2),
    ratioGoal('redis: drain c=1 ≥ BullMQ', row('errand', 'drain', 1), row('bullmq', 'drain', 1), 1),
    ratioGoal(
      'redis: bulk dispatch ≥ BullMQ `addBulk`',
      row('errand', 'enqueue-bulk'),
      row('bullmq', 'enqueue-bulk'),
      1,
    ),
    ratioGoal('redis: one-by-one dispatch ≥ BullMQ `add`', row('errand', 'enqueue-one'), row('bullmq', 'enqueue'), 1),
    {
      ...limitGoal('redis: latency p50 ≤ 1 ms, idle worker in another process', latency, 1),
      ...(latency && bullLatency ? { figure: `${latency.median} ms p50 (BullMQ ${bullLatency.median} ms p50)` } : {}),
    },
    limitGoal('redis: idle worker < 2% of one core', row('errand', 'idle-cpu'), 2),
    {
      goal: 'redis: memory per waiting job (reported; no goal)',
      figure: bytes
        ? `${bytes.median} bytes/job${bullBytes ? ` (BullMQ ${bullBytes.median} bytes/job)` : ''}`
        : 'not measured',
      met: undefined,
    },
  ];
}

/**
 * The dashboard API's rows of one engine, by default with the count cache on (the default
 * settings, what the goals are checked against).
 */
const dashboardRows = (rows: readonly SummaryRow[], engine: string, preset = 'cached 5 s') =>
  rows.filter((r) => r.engine === engine && r.scenario.startsWith('dashboard ') && r.preset === preset);

/** The issue's dashboard goals per engine measured: the overview's p95, and the slowest endpoint's. */
function dashboardGoals(rows: readonly SummaryRow[]): Goal[] {
  const list: Goal[] = [];
  for (const engine of ENGINE_ORDER) {
    const measured = dashboardRows(rows, engine);
    if (measured.length === 0) continue;
    const overview = measured.find((r) => r.scenario === 'dashboard api/overview');
    // The issue bounds the overview on PostgreSQL and MariaDB at 150 ms, on SQLite at 300 ms; it
    // names no overview bound for Redis, which is held to the every-endpoint one.
    const bound = engine === 'postgres' || engine === 'mysql' ? 150 : 300;
    list.push(limitGoal(`${engine}: dashboard overview p95 < ${bound} ms (1M finished, 100k failed)`, overview, bound));
    const worst = measured.reduce((a, b) => (b.median > a.median ? b : a));
    list.push({
      goal: `${engine}: every dashboard API endpoint p95 < 300 ms (${measured.length} measured)`,
      figure: `slowest ${worst.median} ms p95 (${worst.scenario.slice('dashboard '.length)})`,
      met: worst.median < 300,
    });
  }
  return list;
}

const ENGINE_ORDER = ['sqlite', 'mysql', 'postgres', 'redis'];

/** The dashboard section of the report: every endpoint's p95 per engine, uncached and cached. */
function dashboardSection(rows: readonly SummaryRow[]): string[] {
  const engines = ENGINE_ORDER.filter((e) => dashboardRows(rows, e).length > 0);
  if (engines.length === 0) return [];
  const endpoints = [
    ...new Set(rows.filter((r) => r.scenario.startsWith('dashboard ')).map((r) => r.scenario.slice(10))),
  ];
  const cell = (engine: string, endpoint: string) => {
    const figure = (preset: string) =>
      dashboardRows(rows, engine, preset).find((r) => r.scenario === `dashboard ${endpoint}`)?.median;
    const [uncached, cached] = [figure('uncached'), figure('cached 5 s')];
    return uncached === undefined ? '–' : `${uncached} / ${cached ?? '–'}`;
  };
  const seeds = rows.filter((r) => r.scenario === 'dashboard-seed');
  return [
    '## The dashboard at scale',
    '',
    'Each engine seeded with the rollup of 1,000,000 finished jobs over 7 days (one row per minute,',
    'queue and job name), 100,000 failed records over 7 days, 100,000 pending, 10,000 delayed and 100',
    'reserved jobs over four queues and three job names (80% / 19% / 1% of the rows), 1,000 batches and',
    '10 workers (2 lost); PostgreSQL and MariaDB then analyzed (PostgreSQL vacuumed too, as autovacuum',
    'would). Then every GET of the API over HTTP (node:http, mounted under /admin/jobs), each',
    "endpoint's requests in a row after one untimed one: p95 in ms with the count cache off",
    '(`countCacheSeconds: 0`, every request counts) / with the default cache (counts served',
    'stale-while-revalidate, refreshed in the background every 5 s: the figure the goals use; a',
    "cold cache's first request waits for its counts, reported as firstMs in the results). 'rare' filters match 1% of the rows (a name) or 0.1% (exception text), so a listing walks",
    'far to fill its page; `cursor=` is the second page.',
    '',
    `Seeding took ${seeds.map((r) => `${r.median} s on ${r.engine}`).join(', ')}.`,
    '',
    `| endpoint | ${engines.join(' | ')} |`,
    `| --- | ${engines.map(() => '---').join(' | ')} |`,
    ...endpoints.map((endpoint) => `| ${endpoint} | ${engines.map((e) => cell(e, endpoint)).join(' | ')} |`),
    '',
  ];
}

/** A horizontal bar chart of drain rates at concurrency 10, as SVG. */
export function drainChart(rows: readonly SummaryRow[]): string {
  const bars = rows
    // The telemetry phase's runs have their own table.
    .filter(
      (r) =>
        r.scenario === 'drain' &&
        r.concurrency === 10 &&
        (r.processes ?? 1) === 1 &&
        !r.preset?.startsWith('telemetry '),
    )
    .sort((a, b) => a.engine.localeCompare(b.engine) || b.median - a.median);
  const max = Math.max(1, ...bars.map((b) => b.median));
  const rowHeight = 22;
  const labelWidth = 300;
  const plot = 460;
  const height = bars.length * rowHeight + 40;
  const parts = bars.map((b, i) => {
    const y = 30 + i * rowHeight;
    const w = Math.max(1, (b.median / max) * plot);
    const fill = b.system === 'errand' ? '#2f7d4f' : b.system === 'raw-sql' ? '#8a8a8a' : '#4a6fa5';
    return (
      `<text x="${labelWidth - 8}" y="${y + 14}" text-anchor="end">${escapeXml(`${b.engine} · ${label(b)}`)}</text>` +
      `<rect x="${labelWidth}" y="${y + 3}" width="${round(w, 1)}" height="${rowHeight - 6}" fill="${fill}"/>` +
      `<text x="${labelWidth + w + 6}" y="${y + 14}">${Math.round(b.median).toLocaleString('en-US')}</text>`
    );
  });
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth + plot + 90}" height="${height}" font-family="sans-serif" font-size="12">` +
    `<text x="10" y="18" font-weight="bold">Drain rate, jobs/s, concurrency 10, one worker process (median)</text>${parts.join('')}</svg>\n`
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Writes docs/performance.md and docs/performance.svg from this run; resolves to the .md path. */
export async function writeReport(
  root: string,
  summary: Summary,
  results: readonly Measurement[],
  info: RunInfo,
): Promise<string> {
  const docs = path.join(root, 'docs');
  writeFileSync(path.join(docs, 'performance.svg'), drainChart(summary.rows));
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  const fmt = (met: boolean | undefined) => (met === undefined ? '–' : met ? 'met' : '**missed**');
  const settings = new Map<string, unknown>();
  for (const m of results) if (m.settings && !settings.has(label(m))) settings.set(label(m), m.settings);
  const growth = summary.rows.filter((r) => r.scenario === 'claim-growth');
  const lines = [
    '# Performance',
    '',
    '<!-- Generated by `npm run bench` (test/bench/run.ts); edit the generator, not this file. -->',
    '',
    `Measured ${(info.runs ?? 1) > 1 ? '' : `${new Date().toISOString().slice(0, 10)} `}on ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.type()} ${os.release()}, Node ${process.version}` +
      `${info.quick ? ', **quick run (small sizes)**' : ''}; ${info.repeat} paired run(s) per figure, medians; ${info.seconds} s in all` +
      `${(info.runs ?? 1) > 1 ? ` over ${info.runs} bench runs, ${(info.sources ?? []).join(' and ')}: each engine's figures and its peers' come from one run` : ''}.`,
    ...(info.versions
      ? [
          '',
          `Versions: ${Object.entries(info.versions)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}.`,
        ]
      : []),
    '',
    'The machine is shared and noisy: compare figures of the same run (they were measured side by',
    "side), not figures of different runs. Every scenario starts on fresh tables: errand's drop every",
    'table of the bench database and migrate again, the floor recreates its table, and the peers',
    'recreate their schemas (the PostgreSQL server here runs with autovacuum off, so dead rows would',
    'otherwise carry over). Within a scenario, dead rows accumulate for every system alike. Every',
    'figure is one process per measurement, printed as',
    'one JSON line; `npm run bench` prints them all, then this table.',
    '',
    '## Goals',
    '',
    '| goal | this run | |',
    '| --- | --- | --- |',
    ...goals(summary.rows).map((g) => `| ${g.goal} | ${g.figure} | ${fmt(g.met)} |`),
    '',
    '## Drain rate at concurrency 10',
    '',
    '![drain rate at concurrency 10](performance.svg)',
    '',
    '## Every figure (medians)',
    '',
    '| engine | scenario | concurrency | processes | system | median | unit | runs |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    // The dashboard's rows have their own section below.
    ...summary.rows
      .filter((r) => !r.scenario.startsWith('dashboard'))
      .map(
        (r) =>
          `| ${r.engine} | ${r.scenario} | ${r.concurrency ?? ''} | ${r.processes ?? ''} | ${label(r)} | ${r.median} | ${r.unit} | ${r.runs.join(', ')} |`,
      ),
    '',
    '## Claim cost as the tables grow',
    '',
    'The median time of one claim with empty tables, then with 1,000,000 delayed jobs and 100,000',
    'failed jobs stored, and the plan the engine chose for the claim in each state.',
    '',
    ...growth.flatMap((r) => [
      `### ${r.engine}: ${String(r.sample.emptyMs)} ms empty, ${String(r.sample.grownMs)} ms grown (${r.median}×)`,
      '',
      '```',
      `empty:\n${String(r.sample.planEmpty)}\n\ngrown:\n${String(r.sample.planGrown)}`,
      '```',
      '',
    ]),
    ...telemetrySection(telemetryCosts(results)),
    ...dashboardSection(summary.rows),
    '## How each figure is measured',
    '',
    '- **enqueue-one**: jobs dispatched one `await` at a time (`X.dispatch()`); the floor is one raw',
    "  `INSERT` per job through the same driver, of a payload as long as errand's (311 bytes).",
    '- **enqueue-bulk**: `Queue.bulk()` of all the jobs; the floor is one multi-row `INSERT` per chunk.',
    '- **drain**: the jobs are inserted first (not timed); then one worker process works them with no-op',
    '  handlers at the given concurrency until the queue is empty and the worker has stopped. errand',
    "  runs with a local prefetch buffer of 500 jobs (`--prefetch=500`, graphile-worker's local queue",
    '  size in its fast preset). The floor is the obvious loop:',
    '  whenever slots are free, claim as many rows as there are free slots; each job deletes its own',
    "  row when done. Its table has the same claim index as errand's.",
    '- **drain, 4 processes**: four `queue:work`-like processes on one table; the rate is over the window',
    '  from the first handler start to the last handler end (process start-up excluded).',
    '- **latency**: an idle worker in its own process (default `--sleep 3`); another process dispatches',
    '  200 jobs 10 ms apart, each carrying its dispatch time; the handler records the difference.',
    '- **latency-in-process**: the same, with the dispatcher and the worker in one process (the push',
    '  wakes the worker directly).',
    "- **idle-cpu**: the same idle worker's CPU time over 5 s with nothing to do (from 2 s after its start), as a share of one core.",
    '- **telemetry**: the drain with Prometheus metrics and OpenTelemetry tracing off and on, side by',
    '  side (see its section above); the rollup is on in both, as by default.',
    '- **memory**: one worker works 1,000,000 jobs fed in rounds of 10,000; its RSS after the first',
    '  10,000 and at the end (after a GC), as growth in percent (on redis only with `--long`).',
    '- **claim-growth**: see above.',
    "- **redis**: errand's redis driver (prefix `errand-bench:`, failed jobs in a SQLite file) and BullMQ",
    "  on the same Redis server, each errand figure followed at once by BullMQ's. One-by-one dispatch",
    '  is `X.dispatch()` vs `queue.add()`; bulk is one `Queue.bulk()` vs one `queue.addBulk()` of all',
    '  the jobs; drain is errand at `--prefetch=500` vs a BullMQ `Worker` at the same concurrency;',
    "  latency is an idle worker in another process for both (BullMQ's runner starts its worker as a",
    '  child process); latency-in-process has the worker in the dispatching process.',
    '- **bytes-per-job**: Redis `used_memory` (INFO memory) before and after storing 50,000 waiting',
    "  jobs, per job; `keyBytesPerJob` in the JSON is the same from `MEMORY USAGE` of the queue's keys,",
    '  which other clients of a shared server cannot disturb.',
    "- **Peers** run from `test/bench/peers/` (their own install; see its README for each one's",
    '  settings and where they come from). Slow peers drain 5,000 jobs instead of 20,000; a rate is a rate.',
    '',
    '## Peer settings used',
    '',
    ...[...settings.entries()].map(([name, value]) => `- ${name}: \`${JSON.stringify(value)}\``),
    ...(info.skipped.length ? ['', '## Skipped or failed in this run', '', ...info.skipped.map((s) => `- ${s}`)] : []),
    '',
  ];
  const file = path.join(docs, 'performance.md');
  writeFileSync(file, lines.join('\n'));
  return file;
}
