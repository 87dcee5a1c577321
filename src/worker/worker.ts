import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import os from 'node:os';

import type { DependencyContainer } from 'tsyringe';

import type { ResolvedConfig } from '../config/config-types.js';
import type { FailedJobStore } from '../contracts/failed-job-store.js';
import type { QueueDriver } from '../contracts/queue-driver.js';
import type { ReservedJob } from '../contracts/reserved-job.js';
import { DatabaseQueue } from '../drivers/database/database-queue.js';
import type { Controls } from '../drivers/database/queries/controls.js';
import { MissingTableError } from '../errors/missing-table-error.js';
import type { EventBus } from '../events/event-bus.js';
import { JobPopped } from '../events/job-popped.js';
import { JobPopping } from '../events/job-popping.js';
import { JobQueued } from '../events/job-queued.js';
import { Looping } from '../events/looping.js';
import { WorkerPausing } from '../events/worker-pausing.js';
import { WorkerQueuePaused } from '../events/worker-queue-paused.js';
import { WorkerQueueResumed } from '../events/worker-queue-resumed.js';
import { WorkerResuming } from '../events/worker-resuming.js';
import { WorkerStarting } from '../events/worker-starting.js';
import { WorkerStopping } from '../events/worker-stopping.js';
import { longTimeout } from '../runtime/timer-limit.js';
import { DRAIN_PATIENCE_MS, Finisher } from './finisher.js';
import { JobProcessor } from './job-processor.js';
import { Monitor } from './monitor/monitor.js';
import { PollDelay } from './poll-delay.js';
import { refuseJobsWithoutParamTypes } from './refuse-jobs-without-param-types.js';
import { Sleeper } from './sleeper.js';
import { stopReason, stopStatus, type WorkerStopReason } from './stop-conditions.js';
import { validateWorkerOptions } from './validate-worker-options.js';
import { WORKER_DEFAULTS, type WorkerOptions } from './worker-options.js';

/** What a worker is built from; `createWorker()` assembles it from the booted runtime. */
export interface WorkerDeps {
  driver: QueueDriver;
  failer: FailedJobStore;
  events: EventBus;
  container: DependencyContainer;
  report: (error: unknown) => void;
  /** The resolved configuration: the monitor thread opens its own connection from it. */
  config?: ResolvedConfig;
}

/** Finished jobs whose finishing writes may be outstanding at once before no new job starts. */
const MAX_FINISHING = 1000;

/** How often buffered jobs waiting on an unconfirmed lease look again. */
const LEASE_RECHECK_MS = 100;

/** After SIGTERM's grace, how long aborted handlers get to wind down before their jobs are released. */
const ABORT_GRACE_MS = 5000;

