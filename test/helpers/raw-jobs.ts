import { randomUUID } from 'node:crypto';

import type { Knex } from 'knex';

import type { Queue } from '../../src/contracts/queue.js';

/** One job written by hand: its class name and properties, and a few payload options. */
export interface RawJob {
  name: string;
  command: Record<string, unknown>;
  queue?: string;
  maxTries?: number;
  timeout?: number;
}

/** A payload in Laravel's shape, as another language would write it (`now`: its createdAt, unix seconds). */
export function rawPayload({ name, command, maxTries, timeout }: RawJob, now: number): string {
  return JSON.stringify({
    uuid: randomUUID(),
    displayName: name,
    job: 'errand:CallQueuedHandler@call',
    maxTries: maxTries ?? null,
    maxExceptions: null,
    failOnTimeout: false,
    backoff: null,
    timeout: timeout ?? null,
    retryUntil: null,
    data: { commandName: name, command },
    createdAt: now,
    delay: null,
  });
}

/**
 * Inserts jobs the way another language would: a JSON payload in Laravel's shape, one INSERT per
 * 500 rows. Used to load many jobs fast and to prove the wire format is enough on its own.
 */
export async function insertJobsForTest(
  knex: Knex,
  table: string,
  count: number,
  make: (i: number) => RawJob,
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const rows = Array.from({ length: count }, (_, i) => {
    const job = make(i);
    return {
      queue: job.queue ?? 'default',
      payload: rawPayload(job, now),
      attempts: 0,
      available_at: now - 1,
      created_at: now,
    };
  });
  for (let i = 0; i < rows.length; i += 500) await knex(table).insert(rows.slice(i, i + 500));
}

/**
 * insertJobsForTest on any engine: the same hand-written payloads, stored through the queue's
 * `bulk` (the driver's own write, but nothing of errand's dispatch side), available at once.
 */
export async function pushJobsForTest(queue: Queue, count: number, make: (i: number) => RawJob): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const requests = Array.from({ length: count }, (_, i) => {
    const job = make(i);
    return { queue: job.queue ?? 'default', payload: rawPayload(job, now) };
  });
  const ids: string[] = [];
  for (let i = 0; i < requests.length; i += 1000) ids.push(...(await queue.bulk(requests.slice(i, i + 1000))));
  return ids;
}
