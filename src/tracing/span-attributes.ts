import type { Attributes } from '@opentelemetry/api';

import type { ReservedJob } from '../contracts/reserved-job.js';
import type { JobPayload } from '../payload/job-payload.js';

// The attributes of errand's spans: the OpenTelemetry messaging semantic conventions where they
// have a name, `errand.*` for what they do not cover. Written as literals with their names spelled
// out (not computed keys): they are built for every job, and a literal is the cheapest object.

/** The job name spans use for a payload that could not be read. */
export const UNKNOWN_JOB = 'unknown';

/**
 * A send span's attributes: `messaging.system` (always `errand`), `messaging.destination.name`
 * (the queue), `messaging.message.id` (the payload's uuid, the same on every attempt and across
 * retries), `messaging.operation.type` and `messaging.operation.name` (`send`), `errand.job.name`
 * (the registered name, `payload.data.commandName`) and `errand.connection`.
 */
export function sendAttributes(connection: string, queue: string, payload: JobPayload): Attributes {
  return {
    'messaging.system': 'errand',
    'messaging.destination.name': queue,
    'messaging.message.id': payload.uuid,
    'messaging.operation.type': 'send',
    'messaging.operation.name': 'send',
    // A retried payload is stored text, from any producer: it may lack what errand writes.
    'errand.job.name': payload.data?.commandName ?? UNKNOWN_JOB,
    'errand.connection': connection,
  };
}

/**
 * An attempt's span attributes: those of {@link sendAttributes} with the operation `process`, and
 * `errand.job.attempt` (from 1). An unreadable payload has job `unknown` and no message id.
 */
export function processAttributes(
  connection: string,
  reserved: ReservedJob,
  payload: JobPayload | undefined,
): Attributes {
  return payload
    ? {
        'messaging.system': 'errand',
        'messaging.destination.name': reserved.queue,
        'messaging.message.id': payload.uuid,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'errand.job.name': payload.data.commandName,
        'errand.job.attempt': reserved.attempts,
        'errand.connection': connection,
      }
    : {
        'messaging.system': 'errand',
        'messaging.destination.name': reserved.queue,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'errand.job.name': UNKNOWN_JOB,
        'errand.job.attempt': reserved.attempts,
        'errand.connection': connection,
      };
}
