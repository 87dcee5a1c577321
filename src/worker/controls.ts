import type { Controls } from '../contracts/worker-queue.js';
import type { EventBus } from '../events/event-bus.js';
import { WorkerPausing } from '../events/worker-pausing.js';
import { WorkerQueuePaused } from '../events/worker-queue-paused.js';
import { WorkerQueueResumed } from '../events/worker-queue-resumed.js';
import { WorkerResuming } from '../events/worker-resuming.js';
import type { PrefetchBuffer } from './prefetch-buffer.js';

/** What a worker's controls are built from. */
export interface WorkerControlsDeps {
  connectionName: string;
  /** The queues the worker works: a pause of any other queue is not its business. */
  queues: readonly string[];
  events: EventBus;
  /** Where the prefetched jobs wait: those a pause holds up are handed back, never started. */
  buffer: PrefetchBuffer;
  /** Wakes the worker's loop. */
  wake: () => void;
}

/**
 * What tells a worker to hold off or to go: the pause signals (SIGUSR2, SIGCONT), the queues
 * `queue:pause` paused and the `queue:restart` counter, as the monitor reads them. A paused
 * worker or queue claims nothing, and its prefetched jobs go back for other workers.
 */
export class WorkerControls {
  private signalPaused = false;
  private paused = new Set<string>();
  /** The restart counter when the worker started; undefined until the first controls are read. */
  private restartAt: number | undefined;
  private restart = false;

  constructor(private readonly deps: WorkerControlsDeps) {}

  /** Whether SIGUSR2 paused the worker (until SIGCONT). */
  get pausedBySignal(): boolean {
    return this.signalPaused;
  }

  /** The worker's queues that `queue:pause` paused. */
  get pausedQueues(): ReadonlySet<string> {
    return this.paused;
  }

  /** Whether `queue:restart` was called since the worker started. */
  get restartRequested(): boolean {
    return this.restart;
  }

  /** SIGUSR2: stop claiming until resume(); running jobs carry on. */
  pause(): void {
    if (this.signalPaused) return;
    this.signalPaused = true;
    // Prefetched jobs would wait here for as long as the pause lasts: other workers may run them.
    this.deps.buffer.handBack(() => true);
    void this.deps.events.emit(new WorkerPausing(this.deps.connectionName));
  }

  /** SIGCONT: claim again. */
  resume(): void {
    if (!this.signalPaused) return;
    this.signalPaused = false;
    void this.deps.events.emit(new WorkerResuming(this.deps.connectionName));
    this.deps.wake();
  }

  /**
   * Applies controls as read: the first read (at start) sets the restart counter to compare
   * against, a later change of it asks for a restart, and each pause or resume of one of the
   * worker's queues is announced.
   */
  async apply(controls: Controls): Promise<void> {
    if (this.restartAt === undefined) {
      this.restartAt = controls.restart;
    } else if (controls.restart !== this.restartAt) {
      this.restart = true;
      this.deps.wake();
    }
    const now = new Set(controls.paused.filter((queue) => this.deps.queues.includes(queue)));
    // Prefetched jobs of a queue just paused have not started: they must not start now.
    this.deps.buffer.handBack((job) => now.has(job.queue));
    for (const queue of now) {
      if (!this.paused.has(queue)) await this.deps.events.emit(new WorkerQueuePaused(this.deps.connectionName, queue));
    }
    for (const queue of this.paused) {
      if (!now.has(queue)) {
        await this.deps.events.emit(new WorkerQueueResumed(this.deps.connectionName, queue));
        this.deps.wake();
      }
    }
    this.paused = now;
  }

  /** Hands back the buffered jobs a pause holds up, such as one that arrived while a claim was in flight. */
  handBackPaused(): void {
    if (this.signalPaused) this.deps.buffer.handBack(() => true);
    else if (this.paused.size > 0) this.deps.buffer.handBack((job) => this.paused.has(job.queue));
  }
}
