// The metrics page's charts: uPlot line charts from the page's `#metrics-data` block (the same
// body as `GET api/metrics`), one series per queue or job name. The numbers are also in the
// tables below them, as text.

import uPlot from 'uplot';

interface Series {
  connection: string;
  name: string;
  throughput: number[];
  failureRate: (number | null)[];
}

interface Metrics {
  times: number[];
  queues: Series[];
  jobs: Series[];
}

const COLOURS = ['#2563eb', '#dc2626', '#16a34a', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#4b5563'];

let charts: uPlot[] = [];

/** (Re)draws every `[data-chart]` on the page; a no-op elsewhere. */
export function drawCharts(): void {
  for (const chart of charts) chart.destroy();
  charts = [];
  const block = document.getElementById('metrics-data');
  if (!block?.textContent) return;
  const metrics = JSON.parse(block.textContent) as Metrics;
  for (const el of document.querySelectorAll<HTMLElement>('[data-chart]')) {
    const [group, field] = (el.dataset.chart ?? '').split('.') as ['queues' | 'jobs', 'throughput' | 'failureRate'];
    const list = metrics[group] ?? [];
    const percent = field === 'failureRate';
    const data: uPlot.AlignedData = [
      metrics.times,
      ...list.map((s) => (percent ? s[field].map((v) => (v === null ? null : v * 100)) : s[field])),
    ];
    const options: uPlot.Options = {
      width: Math.max(280, el.clientWidth),
      height: 200,
      series: [
        {},
        ...list.map((s, i) => ({
          label: s.name,
          stroke: COLOURS[i % COLOURS.length],
          width: 1.5,
          spanGaps: false,
          // a failure rate exists only in minutes with attempts: lone points must show
          points: { show: percent ? true : undefined, size: 5 },
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : percent ? `${v.toFixed(1)}%` : v.toFixed(1)),
        })),
      ],
      axes: [{}, { values: (_u, ticks) => ticks.map((t) => (percent ? `${t}%` : String(t))) }],
      scales: percent ? { y: { range: [0, 100] } } : {},
      legend: { show: list.length > 0 },
    };
    charts.push(new uPlot(options, data, el));
  }
}
