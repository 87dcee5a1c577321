import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker as Thread } from 'node:worker_threads';

import type { ResolvedConfig } from '../../config/config-types.js';
import type { ReservedJob } from '../../contracts/reserved-job.js';
import type { Controls } from '../../drivers/database/queries/controls.js';
import type { WorkerRegistration } from '../../drivers/database/queries/workers.js';
import { ErrandError } from '../../errors/errand-error.js';
import type { FromMonitor, MonitorData, ToMonitor, WatchedJob } from './monitor-messages.js';

/** How long past its deadline a job may wedge the event loop before the watchdog ends the process. */
export const WATCHDOG_GRACE_MS = 5000;

/** What the worker hears from its monitor. */
export interface MonitorListener {
  controls(controls: Controls): void;
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
  private flushTimer: NodeJS.Immediate | undefined;
  private readonly beat = new SharedArrayBuffer(8);
  private stopped: Promise<void> | undefined;

  constructor(private readonly options: MonitorOptions) {}

  /** Starts the thread; resolves once the worker is registered, with the current controls. */
  start(): Promise<Controls> {
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
    };
    const thread = new Thread(threadEntry(), { workerData: data });
    this.thread = thread;
    return new Promise((resolve, reject) => {
      let ready = false;
      thread.on('message', (message: FromMonitor) => {
        const listener = this.options.listener;
        switch (message.type) {
          case 'ready':
            ready = true;
            resolve(message.controls);
            break;
          case 'controls':
            listener.controls(message.controls);
            break;
          case 'swept':
            listener.swept(message.jobs);
            break;
          case 'lease-lost':
            listener.leaseLost();
            break;
          case 'error': {
            const error = new ErrandError(message.message);
            if (!ready) reject(error);
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

  /** Jobs just claimed: their leases are renewed with every heartbeat until forgotten. */
  hold(jobs: readonly ReservedJob[]): void {
    // The thread renews and hands back by id, holder and attempt: the payload need not be copied over.
    if (jobs.length > 0) this.post({ type: 'hold', jobs: jobs.map((job) => ({ ...job, payload: '' })) });
  }

  /** Jobs finished or handed back: no longer this worker's. */
  forget(ids: readonly string[]): void {
    if (ids.length > 0) this.post({ type: 'forget', ids: [...ids] });
  }

  /** A job started running. */
  watch(watched: WatchedJob): void {
    this.post({ type: 'watch', watched });
  }

  /** A job's attempt ended (its row may still be held until the finishing write lands). */
  unwatch(id: string): void {
    this.post({ type: 'unwatch', id });
  }

  /** Stops the thread; `deregister` removes the worker's row (a clean exit). */
  stop(deregister = true): Promise<void> {
    this.stopped ??= (async () => {
      clearInterval(this.beatTimer);
      const thread = this.thread;
      if (!thread) return;
      const exited = new Promise<void>((resolve) => thread.once('exit', () => resolve()));
      this.post({ type: 'stop', deregister });
      const timer = setTimeout(() => void thread.terminate(), 10_000);
      await exited;
      clearTimeout(timer);
    })();
    return this.stopped;
  }

  /**
   * `watch` and `stop` go at once, after anything queued before them: a handler that blocks the
   * event loop right after its watch must still be seen by the watchdog. The rest (hold, forget,
   * unwatch) are queued and sent together once per turn of the event loop.
   */
  private post(message: ToMonitor): void {
    if (!this.thread) return;
    if (message.type === 'watch' || message.type === 'stop') {
      this.flush();
      this.thread.postMessage(message);
      return;
    }
    this.pending.push(message);
    this.flushTimer ??= setImmediate(() => this.flush());
  }

  private flush(): void {
    if (this.flushTimer) clearImmediate(this.flushTimer);
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
