import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';

import type { ResolvedConfig } from '../../config/config-types.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';
import type { Controls, WorkerQueue, WorkerRegistration } from '../../contracts/worker-queue.js';
import { ErrandError } from '../../errors/errand-error.js';
import { processMetrics } from '../../metrics/process-metrics.js';
import type { FromMonitor, MonitorData, ToMonitor } from './monitor-messages.js';
import { RunningJobsTable } from './running-jobs-table.js';

/** How long past its deadline a job may wedge the event loop before the watchdog ends the process. */
export const WATCHDOG_GRACE_MS = 5000;

/** How long `forget`s gather before they are sent to the thread together. */
const FORGET_DELAY_MS = 100;

/** What the worker hears from its monitor. */
export interface MonitorListener {
  /** The controls as read: first by `Monitor.start` (awaited, before the thread runs), then as they change. */
  controls(controls: Controls): void | Promise<void>;
  swept(jobs: number): void;
  leaseLost(): void;
  error(error: Error, fatal: boolean): void;
}

/** How to start a monitor. */
export interface MonitorOptions {
  config: ResolvedConfig;
  connectionName: string;
  registration: WorkerRegistration;
  heartbeat: { interval: number; lapse: number } | false;
  listener: MonitorListener;
  /** How many handlers run at once at most (the worker's concurrency): the running-jobs table's size. */
  slots: number;
  /** The worker's `tries` and `backoff`, which decide what the watchdog does with a job it blames. */
  jobDefaults: { tries: number; backoff: number };
}

/** What `Monitor.start` needs besides the worker's registration. */
export interface MonitorStartOptions {
  /** The worker's queue: its registrations, leases and controls are what the monitor watches. */
  driver: WorkerQueue;
  /** The resolved configuration: the thread opens its own connection from it. */
  config: ResolvedConfig | undefined;
  jobDefaults: { tries: number; backoff: number };
  listener: MonitorListener;
}

/**
 * The main thread's side of the monitor thread: tells it which jobs this worker holds and runs,
 * and beats a shared clock while the event loop turns, so the thread can tell a wedged loop from
 * a busy one.
 */
export class Monitor {
  private thread: Thread | undefined;
  private beatTimer: NodeJS.Timeout | undefined;
  private pending: ToMonitor[] = [];
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly beat = new SharedArrayBuffer(8);
  /**
   * The jobs whose handlers run, shared with the thread's watchdog: the processor writes each
   * attempt's start and end here. No message: see RunningJobsTable.
   */
  readonly running: RunningJobsTable;
  private readonly lease = new Float64Array(new SharedArrayBuffer(2 * Float64Array.BYTES_PER_ELEMENT));
  private stopped: Promise<void> | undefined;
  private exited: Promise<void> | undefined;

  constructor(private readonly options: MonitorOptions) {
    this.running = new RunningJobsTable(RunningJobsTable.allocate(options.slots));
  }

  /**
   * Starts the monitor of the worker `registration` describes, when it can have one (a
   * configuration to open the thread's own connection from, and a store that connection can
   * reach: not an in-memory SQLite). Registers the worker and reads the controls on
   * this thread's own connection, hands the controls to the listener, then starts the thread and
   * resolves without waiting for it, so claiming can begin while it loads: until it is ready, its
   * messages wait in its port. A thread that fails to start reaches the listener as a fatal error.
   */
  static async start(registration: WorkerRegistration, options: MonitorStartOptions): Promise<Monitor | undefined> {
    const { driver, listener } = options;
    // The thread opens its own connection from the configuration: a store it cannot reach goes unmonitored.
    if (!options.config || !driver.reachableFromOtherThreads) return undefined;
    const monitor = new Monitor({
      config: options.config,
      connectionName: registration.connection,
      heartbeat: driver.leases.heartbeat,
      slots: registration.concurrency,
      jobDefaults: options.jobDefaults,
      registration,
      listener,
    });
    if (driver.leases.heartbeat !== false) {
      const sentAt = Date.now();
      await driver.registerWorker(registration);
      monitor.registered(sentAt);
    }
    await listener.controls(await driver.controls());
    monitor.startThread().catch((error: unknown) => {
      listener.error(error instanceof Error ? error : new Error(String(error)), true);
    });
    return monitor;
  }

