import type { ProcessedOutcome } from './metric-names.js';

/**
 * What errand's hot paths report to the Prometheus families of this process: dispatches, ended
 * attempts and jobs recovered from lapsed leases. Implemented by `registerErrandMetrics`
 * (errand/metrics); this seam carries no prom-client type, so the main entry never loads it.
 */
export interface ProcessMetricsSink {
  /** `count` jobs of `job` were stored on `connection`/`queue`. */
  dispatched(connection: string, queue: string, job: string, count: number): void;
  /**
   * An attempt ended as `outcome` after `seconds`; `waitSeconds` (available → claimed) is
   * undefined when the store did not say.
   */
  processed(
    connection: string,
    queue: string,
    job: string,
    outcome: ProcessedOutcome,
    seconds: number,
    waitSeconds: number | undefined,
  ): void;
  /** `count` jobs of `queue` were taken back from workers whose lease lapsed. */
  recovered(connection: string, queue: string, count: number): void;
}

/**
 * The sink of this process, or undefined when errand's metrics were never registered here: the
 * hot paths test this one binding and do nothing more, so a process without metrics pays for a
 * single comparison per job.
 */
export let processMetrics: ProcessMetricsSink | undefined;

/** @internal Installs the process's sink (errand/metrics does, once); undefined removes it (tests). */
export function installProcessMetrics(sink: ProcessMetricsSink | undefined): void {
  processMetrics = sink;
}

/** The `job` label of a job whose registered name cannot be read (an unreadable payload). */
export const UNKNOWN_JOB = 'unknown';

/**
 * The `job` label of a decoded payload: its registered name (`data.commandName`), never its
 * display name, which user code may fill with ids.
 */
export function jobLabelOf(payload: { readonly data?: { readonly commandName?: unknown } } | undefined): string {
  const name = payload?.data?.commandName;
  return typeof name === 'string' && name !== '' ? name : UNKNOWN_JOB;
}

/** {@link jobLabelOf} for a payload still in its stored text (a failed job pushed back). */
export function jobLabelOfText(text: string): string {
  try {
    return jobLabelOf(JSON.parse(text) as { data?: { commandName?: unknown } });
  } catch {
    return UNKNOWN_JOB;
  }
}

/**
 * Counts one stored job of `payload` on `connection`/`queue` when metrics are on; the call sites
 * test nothing themselves, and this costs one comparison when metrics are off. `inline`: the
 * connection ran the job instead of storing it (the sync driver), which is no dispatch to count,
 * as no worker will count its attempts either.
 */
export function countDispatched(
  connection: string,
  queue: string,
  payload: { readonly data?: { readonly commandName?: unknown } } | string,
  inline = false,
): void {
  if (!processMetrics || inline) return;
  processMetrics.dispatched(
    connection,
    queue,
    typeof payload === 'string' ? jobLabelOfText(payload) : jobLabelOf(payload),
    1,
  );
}
