import { openMetricsRepository } from '../drivers/connect.js';
import { type ErrandRuntime, events, report, runtime } from '../runtime/current.js';
import { Worker } from './worker.js';
import type { WorkerOptions } from './worker-options.js';

/** A worker created before errand has booted; it boots (if needed) when it starts running. */
export interface WorkerHandle {
  /** Runs the loop; resolves to the exit status once a stop condition holds. */
  run(): Promise<number>;
  /** Stops claiming; in-flight jobs finish (their signals abort after the grace). */
  stop(): void;
  /** Stops claiming until resume(). */
  pause(): void;
  resume(): void;
}

/**
 * The same worker `errand queue:work` runs, for use in-process:
 * `const status = await createWorker({ queues: ['high', 'default'], stopWhenEmpty: true }).run()`.
 */
export function createWorker(options: Partial<WorkerOptions> = {}): WorkerHandle {
  let worker: Worker | undefined;
  let stopped = false;
  return {
    async run() {
      worker = buildWorker(await runtime(), options);
      if (stopped) worker.stop();
      return worker.run();
    },
    stop() {
      stopped = true;
      worker?.stop();
    },
    pause() {
      worker?.pause();
    },
    resume() {
      worker?.resume();
    },
  };
}

/**
 * A worker on the booted runtime `app`: its connection `options.connection` (default the
 * configured default), its failed-job store, container and configuration. `createWorker()` and
 * `queue:work` both build their worker here.
 */
export function buildWorker(app: ErrandRuntime, options: Partial<WorkerOptions> = {}): Worker {
  const driver = app.queues.worker(options.connection);
  const { metrics } = app.config;
  return new Worker(
    {
      driver,
      failer: app.queues.failer(),
      events,
      container: app.container,
      report,
      config: app.config,
      metrics: metrics.enabled
        ? { repository: openMetricsRepository(driver, metrics), retention: metrics.retention }
        : undefined,
    },
    options,
  );
}
