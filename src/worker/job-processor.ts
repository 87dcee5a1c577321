import type { DependencyContainer } from 'tsyringe';
import { DEFAULT_MAX_PAYLOAD_SIZE } from '../config/defaults.js';
import type { FailedJobStore } from '../contracts/failed-job-store.js';
import type { LockStore } from '../contracts/lock-store.js';
import type { ReservedJob } from '../contracts/reserved-job.js';
import type { FinishingWrites, WorkerQueue } from '../contracts/worker-queue.js';
import { ConfigError } from '../errors/config-error.js';
import { DatabaseUnreachableError } from '../errors/database-unreachable-error.js';
import { toError } from '../errors/error-text.js';
import { MaxAttemptsExceededError } from '../errors/max-attempts-exceeded-error.js';
import { PayloadError } from '../errors/payload-error.js';
import type { EventBus } from '../events/event-bus.js';
import { JobExceptionOccurred } from '../events/job-exception-occurred.js';
import { JobFailed } from '../events/job-failed.js';
import { JobProcessed } from '../events/job-processed.js';
import { JobProcessing } from '../events/job-processing.js';
import { JobReleasedAfterException } from '../events/job-released-after-exception.js';
import { JobTimedOut } from '../events/job-timed-out.js';
import { afterJobFailed } from '../execution/after-failure.js';
import { busInfo, chainStateOf, planSuccess, runtimeBatches, type SuccessPlan } from '../execution/after-success.js';
import { isRefusal, jobForFailedHook, modelStep, refusal } from '../execution/load-models.js';
import { exceptionText, type FailureRecording, recordFailure } from '../execution/record-failure.js';
import {
  alreadyExceeded,
  describeTimeout,
  exceptionOutcome,
  maxTries,
  retryPolicyFor,
  timeoutOutcome,
  timeoutReachesLease,
} from '../execution/retry-policy.js';
import { type AttemptOutcome, runAttempt } from '../execution/run-attempt.js';
import { releaseAtEnd, releaseBeforeHandle, type UniqueReleaseDeps } from '../execution/unique-release.js';
import { WorkerJob } from '../execution/worker-job.js';
import type { JobInfo, JobIntent } from '../job/job-context.js';
import { lockStore } from '../locks/current-lock-store.js';
import type { ProcessedOutcome } from '../metrics/metric-names.js';
import { jobLabelOf, processMetrics } from '../metrics/process-metrics.js';
import { type DecodedJob, decodeJob, parsePayload } from '../payload/decode-payload.js';
import type { JobPayload } from '../payload/job-payload.js';
import type { Keyring } from '../payload/keyring.js';
import { attemptFailed, traceAttempt } from '../tracing/process-span.js';
import { tracing } from '../tracing/tracing-state.js';
import { retryWhileUnreachable } from './finisher.js';
import type { MetricsCounter, MetricsOutcome } from './metrics-recorder.js';
import type { WorkerOptions } from './worker-options.js';

const DELETE: JobIntent = { kind: 'delete' };

/** What happened to a job in one pass through the processor. */
export type ProcessResult = 'deleted' | 'released' | 'failed' | 'lost' | 'handed-back';

/**
 * Where the processor writes each running attempt for the watchdog thread to judge (the shared
 * RunningJobsTable): the watchdog blames an attempt past its deadline when the event loop wedges.
 */
export interface Watchdog {
  /** `attempt` started and times out at `deadline` (epoch ms, or Infinity without a timeout). */
  add(attempt: ReservedJob, deadline: number): void;
  /** `attempt` ended (its row may still be held until the finishing write lands). */
  remove(attempt: ReservedJob): void;
}

