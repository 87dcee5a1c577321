import { randomUUID } from 'node:crypto';

import type { DependencyContainer } from 'tsyringe';

import type { FailedJobStore } from '../contracts/failed-job-store.js';
import type { QueueDriver } from '../contracts/queue-driver.js';
import type { ReservedJob } from '../contracts/reserved-job.js';
import { MissingTableError } from '../errors/missing-table-error.js';
import type { EventBus } from '../events/event-bus.js';
import { WorkerStopping } from '../events/worker-stopping.js';
import { JobProcessor } from './job-processor.js';
import { Sleeper } from './sleeper.js';
import { stopReason, stopStatus, type WorkerStopReason } from './stop-conditions.js';
import { WORKER_DEFAULTS, type WorkerOptions } from './worker-options.js';

/** What a worker is built from; `createWorker()` assembles it from the booted runtime. */
export interface WorkerDeps {
  driver: QueueDriver;
  failer: FailedJobStore;
  events: EventBus;
  container: DependencyContainer;
  report: (error: unknown) => void;
}

/**
 * The `queue:work` loop: claim the next job (queues in priority order), process it, check the
 * stop conditions, sleep when idle. `run()` resolves to the exit status.
 */
export class Worker {
  readonly options: WorkerOptions;
  readonly queues: string[];
  private readonly processor: JobProcessor;
  private readonly sleeper = new Sleeper();
  private readonly stopController = new AbortController();
  private jobsProcessed = 0;
  private running = false;

  constructor(
    private readonly deps: WorkerDeps,
    options: Partial<WorkerOptions> = {},
  ) {
    this.options = { ...WORKER_DEFAULTS, ...options };
    this.queues = this.options.queues?.length ? this.options.queues : [deps.driver.defaultQueue];
    this.processor = new JobProcessor({ ...deps, options: this.options, stopSignal: this.stopController.signal });
  }

  /** Runs until a stop condition holds; resolves to the exit status (0, or 12 for memory). */
  async run(): Promise<number> {
    if (this.running) throw new Error('This worker is already running.');
    this.running = true;
    const startedAt = Date.now();
    try {
      for (;;) {
        const job = this.stopController.signal.aborted ? undefined : await this.nextJob();
        if (job) {
          this.jobsProcessed++;
          await this.processJob(job);
          await this.sleeper.sleep(this.options.rest);
        }
        const reason = stopReason(this.options, {
          stopRequested: this.stopController.signal.aborted,
          jobsProcessed: this.jobsProcessed,
          lastIterationHadJob: job !== undefined,
          startedAt,
          now: Date.now(),
          memoryMb: process.memoryUsage().rss / 1024 / 1024,
        });
        if (reason) return await this.stopWith(reason);
        if (!job) await this.sleeper.sleep(this.options.sleep);
      }
    } finally {
      this.running = false;
    }
  }

  /** Asks the worker to stop after the job in hand; an idle sleep ends at once. */
  stop(): void {
    this.stopController.abort(new Error('The worker is stopping.'));
    this.sleeper.wake();
  }

  /** Claims one job from the first queue that has one, in priority order. */
  private async nextJob(): Promise<ReservedJob | undefined> {
    try {
      for (const queue of this.queues) {
        const [job] = await this.deps.driver.claim(queue, 1, randomUUID());
        if (job) return job;
      }
    } catch (error) {
      // Missing tables will not fix themselves: stop and say so.
      if (error instanceof MissingTableError) throw error;
      // The database may come back; report and try again after a short pause.
      this.deps.report(error);
      await this.sleeper.sleep(1);
    }
    return undefined;
  }

  private async processJob(job: ReservedJob): Promise<void> {
    try {
      await this.processor.process(job);
    } catch (error) {
      // A finishing write failed (database gone): the lease lapses and the job is claimed again.
      this.deps.report(error);
    }
  }

  private async stopWith(reason: WorkerStopReason): Promise<number> {
    const status = stopStatus(reason);
    await this.deps.events.emit(new WorkerStopping(status, reason, this.jobsProcessed));
    return status;
  }
}
