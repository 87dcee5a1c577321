import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import os from 'node:os';

import type { DependencyContainer } from 'tsyringe';

import type { ResolvedConfig } from '../config/config-types.js';
import type { FailedJobStore } from '../contracts/failed-job-store.js';
import type { MetricsRepository } from '../contracts/metrics-repository.js';
import type { ReservedJob } from '../contracts/reserved-job.js';
import type { WorkerQueue, WorkerRegistration } from '../contracts/worker-queue.js';
import { MissingTableError } from '../errors/missing-table-error.js';
import type { EventBus } from '../events/event-bus.js';
import { JobQueued } from '../events/job-queued.js';
import { Looping } from '../events/looping.js';
import { WorkerStarting } from '../events/worker-starting.js';
import { WorkerStopping } from '../events/worker-stopping.js';
import { WorkerControls } from './controls.js';
import { DRAIN_PATIENCE_MS, Finisher } from './finisher.js';
import { JobProcessor } from './job-processor.js';
import { MetricsRecorder } from './metrics-recorder.js';
import { Monitor, type MonitorListener } from './monitor/monitor.js';
import { PollDelay } from './poll-delay.js';
import { PrefetchBuffer } from './prefetch-buffer.js';
import { refuseJobsWithoutParamTypes } from './refuse-jobs-without-param-types.js';
import { Sleeper } from './sleeper.js';
import { Slots } from './slots.js';
import { stopReason, stopStatus, type WorkerStopReason } from './stop-conditions.js';
import { validateWorkerOptions } from './validate-worker-options.js';
import { graceSeconds, queuesToWork, WORKER_DEFAULTS, type WorkerOptions } from './worker-options.js';

/** What a worker is built from; `createWorker()` assembles it from the booted runtime. */
export interface WorkerDeps {
  driver: WorkerQueue;
  failer: FailedJobStore;
  events: EventBus;
  container: DependencyContainer;
  report: (error: unknown) => void;
  /** The resolved configuration: the monitor thread opens its own connection from it. */
  config?: ResolvedConfig;
  /** Where the worker adds its per-minute counts, and for how many hours they are kept; none: not counted. */
  metrics?: { repository: MetricsRepository; retention: number };
}

/** After SIGTERM's grace, how long aborted handlers get to wind down before their jobs are released. */
const ABORT_GRACE_MS = 5000;

/**
 * The `queue:work` loop. Up to `concurrency` jobs run at once (its `Slots`); claims take as many
 * jobs as there are free slots plus the `PrefetchBuffer` in one query, finished jobs are deleted
 * in batches (the `Finisher`), pauses and restarts come through its `WorkerControls`, and a
 * monitor thread heartbeats, renews leases, polls the controls and watches for a wedged event
 * loop. `run()` resolves to the exit status.
 */
export class Worker {
  readonly options: WorkerOptions;
  readonly queues: string[];
  /** This worker's id: the lease token on every job it claims and its row in the workers table. */
  readonly id = randomUUID();
  private readonly processor: JobProcessor;
  private readonly finisher: Finisher;
  private readonly sleeper = new Sleeper();
  private readonly pollDelay: PollDelay;
  private readonly interrupt = new AbortController();
  /**
   * Aborted when a stopping worker stops retrying the fail and release writes of its jobs through
   * a database outage: with the grace spent, after a while on a stop of another kind, or at a
   * second stop request. Without it such a stop waited for the database for as long as it was away.
   */
  private readonly giveUp = new AbortController();
  private winding = false;
  private readonly buffer: PrefetchBuffer;
  private readonly slots: Slots;
  private readonly controls: WorkerControls;
  private readonly metrics: MetricsRecorder | undefined;
  private monitor: Monitor | undefined;
  private started = false;
  private stopRequested = false;
  private drained = false;
  private fatal: Error | undefined;
  private rss = 0;
  private rssReadAt = 0;

