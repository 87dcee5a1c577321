import { errorSummary, stackWithCauses } from '../errors/error-text.js';
import type { EventBus } from '../events/event-bus.js';
import { JobFailed } from '../events/job-failed.js';
import { JobProcessed } from '../events/job-processed.js';
import { JobProcessing } from '../events/job-processing.js';
import { JobReleasedAfterException } from '../events/job-released-after-exception.js';
import { WorkerQueuePaused } from '../events/worker-queue-paused.js';
import { WorkerQueueResumed } from '../events/worker-queue-resumed.js';
import { formatJobLine, formatTime, type LineStatus, type LineTone } from './format-job-line.js';

/** Where and how the worker prints. */
export interface OutputTarget {
  write(line: string): void;
  width: number;
  colour: boolean;
}

/** The terminal: colour only on a TTY (and never with NO_COLOR), dots to its width. */
export function terminalOutput(stream: NodeJS.WriteStream = process.stdout): OutputTarget {
  return {
    write: (line) => stream.write(`${line}\n`),
    width: Math.min(stream.columns || 100, 150),
    colour: Boolean(stream.isTTY) && !process.env.NO_COLOR,
  };
}

/**
 * Prints Laravel's per-job lines (RUNNING, then DONE or FAIL with the duration) by listening to
 * the worker's events. A FAIL line (released for a retry, or failed for good) ends with the
 * error's class and message on one line; `verbose` (`-v`) prints its stack below, indented.
 * Returns a function that stops printing.
 */
export function attachWorkerOutput(
  events: EventBus,
  target: OutputTarget = terminalOutput(),
  options: { verbose?: boolean } = {},
): () => void {
  const line = (name: string, status: LineStatus, tone: LineTone, durationMs?: number, error?: Error) => {
    const reason = error === undefined ? undefined : errorSummary(error);
    target.write(
      formatJobLine({
        time: new Date(),
        name,
        status,
        tone,
        durationMs,
        width: target.width,
        colour: target.colour,
        reason,
      }),
    );
    if (error !== undefined && options.verbose) target.write(indent(stackWithCauses(error)));
  };
  const off = [
    events.on(JobProcessing, (e) => line(e.job.displayName, 'RUNNING', 'running')),
    events.on(JobProcessed, (e) => line(e.job.displayName, 'DONE', 'done', e.durationMs)),
    events.on(JobReleasedAfterException, (e) => line(e.job.displayName, 'FAIL', 'retry', e.durationMs, e.error)),
    events.on(JobFailed, (e) => line(e.job.displayName, 'FAIL', 'failed', e.durationMs, e.error)),
    events.on(WorkerQueuePaused, (e) => target.write(`  ${formatTime(new Date())} Queue ${e.queue} PAUSED`)),
    events.on(WorkerQueueResumed, (e) => target.write(`  ${formatTime(new Date())} Queue ${e.queue} RESUMED`)),
  ];
  return () => off.forEach((f) => f());
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
