import type { FailedJobStore, StoredFailedJob } from '../contracts/failed-job-store.js';

/** What `queue:retry` was asked to retry; every part adds to the selection. */
export interface RetrySelection {
  /** Uuids or numeric ids; `all` selects every failed job. */
  readonly keys: readonly string[];
  /** Every failed job of this queue. */
  readonly queue?: string;
  /** Inclusive id ranges. */
  readonly ranges?: ReadonlyArray<readonly [number, number]>;
}

/** The records found, oldest first and each once, and the keys that matched nothing. */
export interface RetryTargets {
  readonly records: StoredFailedJob[];
  readonly missing: string[];
}

/**
 * Resolves a retry selection against the store. Records come back oldest first so that retried
 * jobs reach their queue in the order they were first dispatched; a record named twice (by id
 * and by uuid, or inside two ranges) is retried once.
 */
export async function findFailedJobsToRetry(store: FailedJobStore, selection: RetrySelection): Promise<RetryTargets> {
  const found = new Map<string, StoredFailedJob>();
  const missing: string[] = [];
  const add = (records: readonly StoredFailedJob[]) => records.forEach((record) => found.set(record.uuid, record));
  if (selection.keys.includes('all')) add(await store.all());
  for (const key of selection.keys) {
    if (key === 'all') continue;
    const record = await store.find(key);
    if (record) add([record]);
    else missing.push(key);
  }
  if (selection.queue !== undefined) add(await store.all({ queue: selection.queue }));
  for (const range of selection.ranges ?? []) add(await store.all({ idRange: range }));
  const records = [...found.values()].sort((a, b) => Number(a.id) - Number(b.id));
  return { records, missing };
}
