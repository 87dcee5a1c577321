import type { BatchRow } from '../contracts/batch-repository.js';
import type { StoredFailedJob } from '../contracts/failed-job-store.js';
import type { InspectedJob, InspectedWorker } from '../contracts/queue-inspector.js';
import type { BatchBody, JobBody, WorkerBody } from './api-types.js';
import { redactJobPayload, scrubText } from './redact-payload.js';

interface PayloadFacts {
  displayName?: unknown;
  batchId?: unknown;
  chained?: unknown;
}

function facts(payload: string): PayloadFacts {
  try {
    const parsed: unknown = JSON.parse(payload);
    return parsed && typeof parsed === 'object' ? (parsed as PayloadFacts) : {};
  } catch {
    return {};
  }
}

function chainedNames(chained: unknown): string[] {
  if (!Array.isArray(chained)) return [];
  return chained.map((link: { payload?: unknown }) => {
    const payload = link?.payload;
    const inner = typeof payload === 'string' ? facts(payload) : ((payload ?? {}) as PayloadFacts);
    return typeof inner.displayName === 'string' ? inner.displayName : '?';
  });
}

/** The detail fields of a job: its payload redacted, its batch and the chain still to run. */
function detail(payload: string, redact: readonly string[]): Pick<JobBody, 'payload' | 'batchId' | 'chained'> {
  const found = facts(payload);
  return {
    payload: redactJobPayload(payload, redact).shown,
    batchId: typeof found.batchId === 'string' ? found.batchId : null,
    chained: chainedNames(found.chained),
  };
}

/** A stored job as the API shows it; with `redact`, its detail too. */
export function jobBody(connection: string, job: InspectedJob, redact?: readonly string[]): JobBody {
  return {
    connection,
    id: job.id,
    queue: job.queue,
    state: job.state,
    name: job.name,
    attempts: job.attempts,
    createdAt: job.createdAt,
    availableAt: job.availableAt,
    reservedAt: job.reservedAt,
    reservedBy: job.reservedBy,
    ...(redact ? detail(job.payload, redact) : {}),
  };
}

/**
 * A failed job as the API shows it: in a list, the exception's first line; with `detail`, the
 * whole exception and the redacted payload. The exception is scrubbed either way of the values
 * the payload's redaction hid and of credentials: exceptions often quote the job's data.
 */
export function failedJobBody(record: StoredFailedJob, redact: readonly string[], withDetail = false): JobBody {
  const name = facts(record.payload).displayName;
  const exception = scrubText(record.exception, redactJobPayload(record.payload, redact).hidden, redact);
  return {
    connection: record.connection,
    id: record.id,
    uuid: record.uuid,
    queue: record.queue,
    state: 'failed',
    name: typeof name === 'string' ? name : null,
    // failed_jobs keeps no attempt count: null says unknown where 0 would say never tried
    attempts: null,
    createdAt: null,
    availableAt: null,
    reservedAt: null,
    reservedBy: null,
    failedAt: Math.floor(record.failedAt.getTime() / 1000),
    exception: withDetail ? exception : (exception.split('\n', 1)[0] ?? ''),
    ...(withDetail ? detail(record.payload, redact) : {}),
  };
}

function seconds(value: number | string | null): number | null {
  if (value === null) return null;
  const n = Number(value);
  return Number.isFinite(n) ? n : Math.floor(new Date(value).getTime() / 1000);
}

/** A batch row as the API shows it. */
export function batchBody(row: BatchRow): BatchBody {
  const total = Number(row.total_jobs);
  const pending = Number(row.pending_jobs);
  let failedJobIds: string[] = [];
  try {
    failedJobIds = JSON.parse(row.failed_job_ids || '[]') as string[];
  } catch {
    failedJobIds = [];
  }
  return {
    id: row.id,
    name: row.name,
    totalJobs: total,
    pendingJobs: pending,
    failedJobs: Number(row.failed_jobs),
    processedJobs: total - pending,
    progress: total > 0 ? Math.round(((total - pending) / total) * 100) : 0,
    failedJobIds,
    createdAt: seconds(row.created_at) ?? 0,
    finishedAt: seconds(row.finished_at),
    cancelledAt: seconds(row.cancelled_at),
  };
}

/** A registered worker as the API shows it; `now` is the store's clock. */
export function workerBody(worker: InspectedWorker, now: number): WorkerBody {
  return {
    connection: worker.connection,
    id: worker.id,
    name: worker.name,
    hostname: worker.hostname,
    pid: worker.pid,
    queues: [...worker.queues],
    concurrency: worker.concurrency,
    busySlots: worker.jobs.length,
    startedAt: worker.startedAt,
    heartbeatAge: Math.max(0, Math.round(now - worker.lastHeartbeatAt)),
    status: worker.lost ? 'lost' : 'live',
    jobs: [...worker.jobs],
  };
}
