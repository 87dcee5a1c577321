// How the pages write numbers, ages and times. Every figure is plain text in the page so a reader
// (and a browser test) sees the exact number; capped counts carry a "+" meaning "at least".

import { html, type SafeHtml } from './html.js';

/** A count as shown: `1,234`, or `100k+` when the count stopped at its cap. */
export function formatCount(n: number, capped = false): string {
  if (!capped) return n.toLocaleString('en-US');
  if (n >= 1000 && n % 1000 === 0) return `${(n / 1000).toLocaleString('en-US')}k+`;
  return `${n.toLocaleString('en-US')}+`;
}

/** "1 job", "6 jobs". */
export function plural(n: number, word: string, capped = false): string {
  return `${formatCount(n, capped)} ${word}${n === 1 && !capped ? '' : 's'}`;
}

/** A duration in seconds as `45s`, `3m 5s`, `2h 10m`, `3d 4h`. */
export function formatAge(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined) return '—';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  return `${Math.floor(s / 86400)}d ${Math.floor((s % 86400) / 3600)}h`;
}

/** Milliseconds as `12 ms` or `1.5 s`. */
export function formatMs(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** A 0–1 ratio as `12.5%`. */
export function formatPercent(ratio: number | null | undefined): string {
  if (ratio === null || ratio === undefined) return '—';
  return `${(ratio * 100).toFixed(ratio === 0 || ratio === 1 ? 0 : 1)}%`;
}

/** A rate with at most one decimal. */
export function formatRate(n: number): string {
  return Number.isInteger(n) ? n.toLocaleString('en-US') : n.toFixed(1);
}

/** A unix time (seconds) as a `<time>` in UTC, or a dash. */
export function formatTime(unix: number | null | undefined): SafeHtml {
  if (unix === null || unix === undefined) return html`—`;
  const iso = new Date(unix * 1000).toISOString();
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace('T', ' ')} UTC</time>`;
}