/**
 * The `queue:work` loop. Up to `concurrency` jobs run at once; claims take as many jobs as there
 * are free slots (plus the prefetch buffer) in one query, finished jobs are deleted in batches,
 * and a monitor thread heartbeats, renews leases, polls restart/pause and watches for a wedged
 * event loop. `run()` resolves to the exit status.
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
  /** Every job taken from the buffer and not yet finished: its handler, then its finishing writes. */
  private readonly running = new Map<ReservedJob, Promise<void>>();
  /**
   * The jobs whose handler is still running: they, not the finishing writes, fill the slots. Both
   * are keyed by the claim, not the row id: a row released here may be claimed here again before
   * its first attempt has wound up, and that attempt must not free the second's slot.
   */
  private readonly busy = new Set<ReservedJob>();
  private buffer: ReservedJob[] = [];
  /** For each buffered job: the lease epoch it was claimed under and when the claim was sent. */
  private readonly claimedUnder = new WeakMap<ReservedJob, { epoch: number; at: number; claim: number }>();
  /** Claims numbered in order: the monitor tells two claims of one row apart by them. */
  private claims = 0;
  private leaseRecheck: NodeJS.Timeout | undefined;
  private monitor: Monitor | undefined;
  private jobsProcessed = 0;
  private started = false;
  private stopRequested = false;
  private signalPaused = false;
  private pausedQueues = new Set<string>();
  private restartAt: number | undefined;
  private restartRequested = false;
  private claimFailures = 0;
  private lastClaimAt = Date.now();
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
    this.queues = this.options.queues?.length ? this.options.queues : [deps.driver.defaultQueue];
    validateWorkerOptions(this.options, deps.driver instanceof DatabaseQueue ? deps.driver.config : undefined);
    // After the bootstrap import (queue:work) or the app's own imports (createWorker()).
    refuseJobsWithoutParamTypes();
    this.pollDelay = new PollDelay(this.options.sleep);
    // A job claimed before the heartbeat last found this worker presumed dead was taken back by the sweep.
    const leaseLost = (job: ReservedJob) =>
      this.monitor !== undefined &&
      (this.claimedUnder.get(job)?.epoch ?? this.monitor.leaseEpoch) !== this.monitor.leaseEpoch;
    this.finisher = new Finisher(deps.driver, DRAIN_PATIENCE_MS, leaseLost);
    this.processor = new JobProcessor({
      ...deps,
      options: this.options,
      stopSignal: this.interrupt.signal,
      giveUpSignal: this.giveUp.signal,
      leaseLost,
      finish: (job) => this.finisher.delete(job),
      watch: (job, deadline) => this.monitor?.watch(job, deadline),
      unwatch: (job) => this.monitor?.unwatch(job),
      maxPayloadSize: deps.config?.maxPayloadSize,
      keyring: deps.config?.keyring,
      leaseLimit:
        deps.driver instanceof DatabaseQueue && deps.driver.config.heartbeat === false
          ? deps.driver.config.retryAfter
          : undefined,
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
    try {
      await this.startMonitor();
      if (this.deps.driver instanceof DatabaseQueue) {
        stopListening = await this.deps.driver.listen(
          (queue) => (queue === undefined || this.queues.includes(queue)) && this.wakeForJobs(),
          this.deps.report,
        );
      }
      await this.deps.events.emit(new WorkerStarting(this.connectionName, this.queues, this.options, this.id));
      for (;;) {
        reason = this.checkStop(startedAt);
        if (reason || this.fatal) break;
        if (!(await this.deps.events.emit(new Looping(this.connectionName, this.queues))) || this.signalPaused) {
          await this.sleeper.sleep(Math.max(1, this.options.sleep));
          continue;
        }
        const finishedBefore = this.jobsProcessed;
        const claimed = await this.fill();
        // A pause that arrived while the claim was in flight: those jobs must not start.
        if (this.signalPaused) this.handBack(() => true);
        else if (this.pausedQueues.size > 0) this.handBack((job) => this.pausedQueues.has(job.queue));
        this.startJobs();
        if (this.fatal) break;
        // A job that finished while the claim was out may have pushed more (the next of its
        // chain, a release): only a claim begun after every job finished proves the queue empty.
        if (
          this.running.size === 0 &&
          this.buffer.length === 0 &&
          claimed === 0 &&
          this.jobsProcessed === finishedBefore
        ) {
          // A claim that failed (the database away) proves nothing about the queue.
          this.drained = this.claimFailures === 0;
          if (this.checkStop(startedAt)) continue;
          await this.sleeper.sleep(this.claimFailures > 0 ? this.failureDelay() : this.pollDelay.next(false));
        } else {
          this.drained = false;
          // Busy: wait for a slot to free up (or a wake-up), polling again soon for more.
          const full = this.busy.size >= this.options.concurrency || this.backlogged();
          await this.sleeper.sleep(full ? undefined : this.pollDelay.next(claimed > 0));
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
    await this.deps.events.emit(new WorkerStopping(status, reason!, this.jobsProcessed));
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
    if (this.signalPaused) return;
    this.signalPaused = true;
    // Prefetched jobs would wait here for as long as the pause lasts: other workers may run them.
    this.handBack(() => true);
    void this.deps.events.emit(new WorkerPausing(this.connectionName));
  }

  /** SIGCONT: claim again. */
  resume(): void {
    if (!this.signalPaused) return;
    this.signalPaused = false;
    void this.deps.events.emit(new WorkerResuming(this.connectionName));
    this.sleeper.wake();
  }

  /** Takes matching jobs out of the prefetch buffer and hands them back, attempt returned. */
  private handBack(which: (job: ReservedJob) => boolean): void {
    const back = this.buffer.filter(which);
    if (back.length === 0) return;
    this.buffer = this.buffer.filter((job) => !which(job));
    void this.deps.driver
      .unclaim(back)
      .catch((error: unknown) => this.deps.report(error))
      // Not renewed any more: if the hand-back failed, their leases lapse and they come back.
      .finally(() => this.forget(back));
  }

  /** Tells the monitor these jobs are no longer held, each under the claim that took it. */
  private forget(jobs: readonly ReservedJob[]): void {
    this.monitor?.forget(
      jobs.map((job) => job.id),
      jobs.map((job) => this.claimedUnder.get(job)?.claim ?? 0),
    );
  }

  private wakeForJobs(): void {
    this.pollDelay.reset();
    this.sleeper.wake();
  }

  private async startMonitor(): Promise<void> {
    const driver = this.deps.driver;
    if (!(driver instanceof DatabaseQueue) || !this.deps.config || isInMemory(driver)) return;
    const registration = {
      id: this.id,
      name: this.options.name,
      connection: this.connectionName,
      queues: this.queues,
      hostname: os.hostname(),
      pid: process.pid,
      concurrency: this.options.concurrency,
    };
    this.monitor = new Monitor({
      config: this.deps.config,
      connectionName: this.connectionName,
      heartbeat: driver.config.heartbeat,
      slots: this.options.concurrency,
      jobDefaults: { tries: this.options.tries, backoff: this.options.backoff },
      registration,
      listener: {
        controls: (controls) => void this.applyControls(controls),
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
      },
    });
    // Registered and controls read on this thread's own connection, so claiming can begin while
    // the monitor thread is still loading: until it is ready, its messages wait in its port.
    if (driver.config.heartbeat !== false) {
      const sentAt = Date.now();
      await driver.registerWorker(registration);
      this.monitor.registered(sentAt);
    }
    const controls = await driver.controls();
    this.restartAt = controls.restart;
    await this.applyControls(controls);
    this.monitor.start().catch((error: unknown) => {
      const failure = error instanceof Error ? error : new Error(String(error));
      this.deps.report(failure);
      this.fatal = failure;
      this.sleeper.wake();
    });
  }

  private async applyControls(controls: Controls): Promise<void> {
    if (this.restartAt !== undefined && controls.restart !== this.restartAt) {
      this.restartRequested = true;
      this.sleeper.wake();
    }
    const now = new Set(controls.paused.filter((queue) => this.queues.includes(queue)));
    // Prefetched jobs of a queue just paused have not started: they must not start now.
    this.handBack((job) => now.has(job.queue));
    for (const queue of now) {
      if (!this.pausedQueues.has(queue)) await this.deps.events.emit(new WorkerQueuePaused(this.connectionName, queue));
    }
    for (const queue of this.pausedQueues) {
      if (!now.has(queue)) {
        await this.deps.events.emit(new WorkerQueueResumed(this.connectionName, queue));
        this.sleeper.wake();
      }
    }
    this.pausedQueues = now;
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
      restartRequested: this.restartRequested,
      jobsProcessed: this.jobsProcessed,
      drained: this.drained && this.running.size === 0 && this.buffer.length === 0,
      idleMs: Date.now() - this.lastClaimAt,
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
  private async fill(): Promise<number> {
    const { concurrency, prefetch, maxJobs } = this.options;
    if (prefetch > 0 && this.buffer.length > prefetch / 2) return 0;
    let want = concurrency + prefetch - this.busy.size - this.buffer.length;
    if (maxJobs > 0) want = Math.min(want, maxJobs - this.jobsProcessed - this.running.size - this.buffer.length);
    if (want <= 0) return 0;
    // With the lease in doubt, jobs claimed now could not be started; the monitor settles it soon.
    if (this.monitor && !this.monitor.leaseHeld()) return 0;
    let claimed = 0;
    try {
      for (const queue of this.queues) {
        if (this.pausedQueues.has(queue)) continue;
        if (this.deps.events.has(JobPopping)) await this.deps.events.emit(new JobPopping(this.connectionName, queue));
        const under = { epoch: this.monitor?.leaseEpoch ?? 0, at: Date.now(), claim: ++this.claims };
        const jobs = await this.deps.driver.claim(queue, want - claimed, this.id);
        if (jobs.length === 0) continue;
        this.monitor?.hold(jobs, under.claim);
        for (const job of jobs) {
          this.claimedUnder.set(job, under);
          this.buffer.push(job);
        }
        claimed += jobs.length;
        if (this.deps.events.has(JobPopped))
          for (const job of jobs) await this.deps.events.emit(new JobPopped(this.connectionName, job));
        if (claimed >= want) break;
      }
      this.claimFailures = 0;
    } catch (error) {
      // Missing tables will not fix themselves: stop and say so.
      if (error instanceof MissingTableError) this.fatal = error;
      // The database may come back: report, back off, and try again.
      this.deps.report(error);
      this.claimFailures++;
    }
    if (claimed > 0) this.lastClaimAt = Date.now();
    return claimed;
  }

  private startJobs(): void {
    // Paused: the buffer is handed back (pause(), applyControls), never started.
    if (this.signalPaused) return;
    if (!this.leaseAllowsStart()) return;
    while (
      this.busy.size < this.options.concurrency &&
      this.buffer.length > 0 &&
      !this.stopRequested &&
      !this.backlogged()
    ) {
      const at = this.pausedQueues.size === 0 ? 0 : this.buffer.findIndex((job) => !this.pausedQueues.has(job.queue));
      if (at === -1) return;
      // shift() from the front is what V8 makes cheap; splice() in the middle only with paused queues.
      const job = at === 0 ? this.buffer.shift()! : this.buffer.splice(at, 1)[0]!;
      this.busy.add(job);
      const task = this.runJob(job, this.claimedUnder.get(job)?.at).finally(() => {
        this.running.delete(job);
        this.sleeper.wake();
      });
      this.running.set(job, task);
    }
  }

  /**
   * A prefetched job starts only while this worker surely still holds it: its row in the workers
   * table has not lapsed (the last confirmed heartbeat was sent less than the lapse ago), and the
   * lease has not been found lost since the job was claimed. Jobs of a lost lease are handed back;
   * while the lease is merely unconfirmed (a heartbeat late under load, a stopped process just
   * resumed), they wait and the question is asked again shortly: the next heartbeat settles it.
   */
  private leaseAllowsStart(): boolean {
    const monitor = this.monitor;
    if (!monitor || this.buffer.length === 0) return true;
    const epoch = monitor.leaseEpoch;
    // Claims append in order, so the oldest epoch is at the front.
    if (this.claimedUnder.get(this.buffer[0]!)?.epoch !== epoch)
      this.handBack((job) => this.claimedUnder.get(job)?.epoch !== epoch);
    if (monitor.leaseHeld()) return true;
    this.leaseRecheck ??= setTimeout(() => {
      this.leaseRecheck = undefined;
      this.startJobs();
      this.sleeper.wake();
    }, LEASE_RECHECK_MS).unref();
    return false;
  }

  /**
   * Too many finished jobs still wait for their finishing writes (a slow or unreachable
   * database): start no more until they land, so the backlog stays bounded.
   */
  private backlogged(): boolean {
    return this.running.size - this.busy.size >= MAX_FINISHING;
  }

  private async runJob(job: ReservedJob, claimedAt: number | undefined): Promise<void> {
    // The slot frees as soon as the handler is done: the delete joins the next batched write
    // (group commit) while the next job already runs. The job keeps its lease until it lands.
    const free = () => {
      if (!this.busy.delete(job)) return;
      // Straight from the buffer, without waiting for the loop (which may be out claiming).
      this.startJobs();
      this.sleeper.wake();
    };
    let ran = true;
    try {
      ran = (await this.processor.process(job, free, claimedAt)) !== 'handed-back';
    } catch (error) {
      // A finishing write failed (database gone): the job comes back when its lease lapses.
      this.deps.report(error);
    } finally {
      free();
      this.forget([job]);
      if (ran) this.jobsProcessed++;
    }
    if (this.options.rest > 0) await new Promise<void>((resolve) => longTimeout(resolve, this.options.rest * 1000));
  }

  /**
   * Winds down: hands the prefetch buffer back, lets in-flight jobs finish (after a signal, for
   * the grace, then aborts their signals and finally releases what is left), lands the batched
   * deletes, and deregisters.
   */
  private async wind(reason: WorkerStopReason): Promise<void> {
    clearTimeout(this.leaseRecheck);
    const buffered = this.buffer.splice(0);
    if (buffered.length > 0) {
      await this.deps.driver.unclaim(buffered).catch((error: unknown) => this.deps.report(error));
      this.forget(buffered);
    }
    this.winding = true;
    // The grace bounds an interrupted stop; any other waits for its handlers, but not for an
    // unreachable database for longer than the finisher's deletes do.
    const patience =
      reason === 'interrupted' ? undefined : setTimeout(() => this.giveUp.abort(), DRAIN_PATIENCE_MS).unref();
    try {
      if (this.running.size > 0) {
        if (reason === 'interrupted') {
          const grace = this.options.grace ?? (this.options.timeout > 0 ? this.options.timeout : 60);
          if (!(await settleWithin(this.tasks(), grace * 1000))) {
            this.interrupt.abort(new Error('The worker is stopping.'));
            this.giveUp.abort();
            if (!(await settleWithin(this.tasks(), ABORT_GRACE_MS))) await this.releaseStragglers();
          }
        } else {
          await Promise.allSettled(this.tasks());
        }
      }
    } finally {
      clearTimeout(patience);
    }
    await this.finisher.drain();
    await this.monitor?.stop(true);
  }

  private tasks(): Promise<void>[] {
    return [...this.running.values()];
  }

  private async releaseStragglers(): Promise<void> {
    // Only jobs whose handler is still running: the others are finishing and must not be put back.
    const jobs = [...this.running.keys()].filter((job) => this.busy.has(job));
    if (jobs.length === 0) return;
    this.deps.report(
      new Error(
        `Jobs ${jobs.map((job) => `#${job.id}`).join(', ')} ignored the stop signal; they are released for another worker.`,
      ),
    );
    for (const job of jobs)
      await this.deps.driver.release(job, 0, job.exceptions).catch((error: unknown) => this.deps.report(error));
  }

  /**
   * Seconds before the next claim after failed ones: 1, 2, 4, then every 5, so a worker claims
   * again within 5 s of its database coming back, however long the outage (a claim is one cheap
   * statement, and each failure is reported).
   */
  private failureDelay(): number {
    return Math.min(5, 2 ** Math.min(this.claimFailures - 1, 3));
  }
}

function isInMemory(driver: DatabaseQueue): boolean {
  const connection = driver.config.connection as { filename?: string };
  return driver.config.client === 'better-sqlite3' && connection.filename === ':memory:';
}

async function settleWithin(tasks: Promise<unknown>[], ms: number): Promise<boolean> {
  let cancel: (() => void) | undefined;
  // Stepped: the grace defaults to the timeout, which may be past Node's timer limit.
  const timeout = new Promise<false>((resolve) => (cancel = longTimeout(() => resolve(false), ms)));
  const settled = Promise.allSettled(tasks).then(() => true);
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    cancel?.();
  }
}