  /**
   * Starts the thread; resolves once it has swept dead workers and begun its heartbeats. The
   * worker is registered first: jobs may be claimed (and held here) before this resolves.
   */
  private startThread(): Promise<void> {
    const clock = new Float64Array(this.beat);
    clock[0] = Date.now();
    this.beatTimer = setInterval(() => (clock[0] = Date.now()), 250);
    this.beatTimer.unref();
    const { report: _report, ...config } = this.options.config;
    const data: MonitorData = {
      config,
      connectionName: this.options.connectionName,
      registration: this.options.registration,
      heartbeat: this.options.heartbeat,
      pollInterval: 3,
      watchdogGraceMs: WATCHDOG_GRACE_MS,
      loopBeat: this.beat,
      lease: this.lease.buffer as SharedArrayBuffer,
      running: this.running.memory,
      jobDefaults: this.options.jobDefaults,
    };
    const thread = new Thread(threadEntry(), { workerData: data });
    this.thread = thread;
    this.exited = new Promise((resolve) => thread.once('exit', () => resolve()));
    return new Promise((resolve, reject) => {
      let ready = false;
      thread.on('message', (message: FromMonitor) => {
        const listener = this.options.listener;
        switch (message.type) {
          case 'ready':
            ready = true;
            resolve();
            break;
          case 'controls':
            void listener.controls(message.controls);
            break;
          case 'swept':
            if (processMetrics) {
              for (const [queue, jobs] of Object.entries(message.byQueue))
                processMetrics.recovered(this.options.connectionName, queue, jobs);
            }
            listener.swept(message.jobs);
            break;
          case 'lease-lost':
            listener.leaseLost();
            break;
          case 'error': {
            const error = new ErrandError(message.message);
            // Only a fatal error stops the start: the first sweep failing (the store away while the
            // thread starts) is reported and tried again on the next beat, as at any other time.
            if (!ready && message.fatal) reject(error);
            else listener.error(error, message.fatal);
            break;
          }
        }
      });
      thread.on('error', (error) => (ready ? this.options.listener.error(error, true) : reject(error)));
      thread.on('exit', (code) => {
        if (!ready) reject(new ErrandError(`The worker's monitor thread exited (status ${code}) before it started.`));
      });
    });
  }

  /** The worker was registered by a statement sent at `sentAt`: its row stands for the lapse from then. */
  registered(sentAt: number): void {
    if (this.options.heartbeat !== false) this.lease[0] = sentAt + this.options.heartbeat.lapse * 1000;
  }

  /** How many times the lease was found lost: jobs claimed under an earlier count are no longer ours. */
  get leaseEpoch(): number {
    return this.lease[1]!;
  }

  /**
   * Whether the worker's row surely still stands, so no other worker can have swept its jobs:
   * the last confirmed heartbeat was sent less than the lapse ago. Without heartbeats there is no
   * row, and each job's lease is its own `retryAfter`.
   */
  leaseHeld(now = Date.now()): boolean {
    return this.options.heartbeat === false || now < this.lease[0]!;
  }

  /**
   * Jobs just taken by claim number `claim` (the worker numbers its claims): their leases are
   * renewed with every heartbeat until forgotten.
   */
  hold(jobs: readonly ReservedJob[], claim: number): void {
    // The thread renews and hands back by id and attempt (the holder is this worker): two flat
    // lists clone far faster than hundreds of objects.
    if (jobs.length > 0)
      this.post({ type: 'hold', ids: jobs.map((job) => job.id), attempts: jobs.map((job) => job.attempts), claim });
  }

  /**
   * Jobs finished or handed back: no longer this worker's. Each id comes with the claim it was
   * held under, so a late forget cannot drop the lease of the same row claimed here again since.
   */
  forget(ids: readonly string[], claims: readonly number[]): void {
    if (ids.length > 0) this.post({ type: 'forget', ids: [...ids], claims: [...claims] });
  }

  /** Stops the thread; `deregister` removes the worker's row (a clean exit). */
  stop(deregister = true): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.beatTimer);
      const thread = this.thread;
      if (!thread) return;
      this.post({ type: 'stop', deregister });
      const timer = setTimeout(() => void thread.terminate(), 10_000);
      // Already over when the thread died of an error: waiting for a second 'exit' would hang.
      await this.exited;
      clearTimeout(timer);
    })();
    return this.stopped;
  }

  /**
   * `hold` and `stop` go at once, after anything queued before them: a job just claimed may block
   * the event loop as soon as it starts, and the watchdog must then know which other jobs to hand
   * back. `forget`s are queued and sent together every FORGET_DELAY_MS.
   */
  private post(message: ToMonitor): void {
    if (!this.thread) return;
    if (message.type === 'hold' || message.type === 'stop') {
      this.flush();
      this.thread.postMessage(message);
      return;
    }
    this.pending.push(message);
    // A forget that arrives late only means a heartbeat renews a lease on a row already gone or
    // handed back, which the fence makes a no-op; a message per turn cost more than the jobs.
    this.flushTimer ??= setTimeout(() => this.flush(), FORGET_DELAY_MS).unref();
  }

  private flush(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.pending.length === 0) return;
    const messages = this.pending;
    this.pending = [];
    this.thread?.postMessage(messages.length === 1 ? messages[0]! : { type: 'batch', messages });
  }
}

/**
 * The compiled thread script. Under vitest the sources run as TypeScript, which a worker thread
 * cannot load, so the build output is used (`npm test` builds first).
 */
function threadEntry(): URL {
  const here = fileURLToPath(import.meta.url);
  const sibling = path.join(path.dirname(here), 'monitor-thread.js');
  if (existsSync(sibling)) return pathToFileURL(sibling);
  return pathToFileURL(path.resolve(path.dirname(here), '../../../dist/worker/monitor/monitor-thread.js'));
}
