import { errorClassName } from '../errors/error-text.js';
import type { EventBus } from '../events/event-bus.js';
import { JobFailed } from '../events/job-failed.js';
import { JobProcessed } from '../events/job-processed.js';
import { JobProcessing } from '../events/job-processing.js';
import { JobReleasedAfterException } from '../events/job-released-after-exception.js';
import { JobTimedOut } from '../events/job-timed-out.js';
import { WorkerPausing } from '../events/worker-pausing.js';
import { WorkerQueuePaused } from '../events/worker-queue-paused.js';
import { WorkerQueueResumed } from '../events/worker-queue-resumed.js';
import { WorkerResuming } from '../events/worker-resuming.js';
import { WorkerStarting } from '../events/worker-starting.js';
import { WorkerStopping } from '../events/worker-stopping.js';
import type { WorkerJob } from '../execution/worker-job.js';

type Fields = Record<string, unknown>;

function jobFields(job: WorkerJob): Fields {
  return {
    id: job.id,
    uuid: job.uuid ?? null,
    connection: job.connectionName,
    queue: job.queue,
    job: job.displayName,
    attempts: job.attempts,
  };
}

/**
 * `queue:work --json`: one JSON object per line for each worker event, for log shippers. Job lines
 * carry Laravel's fields (`level`, `id`, `uuid`, `connection`, `queue`, `job`, `status`, `result`,
 * `attempts`, `exception`, `message`, `duration` in seconds, `timestamp`). Returns a function that
 * stops printing.
 */
export function attachJsonOutput(
  events: EventBus,
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): () => void {
  const emit = (level: 'info' | 'warning' | 'error', fields: Fields) =>
    write(JSON.stringify({ level, ...fields, timestamp: new Date().toISOString() }));
  const off = [
    events.on(WorkerStarting, (e) =>
      emit('info', {
        status: 'worker_starting',
        connection: e.connectionName,
        queues: e.queues,
        worker: e.workerId,
        name: e.options.name,
        concurrency: e.options.concurrency,
        pid: process.pid,
      }),
    ),
    events.on(JobProcessing, (e) => emit('info', { ...jobFields(e.job), status: 'starting' })),
    events.on(JobProcessed, (e) =>
      emit('info', { ...jobFields(e.job), status: 'success', result: e.result, duration: e.durationMs / 1000 }),
    ),
    events.on(JobReleasedAfterException, (e) =>
      emit('warning', {
        ...jobFields(e.job),
        status: 'released_after_exception',
        result: 'released',
        exception: errorClassName(e.error),
        message: e.error.message,
        backoff: e.backoff,
        duration: e.durationMs / 1000,
      }),
    ),
    events.on(JobFailed, (e) =>
      emit('error', {
        ...jobFields(e.job),
        status: 'failed',
        result: 'failed',
        exception: errorClassName(e.error),
        message: e.error.message,
        duration: e.durationMs / 1000,
      }),
    ),
    events.on(JobTimedOut, (e) => emit('warning', { ...jobFields(e.job), status: 'timed_out', timeout: e.timeout })),
    events.on(WorkerPausing, (e) => emit('info', { status: 'worker_pausing', connection: e.connectionName })),
    events.on(WorkerResuming, (e) => emit('info', { status: 'worker_resuming', connection: e.connectionName })),
    events.on(WorkerQueuePaused, (e) =>
      emit('info', { status: 'queue_paused', connection: e.connectionName, queue: e.queue }),
    ),
    events.on(WorkerQueueResumed, (e) =>
      emit('info', { status: 'queue_resumed', connection: e.connectionName, queue: e.queue }),
    ),
    events.on(WorkerStopping, (e) =>
      emit('info', {
        status: 'worker_stopping',
        reason: e.reason,
        exit_status: e.status,
        jobs_processed: e.jobsProcessed,
        memory_mb: Math.round(e.memoryMb * 10) / 10,
      }),
    ),
  ];
  return () => off.forEach((f) => f());
}
