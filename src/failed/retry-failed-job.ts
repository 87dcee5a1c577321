import { ConfigError } from '../errors/config-error.js';
import type { ErrandRuntime } from '../runtime/errand.js';

/**
 * Pushes a failed job back onto the connection and queue it failed on, with its attempts reset
 * and its payload (and uuid) unchanged, as Laravel's `queue:retry` does; then forgets the failed
 * record. Resolves to the new job id. The push comes first: a crash in between leaves the record
 * to retry again, never a job lost.
 */
export async function retryFailedJob(app: ErrandRuntime, uuid: string): Promise<string> {
  const failer = app.queues.failer();
  const record = await failer.find(uuid);
  if (!record) throw new ConfigError(`No failed job has the uuid [${uuid}].`);
  if (!app.config.connections[record.connection]) {
    throw new ConfigError(`Failed job [${uuid}] ran on connection [${record.connection}], which is no longer configured.`);
  }
  const id = await app.queues.connection(record.connection).push({ queue: record.queue, payload: record.payload });
  await failer.forget(uuid);
  return id;
}