  constructor(
    private readonly deps: WorkerDeps,
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...WORKER_DEFAULTS, ...options };
    // Every running job listens on the stop signal: more than ten slots is not a leak.
    setMaxListeners(0, this.interrupt.signal, this.giveUp.signal);
    if (this.options.once) Object.assign(this.options, { concurrency: 1, prefetch: 0 });
    this.queues = queuesToWork(this.options.queues, deps.driver.defaultQueue);
    validateWorkerOptions(this.options, deps.driver.leases);
    // After the bootstrap import (queue:work) or the app's own imports (createWorker()).
    refuseJobsWithoutParamTypes();
    this.pollDelay = new PollDelay(this.options.sleep);
    // A freed slot or a settled lease starts the next jobs straight from the buffer, without
    // waiting for the loop (which may be out claiming).
    const startMore = () => {
      this.startJobs();
      this.sleeper.wake();
    };
    this.buffer = new PrefetchBuffer({
      driver: deps.driver,
      events: deps.events,
      report: deps.report,
      workerId: this.id,
      queues: this.queues,
      monitor: () => this.monitor,
      recheck: startMore,
    });
    this.controls = new WorkerControls({
      events: deps.events,
      connectionName: this.connectionName,
      queues: this.queues,
      buffer: this.buffer,
      wake: () => this.sleeper.wake(),
    });
    this.metrics = deps.metrics
      ? new MetricsRecorder(deps.metrics.repository, { retention: deps.metrics.retention, report: deps.report })
      : undefined;
    const leaseLost = (job: ReservedJob) => this.buffer.leaseLost(job);
    this.finisher = new Finisher(deps.driver, DRAIN_PATIENCE_MS, leaseLost);
    this.processor = new JobProcessor({
      ...deps,
      options: this.options,
      stopSignal: this.interrupt.signal,
      giveUpSignal: this.giveUp.signal,
      leaseLost,
      finish: (job) => this.finisher.delete(job),
      watchdog: () => this.monitor?.running,
      maxPayloadSize: deps.config?.maxPayloadSize,
      keyring: deps.config?.keyring,
      metrics: this.metrics,
      leaseLimit: deps.driver.leases.heartbeat === false ? deps.driver.leases.retryAfter : undefined,
    });
    this.slots = new Slots({
      driver: deps.driver,
      report: deps.report,
      concurrency: this.options.concurrency,
      rest: this.options.rest,
      processor: this.processor,
      buffer: this.buffer,
      freed: startMore,
      settled: () => this.sleeper.wake(),
    });
  }

  get connectionName(): string {
    return this.deps.driver.connectionName;
  }

  /** Runs until a stop condition holds; resolves to the exit status (0, or 12 for memory). */
  async run(): Promise<number> {
    if (this.started) throw new Error('This worker has already run.');
    this.started = true;
    const startedAt = Date.now();
    const offQueued = this.deps.events.on(JobQueued, (event) => {
      if (event.connectionName === this.connectionName && this.queues.includes(event.queue)) this.wakeForJobs();
    });
    let stopListening: (() => Promise<void>) | undefined;
    let reason: WorkerStopReason | undefined;
    // A worker whose slots are all busy sleeps until one frees, and may never (long jobs, a
    // finishing write waiting out an unreachable database): at its max time it must stop claiming,
    // hand its prefetched jobs back and begin its stop, not wait for its longest job first.
    const cancelMaxTime =
      this.options.maxTime > 0 ? this.sleeper.wakeAt(startedAt + this.options.maxTime * 1000) : undefined;
    this.metrics?.start();
    try {
      this.monitor = await Monitor.start(this.registration(), {
        driver: this.deps.driver,
        config: this.deps.config,
        jobDefaults: { tries: this.options.tries, backoff: this.options.backoff },
        listener: this.monitorListener(),
      });
      stopListening = await this.deps.driver.listen(
        this.queues,
        (queue) => (queue === undefined || this.queues.includes(queue)) && this.wakeForJobs(),
        this.deps.report,
      );
      await this.deps.events.emit(new WorkerStarting(this.connectionName, this.queues, this.options, this.id));
      for (;;) {
        reason = this.checkStop(startedAt);
        if (reason || this.fatal) break;
        if (
          !(await this.deps.events.emit(new Looping(this.connectionName, this.queues))) ||
          this.controls.pausedBySignal
        ) {
          await this.sleeper.sleep(Math.max(1, this.options.sleep));
          continue;
        }
        const finishedBefore = this.slots.processed;
        const claimed = await this.claim();
        // A pause that arrived while the claim was in flight: those jobs must not start.
        this.controls.handBackPaused();
        this.startJobs();
        if (this.fatal) break;
        // A job that finished while the claim was out may have pushed more (the next of its
        // chain, a release): only a claim begun after every job finished proves the queue empty.
        if (
          this.slots.jobs === 0 &&
          this.buffer.size === 0 &&
          claimed === 0 &&
          this.slots.processed === finishedBefore
        ) {
          // A claim that failed (the database away) proves nothing about the queue.
          this.drained = this.buffer.claimFailures === 0;
          if (this.checkStop(startedAt)) continue;
          await this.sleeper.sleep(this.buffer.claimFailures > 0 ? this.failureDelay() : this.pollDelay.next(false));
        } else {
          this.drained = false;
          // Busy: wait for a slot to free up (or a wake-up), polling again soon for more.
          await this.sleeper.sleep(this.slots.full ? undefined : this.pollDelay.next(claimed > 0));
        }
      }
    } finally {
      cancelMaxTime?.();
      offQueued();
      await this.wind(reason ?? 'interrupted').catch((error: unknown) => this.deps.report(error));
      await stopListening?.().catch(() => undefined);
    }
    if (this.fatal) throw this.fatal;
    const status = stopStatus(reason!);
    await this.deps.events.emit(new WorkerStopping(status, reason!, this.slots.processed));
    return status;
  }

  /**
   * Stops claiming; in-flight jobs finish (their signals abort after the grace). Asked again (or
   * while the worker stops for another reason), it also stops retrying the finishing writes an
   * unreachable database refuses: they are tried once more, then left to their leases.
   */
  stop(): void {
    if (this.stopRequested || this.winding) this.giveUp.abort();
    this.stopRequested = true;
    this.sleeper.wake();
  }

  /** SIGUSR2: stop claiming until resume(); running jobs carry on. */
  pause(): void {
    this.controls.pause();
  }

  /** SIGCONT: claim again. */
  resume(): void {
    this.controls.resume();
  }

  private wakeForJobs(): void {
    this.pollDelay.reset();
    this.sleeper.wake();
  }

  /** This worker's row in the workers table. */
  private registration(): WorkerRegistration {
    return {
      id: this.id,
      name: this.options.name,
      connection: this.connectionName,
      queues: this.queues,
      hostname: os.hostname(),
      pid: process.pid,
      concurrency: this.options.concurrency,
    };
  }

  private monitorListener(): MonitorListener {
    return {
      controls: (controls) => this.controls.apply(controls),
      swept: (jobs) => jobs > 0 && this.wakeForJobs(),
      leaseLost: () => {
        this.deps.report(
          new Error(
            `Worker ${this.id} was presumed dead (no heartbeat within the lapse); its jobs were handed to other workers and its own writes about them are ignored.`,
          ),
        );
        // The buffered jobs of the old lease are handed back (fenced: only rows still ours change).
        this.startJobs();
        this.sleeper.wake();
      },
      error: (error, fatal) => {
        this.deps.report(error);
        if (fatal) {
          this.fatal = error;
          this.sleeper.wake();
        }
      },
    };
  }

  /** The resident set in MB, read at most every 100 ms: reading it is a system call, and the loop turns once per job. */
  private rssMb(): number {
    const now = Date.now();
    if (now - this.rssReadAt >= 100) {
      this.rssReadAt = now;
      this.rss = process.memoryUsage.rss() / 1024 / 1024;
    }
    return this.rss;
  }

  private checkStop(startedAt: number): WorkerStopReason | undefined {
    return stopReason(this.options, {
      stopRequested: this.stopRequested,
      restartRequested: this.controls.restartRequested,
      jobsProcessed: this.slots.processed,
      drained: this.drained && this.slots.jobs === 0 && this.buffer.size === 0,
      idleMs: Date.now() - this.buffer.lastClaimAt,
      startedAt,
      now: Date.now(),
      memoryMb: this.rssMb(),
    });
  }

  /**
   * Claims enough jobs to fill the free slots and the prefetch buffer, queues in priority order.
   * With a buffer, it waits until the buffer is down to half before claiming again, so one claim
   * brings many jobs instead of one claim per finished job.
   */
  private async claim(): Promise<number> {
    const { concurrency, prefetch, maxJobs } = this.options;
    if (prefetch > 0 && this.buffer.size > prefetch / 2) return 0;
    let want = concurrency + prefetch - this.slots.handlers - this.buffer.size;
    if (maxJobs > 0) want = Math.min(want, maxJobs - this.slots.processed - this.slots.jobs - this.buffer.size);
    if (want <= 0) return 0;
    // With the lease in doubt, jobs claimed now could not be started; the monitor settles it soon.
    if (this.monitor && !this.monitor.leaseHeld()) return 0;
    const { claimed, error } = await this.buffer.fill(want, (queue) => this.controls.pausedQueues.has(queue));
    // Missing tables will not fix themselves: stop and say so.
    if (error instanceof MissingTableError) this.fatal = error;
    return claimed;
  }

  private startJobs(): void {
    // Paused: the buffer is handed back (pause(), controls.apply()), never started.
    if (this.controls.pausedBySignal) return;
    if (!this.buffer.leaseAllowsStart()) return;
    while (this.slots.hasRoom && this.buffer.size > 0 && !this.stopRequested) {
      const job = this.buffer.take(this.controls.pausedQueues);
      if (!job) return;
      this.slots.start(job);
    }
  }

  /**
   * Winds down: hands the prefetch buffer back, lets in-flight jobs finish (after a signal, for
   * the grace, then aborts their signals and finally releases what is left), lands the batched
   * deletes and the last metrics counts, and deregisters.
   */
  private async wind(reason: WorkerStopReason): Promise<void> {
    await this.buffer.handBackAll();
    this.winding = true;
    // The grace bounds an interrupted stop; any other waits for its handlers, but not for an
    // unreachable database for longer than the finisher's deletes do.
    const patience =
      reason === 'interrupted' ? undefined : setTimeout(() => this.giveUp.abort(), DRAIN_PATIENCE_MS).unref();
    try {
      if (this.slots.jobs > 0) {
        if (reason === 'interrupted') {
          if (!(await this.slots.settleWithin(graceSeconds(this.options) * 1000))) {
            this.interrupt.abort(new Error('The worker is stopping.'));
            this.giveUp.abort();
            if (!(await this.slots.settleWithin(ABORT_GRACE_MS))) await this.slots.releaseStragglers();
          }
        } else {
          await this.slots.settle();
        }
      }
    } finally {
      clearTimeout(patience);
    }
    await this.finisher.drain();
    // Counted attempts are all finished now: the last counts go in before the worker deregisters.
    await this.metrics?.stop();
    await this.monitor?.stop(true);
  }

  /**
   * Seconds before the next claim after failed ones: 1, 2, 4, then every 5, so a worker claims
   * again within 5 s of its database coming back, however long the outage (a claim is one cheap
   * statement, and each failure is reported).
   */
  private failureDelay(): number {
    return Math.min(5, 2 ** Math.min(this.buffer.claimFailures - 1, 3));
  }
}