/** What the processor needs from its worker. */
export interface ProcessorDeps {
  driver: WorkerQueue;
  failer: FailedJobStore;
  events: EventBus;
  container: DependencyContainer;
  options: Pick<WorkerOptions, 'tries' | 'backoff' | 'timeout'>;
  report: (error: unknown) => void;
  /** Aborted when a stopping worker's grace runs out: handlers are asked to give up. */
  stopSignal?: AbortSignal;
  /** Aborted when a stopping worker stops retrying finishing writes; default `stopSignal`. */
  giveUpSignal?: AbortSignal;
  /**
   * Whether the job's lease is known lost: its worker's heartbeat found the worker presumed dead
   * since the claim, so the sweep took the job back. Its finishing writes are then not retried.
   */
  leaseLost?: (job: ReservedJob) => boolean;
  /** Deletes a finished job (the worker batches these); false when the lease was lost. */
  finish?: (job: ReservedJob) => Promise<boolean>;
  /**
   * The watchdog's table of running attempts, once the worker's monitor thread runs (it starts
   * after the processor is built, and not at all for an in-memory database): told when an attempt
   * starts and when it ends.
   */
  watchdog?: () => Watchdog | undefined;
  /**
   * With heartbeats off, the connection's retryAfter: a job whose timeout reaches it could be
   * claimed again while it runs, so it is failed instead of run.
   */
  leaseLimit?: number;
  /** Payloads larger than this many bytes are failed undecoded. */
  maxPayloadSize?: number;
  /** Opens encrypted jobs. */
  keyring?: Keyring;
  /** Where unique jobs' locks are released; default the runtime's lock store. */
  locks?: LockStore;
  /** Counts each attempt that ends (completed, failed or released) for the metrics rollup. */
  metrics?: MetricsCounter;
}

/**
 * Laravel's per-job state machine: check attempts, restore the job, run it, then delete,
 * release (with backoff) or fail it. Every outcome ends in one fenced write, and a job that
 * cannot even be read still ends in the failed-job store with the reason.
 */
export class JobProcessor {
  private readonly uniqueDeps: UniqueReleaseDeps;
  private readonly recording: FailureRecording;

  constructor(private readonly deps: ProcessorDeps) {
    this.uniqueDeps = { locks: () => this.deps.locks ?? lockStore(), report: this.deps.report };
    this.recording = { ...this.uniqueDeps, queue: deps.driver, failer: deps.failer, batches: runtimeBatches };
  }

  /**
   * Runs one claimed job to its end. `handlerDone` is called when the job succeeded and all that
   * is left is its batched delete (no chain or batch to move on), so the worker can start the
   * next job while the delete is on its way. A failure, a release, or a chain or batch step
   * finishes first: the next job must see what they write (a cancelled batch, the next link).
   * `claimedAt` (epoch ms the claim was sent) lets a job whose lease only `retryAfter` bounds be
   * handed back when it waited in the prefetch buffer too long to finish within it.
   */
  async process(reserved: ReservedJob, handlerDone?: () => void, claimedAt?: number): Promise<ProcessResult> {
    const started = performance.now();
    const elapsed = () => performance.now() - started;
    let payload: JobPayload;
    try {
      if (reserved.unreadable !== undefined) throw new PayloadError(reserved.unreadable);
      payload = parsePayload(reserved.payload, this.deps.maxPayloadSize);
    } catch (error) {
      const job = new WorkerJob(reserved, this.deps.driver.connectionName, undefined);
      const state = tracing();
      return state
        ? traceAttempt(state, reserved, job.connectionName, undefined, this.unreadable, this, job, error, elapsed)
        : this.unreadable(job, error, elapsed);
    }
    const limit = this.deps.leaseLimit;
    const timeout = payload.timeout ?? this.deps.options.timeout;
    if (
      limit !== undefined &&
      claimedAt !== undefined &&
      !timeoutReachesLease(timeout, limit) &&
      timeoutReachesLease(timeout, limit - (Date.now() - claimedAt) / 1000)
    ) {
      // Prefetched, it waited so long that its lease (retryAfter, with no heartbeat to renew it)
      // would lapse before its timeout: another worker could claim it mid-run. It goes back
      // unstarted, attempt returned.
      await this.deps.driver.unclaim([reserved]);
      return 'handed-back';
    }
    const state = tracing();
    // The method and its arguments, not a closure: no function object made per attempt.
    return state
      ? traceAttempt(
          state,
          reserved,
          this.deps.driver.connectionName,
          payload,
          this.attempt,
          this,
          reserved,
          payload,
          timeout,
          elapsed,
          handlerDone,
        )
      : this.attempt(reserved, payload, timeout, elapsed, handlerDone);
  }

