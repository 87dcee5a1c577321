import { ConfigError } from '../errors/config-error.js';
import { numberProblem } from '../runtime/numeric-bounds.js';
import { graceSeconds, WORKER_DEFAULTS } from '../worker/worker-options.js';

/** Seconds a supervisor waits beyond the worker's grace before it kills the worker. */
export const STOP_MARGIN_SECONDS = 15;

/**
 * The value given to `option` in `queue:work` arguments, as `--option=value` or `--option value`.
 * The last occurrence wins, as it does when commander parses the same line. Undefined when absent.
 */
export function workerArgValue(args: readonly string[], option: string): string | undefined {
  let value: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') break;
    if (arg.startsWith(`${option}=`)) {
      value = arg.slice(option.length + 1);
    } else if (arg === option) {
      const next = args[i + 1];
      if (next === undefined || next.startsWith('-'))
        throw new ConfigError(`${option} (for queue:work) needs a value.`);
      value = next;
      i++;
    }
  }
  return value;
}

/** Whether `queue:work` arguments set `option`, in either spelling. */
export function hasWorkerArg(args: readonly string[], option: string): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === option || arg.startsWith(`${option}=`));
}

function nonNegative(option: string, value: string, whole: boolean): number {
  const n = value.trim() === '' ? NaN : Number(value);
  const problem = numberProblem(n, { whole, got: JSON.stringify(value) });
  if (problem) throw new ConfigError(`${option} (for queue:work) ${problem}.`);
  return n;
}

/**
 * How long the worker may take to finish its in-flight jobs after SIGTERM, by the worker's own
 * rule (`graceSeconds`) applied to its `--grace` and `--timeout` arguments, rounded up to whole
 * seconds for the supervisor.
 */
export function workerGraceSeconds(args: readonly string[]): number {
  const grace = workerArgValue(args, '--grace');
  // With a grace given the timeout plays no part, so it is not read (nor refused).
  const timeout = grace === undefined ? workerArgValue(args, '--timeout') : undefined;
  return Math.ceil(
    graceSeconds({
      grace: grace === undefined ? undefined : nonNegative('--grace', grace, false),
      timeout: timeout === undefined ? WORKER_DEFAULTS.timeout : nonNegative('--timeout', timeout, true),
    }),
  );
}

/**
 * Seconds a supervisor should wait between SIGTERM and SIGKILL (supervisord's `stopwaitsecs`,
 * systemd's `TimeoutStopSec`): the worker's grace plus a margin for its own shutdown (closing
 * pools, writing the last results), so a stop never kills a job the worker was still finishing.
 */
export function stopWaitSeconds(args: readonly string[]): number {
  return workerGraceSeconds(args) + STOP_MARGIN_SECONDS;
}
