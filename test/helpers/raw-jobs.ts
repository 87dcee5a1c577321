import { randomUUID } from 'node:crypto';

import type { Knex } from 'knex';

/**
 * Inserts jobs the way another language would: a JSON payload in Laravel's shape, one INSERT per
 * 500 rows. Used to load many jobs fast and to prove the wire format is enough on its own.
 */
export async function insertJobsForTest(
  knex: Knex,
  table: string,
  count: number,
  make: (i: number) => {
    name: string;
    command: Record<string, unknown>;
    queue?: string;
    maxTries?: number;
    timeout?: number;
  },
): Promise<void> {
  const now = Math.floor(Date.now() / 1000);
  const rows = Array.from({ length: count }, (_, i) => {
    const { name, command, queue, maxTries, timeout } = make(i);
    const payload = {
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
    };
    return {
      queue: queue ?? 'default',
      payload: JSON.stringify(payload),
      attempts: 0,
      available_at: now - 1,
      created_at: now,
    };
  });
  for (let i = 0; i < rows.length; i += 500) await knex(table).insert(rows.slice(i, i + 500));
}