  /** The attempt of a job whose payload could not be read: it fails, with the reason. */
  private async unreadable(job: WorkerJob, error: unknown, elapsed: () => number): Promise<ProcessResult> {
    await this.deps.events.emit(new JobProcessing(job.connectionName, job));
    return this.fail(job, toError(error), elapsed());
  }

  /** The attempt itself, once its payload parsed and it was not handed back. */
  private async attempt(
    reserved: ReservedJob,
    payload: JobPayload,
    timeout: number,
    elapsed: () => number,
    handlerDone: (() => void) | undefined,
  ): Promise<ProcessResult> {
    const job = new WorkerJob(reserved, this.deps.driver.connectionName, payload);
    // Guarded: with no listener, building the event and awaiting it is pure cost on every job.
    if (this.deps.events.has(JobProcessing)) await this.deps.events.emit(new JobProcessing(job.connectionName, job));

    // Only its two fields here: the whole policy (with the backoff) is built when an attempt fails.
    if (
      alreadyExceeded(
        { maxTries: maxTries(payload, this.deps.options), retryUntil: payload.retryUntil },
        reserved.attempts,
      )
    ) {
      return this.fail(job, MaxAttemptsExceededError.forJob(payload.displayName), elapsed());
    }
    let decoded: DecodedJob;
    try {
      decoded = decodeJob(payload, this.deps.keyring);
    } catch (error) {
      // Refused data (unknown job, tampered or plaintext encrypted data …): nothing of it runs, not even failed().
      return this.fail(job, refusal(toError(error)), elapsed());
    }

    const limit = this.deps.leaseLimit;
    if (limit !== undefined && timeoutReachesLease(timeout, limit)) {
      const reason = `${payload.displayName} has a timeout of ${describeTimeout(timeout)}, not below retryAfter (${limit} s), and heartbeats are off: it could run twice, so it was not run.`;
      return this.fail(job, new ConfigError(reason), elapsed());
    }
    const chain = chainStateOf(payload, {
      keyring: this.deps.keyring,
      maxPayloadSize: this.deps.maxPayloadSize ?? DEFAULT_MAX_PAYLOAD_SIZE,
    });
    const watchdog = this.deps.watchdog?.();
    watchdog?.add(reserved, timeout > 0 ? Date.now() + timeout * 1000 : Infinity);
    let outcome: AttemptOutcome;
    try {
      outcome = await runAttempt(decoded.instance, attemptInfo(job, payload), {
        timeout,
        container: this.deps.container,
        stopSignal: this.deps.stopSignal,
        prepare: decoded.models ? modelStep(decoded, payload) : undefined,
        middleware: decoded.middleware,
        beforeHandle: releaseBeforeHandle(payload, job, this.uniqueDeps),
        chain,
      });
    } finally {
      watchdog?.remove(reserved);
    }

    if (outcome.kind === 'completed') {
      const intent = outcome.intent ?? DELETE;
      // A job of no chain and no batch has nothing to plan: the common case skips the awaits.
      const plain = chain.links.length === 0 && !payload.batchId;
      const plan =
        intent.kind === 'delete' && !plain
          ? await planSuccess(payload, chain, this.deps.driver, this.deps.report)
          : undefined;
      if (plan?.before) await plan.before();
      const result = await this.honour(job, intent, elapsed(), reserved.exceptions, plan?.within, handlerDone, plan);
      if (result === 'deleted' && plan) await plan.after();
      return result;
    }

    attemptFailed(reserved, outcome.error);
    const exceptions = reserved.exceptions + 1;
    const policy = retryPolicyFor(payload, reserved.attempts, this.deps.options);
    if (outcome.kind === 'timed-out') {
      await this.deps.events.emit(new JobTimedOut(job.connectionName, job, timeout));
      if (timeoutOutcome(policy, reserved.attempts, exceptions) === 'fail')
        return this.fail(job, outcome.error, elapsed(), true);
      return this.releaseAfter(job, outcome.error, policy.backoff, exceptions, elapsed(), true);
    } else if (this.deps.stopSignal?.aborted && !outcome.intent) {
      // The worker is shutting down and asked the handler to give up: not the job's fault.
      return this.releaseAfter(job, outcome.error, 0, reserved.exceptions, elapsed());
    } else {
      await this.deps.events.emit(new JobExceptionOccurred(job.connectionName, job, outcome.error));
      // An explicit release/delete/fail made before the throw still decides the job's fate.
      if (outcome.intent) return this.honour(job, outcome.intent, elapsed(), exceptions);
    }
    if (exceptionOutcome(policy, reserved.attempts, exceptions) === 'fail')
      return this.fail(job, outcome.error, elapsed());
    return this.releaseAfter(job, outcome.error, policy.backoff, exceptions, elapsed());
  }

