import { DatabaseQueue } from '../drivers/database/database-queue.js';
import { JobQueued } from '../events/job-queued.js';
import { ConfigError } from '../errors/config-error.js';
import type { ChainLink, JobPayload } from '../payload/job-payload.js';
import { serializePayload } from '../payload/encode-payload.js';
import { events, runtime } from '../runtime/errand.js';
import type { BatchOptions } from './batch-options.js';
import { encodeLink } from './chain-link.js';

/** A batch's jobs, frozen: a link per job, or a list of links for a chain inside the batch. */
export type BatchEntries = Array<ChainLink | ChainLink[]>;

/** Freezes jobs (or arrays of jobs: chains) for a batch; their data is checked now. */
export async function encodeBatchJobs(items: ReadonlyArray<object | readonly object[]>, what: string): Promise<BatchEntries> {
  const app = await runtime();
  const encoding = { keyring: app.config.keyring, maxPayloadSize: app.config.maxPayloadSize };
  return items.map((item, i) => {
    if (Array.isArray(item)) return item.map((job: object) => encodeLink(job, encoding));
    if (item === null || typeof item !== 'object') throw new ConfigError(`${what}: entry ${i} is not a job or a chain of jobs.`);
    return encodeLink(item as object, encoding);
  });
}

/** Encodes and pushes jobs into an existing batch (`batch.add`). */
export async function addToBatch(batchId: string, options: BatchOptions, items: ReadonlyArray<object | readonly object[]>): Promise<void> {
  await pushBatchJobs(batchId, options, await encodeBatchJobs(items, `Batch ${batchId}`));
}

/**
 * Pushes a batch's jobs and counts them. Where the jobs and the batch share a database, the
 * INSERT and the count commit together (the count last, so the batch row is locked only for the
 * commit); elsewhere the count goes first, so a fast job never sees the batch short of itself.
 */
export async function pushBatchJobs(batchId: string, options: BatchOptions, entries: BatchEntries): Promise<number> {
  const app = await runtime();
  const repository = app.queues.batches();
  const groups = new Map<string, Array<{ queue: string; payload: JobPayload; delay?: number; jobs: number }>>();
  for (const entry of entries) {
    const links = Array.isArray(entry) ? entry : [entry];
    const [first, ...rest] = links;
    if (!first) continue;
    for (const link of links) link.payload.batchId = batchId;
    const payload: JobPayload = {
      ...first.payload,
      ...(rest.length > 0 ? { chained: rest } : {}),
      ...(options.connection ? { chainConnection: options.connection } : {}),
      ...(options.queue ? { chainQueue: options.queue } : {}),
    };
    const connection = first.connection ?? options.connection ?? app.config.default;
    const queue = first.queue ?? options.queue ?? app.queues.connection(connection).defaultQueue;
    const group = groups.get(connection) ?? [];
    group.push({ queue, payload, delay: first.delay ?? undefined, jobs: links.length });
    groups.set(connection, group);
  }
  let total = 0;
  for (const [connection, group] of groups) {
    const driver = app.queues.connection(connection);
    const count = group.reduce((sum, g) => sum + g.jobs, 0);
    const requests = group.map((g) => ({ queue: g.queue, payload: serializePayload(g.payload, app.config.maxPayloadSize), delay: g.delay }));
    let ids: string[];
    if (driver instanceof DatabaseQueue && driver.knex === repository.knex) {
      ids = await repository.knex.transaction(async (trx) => {
        const stored = await driver.bulk(requests.map((request) => ({ ...request, transaction: trx })));
        await repository.addJobs(batchId, count, trx);
        return stored;
      });
    } else {
      await repository.addJobs(batchId, count);
      try {
        ids = await driver.bulk(requests);
      } catch (error) {
        await repository.addJobs(batchId, -count).catch(() => undefined);
        throw error;
      }
    }
    total += count;
    if (events.has(JobQueued)) {
      for (const [i, g] of group.entries()) await events.emit(new JobQueued(connection, g.queue, ids[i]!, g.payload, g.delay));
    }
  }
  return total;
}
