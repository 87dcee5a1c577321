import { JobQueued } from '../events/job-queued.js';
import { PayloadError } from '../errors/payload-error.js';
import { effectiveOptions, encodePayload, registeredJobOf, serializePayload } from '../payload/encode-payload.js';
import { events, runtime } from '../runtime/errand.js';
import type { DispatchOptions } from './dispatch-options.js';

/**
 * Encodes a job and stores it on its connection (the dispatch override, else the class option,
 * else the default connection); resolves to the job id.
 */
export async function pushToQueue(job: object, dispatch: DispatchOptions): Promise<string> {
  const app = await runtime();
  const entry = registeredJobOf(job);
  const options = effectiveOptions(entry, dispatch.options);
  const connectionName = dispatch.connection ?? options.connection ?? app.config.default;
  const driver = app.queues.connection(connectionName);
  const queue = dispatch.queue ?? options.queue ?? driver.defaultQueue;
  validateDelay(entry.name, dispatch.delay);
  const payload = encodePayload(job, options, { delay: dispatch.delay, keyring: app.config.keyring });
  const id = await driver.push({ queue, payload: serializePayload(payload, app.config.maxPayloadSize), delay: dispatch.delay });
  if (events.has(JobQueued)) await events.emit(new JobQueued(connectionName, queue, id, payload, dispatch.delay));
  return id;
}

/** Runs a job now through the sync path: the same payload round trip, failed() on error, error thrown. */
export async function runNow(job: object, dispatch: DispatchOptions): Promise<void> {
  const app = await runtime();
  const options = effectiveOptions(registeredJobOf(job), dispatch.options);
  const payload = encodePayload(job, options, { keyring: app.config.keyring });
  await app.queues.sync().push({ queue: 'sync', payload: serializePayload(payload, app.config.maxPayloadSize) });
}

function validateDelay(jobName: string, delay: number | Date | undefined): void {
  if (delay === undefined) return;
  const ok = delay instanceof Date ? !Number.isNaN(delay.getTime()) : Number.isFinite(delay) && delay >= 0;
  if (!ok) throw new PayloadError(`Job ${jobName}: delay must be seconds ≥ 0 or a valid Date, got ${String(delay)}.`);
}