  private async releaseAfter(
    job: WorkerJob,
    error: Error,
    backoff: number,
    exceptions: number,
    durationMs: number,
    timedOut = false,
  ): Promise<ProcessResult> {
    const released = await this.release(job, backoff, exceptions);
    if (released !== true)
      return released === false ? this.lost(job, durationMs) : this.fail(job, released, durationMs, timedOut);
    this.count(job, 'released', durationMs, timedOut);
    await this.deps.events.emit(new JobReleasedAfterException(job.connectionName, job, error, backoff, durationMs));
    return 'released';
  }

  /**
   * `within`: a batch count or a chain's next link to commit with the delete (such a delete skips
   * the batched finisher); `plan` is told how that delete settled.
   */
  private async honour(
    job: WorkerJob,
    intent: JobIntent,
    durationMs: number,
    exceptions: number,
    within?: FinishingWrites,
    handlerDone?: () => void,
    plan?: Pick<SuccessPlan, 'settled'>,
  ): Promise<ProcessResult> {
    if (intent.kind === 'fail') return this.fail(job, intent.error, durationMs);
    let done: boolean;
    if (intent.kind === 'release') {
      const released = await this.release(job, intent.delay, exceptions);
      if (released instanceof Error) return this.fail(job, released, durationMs);
      done = released;
    } else if (within) {
      try {
        done = await this.write(job, () => this.deps.driver.delete(job.reserved, within));
      } catch (error) {
        plan?.settled(false, error);
        throw error;
      }
      plan?.settled(done);
    } else {
      const finishing = this.deps.finish
        ? this.deps.finish(job.reserved)
        : this.write(job, () => this.deps.driver.delete(job.reserved));
      handlerDone?.();
      done = await finishing;
    }
    if (!done) return this.lost(job, durationMs);
    const result = intent.kind === 'release' ? 'released' : 'deleted';
    this.count(job, result === 'released' ? 'released' : 'completed', durationMs);
    // The job is gone for good (never after a release back): its unique lock goes with it.
    if (result === 'deleted' && job.payload?.unique)
      await releaseAtEnd(job.payload, job.reserved.payload, job, this.uniqueDeps);
    if (this.deps.events.has(JobProcessed))
      await this.deps.events.emit(new JobProcessed(job.connectionName, job, durationMs, result));
    return result;
  }

  /**
   * Records the failure (once, see recordFailure), then runs what the application asked for on a
   * failure: the batch's and chain's callbacks, and the job's failed() on a fresh copy.
   */
  private async fail(job: WorkerJob, error: Error, durationMs: number, timedOut = false): Promise<ProcessResult> {
    attemptFailed(job.reserved, error);
    const recorded = await recordFailure(job, exceptionText(error), {
      ...this.recording,
      write: (write) => this.write(job, write),
    });
    if (!recorded) return this.lost(job, durationMs);
    this.count(job, 'failed', durationMs, timedOut);
    if (job.payload) await afterJobFailed(job.payload, error, this.deps.report, recorded.batchCounted);
    if (job.payload && !isRefusal(error)) await this.callFailedHook(job, job.payload, error);
    await this.deps.events.emit(new JobFailed(job.connectionName, job, error, durationMs));
    return 'failed';
  }

