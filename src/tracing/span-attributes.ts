// Attribute names of errand's spans: the OpenTelemetry messaging semantic conventions where they
// have one, `errand.*` for what they do not cover.

/** `messaging.system`: always `errand`. */
export const MESSAGING_SYSTEM = 'messaging.system';
/** `messaging.destination.name`: the queue. */
export const DESTINATION_NAME = 'messaging.destination.name';
/** `messaging.message.id`: the payload's uuid, the same on every attempt and across retries. */
export const MESSAGE_ID = 'messaging.message.id';
/** `messaging.operation.type`: `send` at dispatch, `process` per attempt. */
export const OPERATION_TYPE = 'messaging.operation.type';
/** `messaging.operation.name`: errand's own name of the operation, the same words as the type. */
export const OPERATION_NAME = 'messaging.operation.name';
/** `errand.job.name`: the registered job name (`payload.data.commandName`), `unknown` when unreadable. */
export const JOB_NAME = 'errand.job.name';
/** `errand.job.attempt`: the attempt's number, from 1. */
export const JOB_ATTEMPT = 'errand.job.attempt';
/** `errand.connection`: the connection's name in the config. */
export const CONNECTION = 'errand.connection';

/** The job name spans and metrics use for a payload that could not be read. */
export const UNKNOWN_JOB = 'unknown';
