import { ConfigError } from '../errors/config-error.js';
import { JobQueued } from '../events/job-queued.js';
import { countDispatched } from '../metrics/process-metrics.js';
import { serializePayload } from '../payload/encode-payload.js';
import type { ChainLink, JobPayload } from '../payload/job-payload.js';
import { events, runtime } from '../runtime/current.js';
import { traceSend } from '../tracing/send-span.js';
import type { BatchOptions } from './batch-options.js';
import { encodeLink } from './chain-link.js';
import { describe } from './describe-value.js';

/** A batch's jobs, frozen: a link per job, or a list of links for a chain inside the batch. */
export type BatchEntries = Array<ChainLink | ChainLink[]>;

type Group = Array<{ queue: string; payload: JobPayload; delay?: number; jobs: number }>;

/** A batch push that failed part-way: `pushed` jobs are queued and counted. */
export class BatchPushError extends Error {
  constructor(
    cause: unknown,
    readonly pushed: number,
    total: number,
    batchId: string,
  ) {
    super(
      `Batch ${batchId}: ${pushed} of ${total} jobs were queued (and stay counted) before the push failed: ${(cause as Error)?.message ?? String(cause)}`,
      { cause },
    );
    this.name = 'BatchPushError';
  }
}

function requestsOf(group: Group, maxPayloadSize: number) {
  return group.map((g) => ({ queue: g.queue, payload: serializePayload(g.payload, maxPayloadSize), delay: g.delay }));
}

/** A group's jobs are stored: counted (each entry's first link; the rest follow as the chain moves), then announced. */
async function announce(connection: string, group: Group, ids: string[], inline: boolean): Promise<void> {
  for (const g of group) countDispatched(connection, g.queue, g.payload, inline);
  if (!events.has(JobQueued)) return;
  for (const [i, g] of group.entries())
    await events.emit(new JobQueued(connection, g.queue, ids[i]!, g.payload, g.delay));
}

/** Freezes jobs (or arrays of jobs: chains) for a batch; their data is checked now. */
export async function encodeBatchJobs(
  items: ReadonlyArray<object | readonly object[]>,
  what: string,
): Promise<BatchEntries> {
  const app = await runtime();
  const encoding = { keyring: app.config.keyring, maxPayloadSize: app.config.maxPayloadSize };
  const job = (value: unknown, at: string): object => {
    if (value === null || typeof value !== 'object')
      throw new ConfigError(`${what}: ${at} is ${describe(value)}, not a job.`);
    // A batch inside a batch is not something Laravel or errand runs: its jobs would belong to two batches.
    if (typeof (value as { toChainLink?: unknown }).toChainLink === 'function')
      throw new ConfigError(`${what}: ${at} is a batch; a batch holds jobs and chains of jobs, not batches.`);
    return value;
  };
  return items.map((item, i) => {
    if (!Array.isArray(item)) return encodeLink(job(item, `entry ${i}`), encoding);
    if (item.length === 0) throw new ConfigError(`${what}: entry ${i} is an empty chain.`);
    return item.map((member: unknown, j) => encodeLink(job(member, `entry ${i}[${j}]`), encoding));
  });
}

/** Encodes and pushes jobs into an existing batch (`batch.add`). */
export async function addToBatch(
  batchId: string,
  options: BatchOptions,
  items: ReadonlyArray<object | readonly object[]>,
): Promise<void> {
  await pushBatchJobs(batchId, options, await encodeBatchJobs(items, `Batch ${batchId}`));
}

/**
 * Pushes a batch's jobs and counts them. Where the jobs and the batch share a database, the
 * INSERT and the count commit together (the count last, so the batch row is locked only for the
 * commit); elsewhere the count goes first, so a fast job never sees the batch short of itself.
 * A push that fails part-way throws a BatchPushError saying how many jobs are queued.
 */
export async function pushBatchJobs(batchId: string, options: BatchOptions, entries: BatchEntries): Promise<number> {
  const app = await runtime();
  const repository = app.queues.batches();
  const groups = new Map<string, Group>();
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
  const total = [...groups.values()].flat().reduce((sum, g) => sum + g.jobs, 0);
  const [only] = groups.keys();
  const single = groups.size === 1 ? app.queues.connection(only!) : undefined;
  if (single?.sharesStoreWith(repository)) {
    // One group in the batch table's database: the jobs and their count commit together.
    const group = groups.get(only!)!;
    const ids = await traceSend({ name: only!, runsJobsInline: single.runsJobsInline }, group, () =>
      repository.transaction(async (trx) => {
        const stored = await single.bulk(
          requestsOf(group, app.config.maxPayloadSize).map((request) => ({ ...request, transaction: trx })),
        );
        await repository.addJobs(batchId, total, trx);
        return stored;
      }),
    );
    await announce(only!, group, ids, single.runsJobsInline);
    return total;
  }
  // Several groups (or another database): count them all first, so no group's jobs can finish
  // the batch before the others are counted; what was not pushed is taken back off.
  await repository.addJobs(batchId, total);
  let pushed = 0;
  try {
    for (const [connection, group] of groups) {
      const driver = app.queues.connection(connection);
      const ids = await traceSend({ name: connection, runsJobsInline: driver.runsJobsInline }, group, () =>
        driver.bulk(requestsOf(group, app.config.maxPayloadSize)),
      );
      pushed += group.reduce((sum, g) => sum + g.jobs, 0);
      await announce(connection, group, ids, driver.runsJobsInline);
    }
  } catch (error) {
    await repository.addJobs(batchId, pushed - total).catch(() => undefined);
    throw pushed > 0 ? new BatchPushError(error, pushed, total, batchId) : error;
  }
  return total;
}