  /**
   * Puts the job back; false when the lease was lost. A release the database refuses (anything
   * but an outage, which is waited out) resolves to the reason, and the job ends in failed_jobs
   * with it: left as it is, the row would stay held by this worker until retryAfter.
   */
  private async release(job: WorkerJob, delay: number, exceptions: number): Promise<boolean | Error> {
    try {
      return await this.write(job, () => this.deps.driver.release(job.reserved, delay, exceptions));
    } catch (error) {
      if (error instanceof DatabaseUnreachableError) throw error;
      const reason = error instanceof Error ? error.message : String(error);
      return new Error(
        `${job.displayName} could not be released for a retry (delay ${delay} s, exceptions ${exceptions}); the database refused it: ${reason}`,
        { cause: error },
      );
    }
  }

  /**
   * A finishing write, tried again while the database cannot be reached and the job's lease lives
   * (the batched deletes of the worker's finisher do the same): each is fenced on the lease, so a
   * retry of one that did land changes nothing and reports the job lost. Once the lease is known
   * lost (the sweep took the job back), an unreachable database ends the tries with the job lost.
   */
  private async write(job: WorkerJob, write: () => Promise<boolean>): Promise<boolean> {
    const leaseLost = this.deps.leaseLost ? () => this.deps.leaseLost!(job.reserved) : undefined;
    try {
      return await retryWhileUnreachable(write, this.deps.giveUpSignal ?? this.deps.stopSignal, leaseLost);
    } catch (error) {
      if (error instanceof DatabaseUnreachableError && leaseLost?.()) return false;
      throw error;
    }
  }

  private async callFailedHook(job: WorkerJob, payload: JobPayload, error: Error): Promise<void> {
    try {
      const fresh = await jobForFailedHook(payload, this.deps.keyring, attemptInfo(job, payload), this.deps.stopSignal);
      if (typeof fresh.failed === 'function') await fresh.failed(error);
    } catch (hookError) {
      this.deps.report(hookError);
    }
  }

  /**
   * An attempt ended as `outcome`: counted under its queue and job name for the rollup, and for
   * the process's Prometheus families when they are registered (an attempt its timeout ended
   * counts there as `timed_out`, whether it was then released or failed).
   */
  private count(job: WorkerJob, outcome: MetricsOutcome, durationMs: number, timedOut = false): void {
    this.deps.metrics?.count(job.queue, job.displayName, outcome, durationMs, job.reserved.waitMs);
    if (processMetrics) this.observe(job, timedOut ? 'timed_out' : outcome, durationMs);
  }

  private observe(job: WorkerJob, outcome: ProcessedOutcome, durationMs: number): void {
    const waitMs = job.reserved.waitMs;
    processMetrics?.processed(
      job.connectionName,
      job.queue,
      jobLabelOf(job.payload),
      outcome,
      durationMs / 1000,
      waitMs === undefined ? undefined : waitMs / 1000,
    );
  }

  private lost(job: WorkerJob, durationMs: number): ProcessResult {
    if (processMetrics) this.observe(job, 'lease_lost', durationMs);
    this.deps.report(
      new Error(
        `${job.displayName} #${job.id}: the lease was lost (the job was reclaimed elsewhere); this worker changed nothing.`,
      ),
    );
    return 'lost';
  }
}

/** What `this.job` holds for an attempt of `job` (in handle(), its middleware and its failed()). */
function attemptInfo(job: WorkerJob, payload: JobPayload): JobInfo {
  return {
    id: job.id,
    uuid: payload.uuid,
    queue: job.queue,
    connection: job.connectionName,
    attempts: job.attempts,
    displayName: payload.displayName,
    ...busInfo(payload),
  };
}
