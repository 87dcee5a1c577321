import pc from 'picocolors';

/** The status words of a job line, as Laravel prints them. */
export type LineStatus = 'RUNNING' | 'DONE' | 'FAIL';

/** How FAIL is coloured: yellow when the job will be retried, red when it failed for good. */
export type LineTone = 'running' | 'done' | 'retry' | 'failed';

/** `12.34ms` under a second, else `1s 234ms`, `2m 5s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms.toFixed(2)}ms`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 60) return `${totalSeconds}s ${Math.floor(ms % 1000)}ms`;
  return `${Math.floor(totalSeconds / 60)}m ${totalSeconds % 60}s`;
}

/** `YYYY-MM-DD HH:MM:SS` in local time. */
export function formatTime(date: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${p(date.getMonth() + 1)}-${p(date.getDate())} ${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}`;
}

/**
 * One line of worker output: time, job name, dots to the terminal width, then the duration and
 * the status, and after a FAIL why (`— Class: message`, already on one line). Colour only when
 * asked (the caller checks for a TTY).
 */
export function formatJobLine(input: {
  time: Date;
  name: string;
  status: LineStatus;
  tone: LineTone;
  durationMs?: number;
  width: number;
  colour: boolean;
  reason?: string;
}): string {
  const colours = pc.createColors(input.colour);
  const duration = input.durationMs === undefined ? '' : ` ${formatDuration(input.durationMs)}`;
  const left = `  ${formatTime(input.time)} ${input.name} `;
  const right = `${duration} ${input.status}`;
  const dots = Math.max(3, input.width - left.length - right.length);
  const paint = { running: colours.yellow, done: colours.green, retry: colours.yellow, failed: colours.red }[
    input.tone
  ];
  // The reason goes after the status, so the statuses of every line stay in one column.
  const reason = input.reason === undefined ? '' : ` ${colours.gray('—')} ${paint(input.reason)}`;
  return `${left}${colours.gray('.'.repeat(dots))}${colours.gray(duration)} ${colours.bold(paint(input.status))}${reason}`;
}
