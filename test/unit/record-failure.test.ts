import { describe, expect, it } from 'vitest';

import type { FailedJobRecord, FailedJobStore } from '../../src/contracts/failed-job-store.js';
import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import {
  type BatchCounts,
  type FailureRecording,
  failedJobRecord,
  recordFailure,
} from '../../src/execution/record-failure.js';
import type { JobPayload } from '../../src/payload/job-payload.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function reserved(id: string, payload: string): ReservedJob {
  return { id, queue: 'default', payload, attempts: 2, exceptions: 1, reservedBy: 'w' };
}

/** A queue (not sharing a store with anything) that records what its `fail` was given. */
function recordingQueue(held = true) {
  const calls: Array<{ record: FailedJobRecord; within: unknown }> = [];
  const queue = {
    connectionName: 'database',
    fail: async (_job: ReservedJob, record: FailedJobRecord, _store: FailedJobStore, within?: unknown) => {
      calls.push({ record, within });
      return held;
    },
    sharesStoreWith: () => false,
  } as unknown as WorkerQueue;
  return { queue, calls };
}

function deps(queue: WorkerQueue, batches: BatchCounts | undefined, released: string[] = []): FailureRecording {
  return {
    queue,
    failer: {} as FailedJobStore,
    batches: () => batches,
    locks: () => ({ release: async (key: string, owner: string) => (released.push(`${key}:${owner}`), true) }),
    report: (error) => {
      throw error;
    },
  };
}

const payload = {
  uuid: '6f1c0b7e-3a52-4c1e-9d7a-2b8e5f4a1c33',
  displayName: 'ImportRows',
  batchId: 'batch-1',
  unique: { key: 'import:7', until: 'done' },
} as JobPayload;

describe('the failed record', () => {
  it('is stored under the payload’s uuid, with the row’s connection, queue and payload text', () => {
    const job = { reserved: reserved('12', '{"raw":1}'), connectionName: 'database', payload };
    expect(failedJobRecord(job, 'Error: boom')).toEqual({
      uuid: payload.uuid,
      connection: 'database',
      queue: 'default',
      payload: '{"raw":1}',
      exception: 'Error: boom',
    });
  });

  it('is stored under a fresh uuid when the payload is unreadable, never one made from the row', () => {
    // Row 12 of one jobs table and row 12 of another (or of the same table after it was emptied)
    // must not collide in failed_jobs.uuid, which is unique: the watchdog used `${id}-${attempts}`.
    const a = failedJobRecord({ reserved: reserved('12', 'not json'), connectionName: 'a', payload: undefined }, 'x');
    const b = failedJobRecord({ reserved: reserved('12', 'not json'), connectionName: 'b', payload: undefined }, 'x');
    expect(a.uuid).toMatch(UUID);
    expect(b.uuid).toMatch(UUID);
    expect(a.uuid).not.toBe(b.uuid);
  });

  it('keeps one uuid across the tries of one failing write', async () => {
    const { queue, calls } = recordingQueue();
    const job = { reserved: reserved('12', 'not json'), connectionName: 'database', payload: undefined };
    const recorded = await recordFailure(job, 'x', {
      ...deps(queue, undefined),
      // As the processor does while the database is unreachable: the same write, tried again.
      write: async (write) => (await write()) && write(),
    });
    expect(calls).toHaveLength(2);
    expect(calls[1]!.record.uuid).toBe(calls[0]!.record.uuid);
    expect(recorded?.record.uuid).toBe(calls[0]!.record.uuid);
  });
});

describe('recordFailure', () => {
  it('counts a batched failure once, just after the write, when the batch repository lives in another store', async () => {
    const { queue, calls } = recordingQueue();
    const counted: string[] = [];
    const batches: BatchCounts = {
      recordFailure: async (id, uuid, trx) => void counted.push(`${id}:${uuid}:${trx === undefined}`),
      recordSuccess: async () => undefined,
    };
    const released: string[] = [];
    const job = { reserved: reserved('12', JSON.stringify(payload)), connectionName: 'database', payload };
    const recorded = await recordFailure(job, 'x', deps(queue, batches, released));
    expect(calls.map((call) => call.within)).toEqual([undefined]);
    expect(counted).toEqual([`batch-1:${payload.uuid}:true`]);
    expect(recorded?.batchCounted).toBe(true);
    // The unique lock goes with the final failure, released by its owner (the payload's uuid).
    expect(released).toEqual([`import:7:${payload.uuid}`]);
  });

  it('changes nothing more when the lease was lost: no count, no lock released', async () => {
    const { queue } = recordingQueue(false);
    const counted: string[] = [];
    const batches: BatchCounts = {
      recordFailure: async (id) => void counted.push(id),
      recordSuccess: async () => undefined,
    };
    const released: string[] = [];
    const job = { reserved: reserved('12', JSON.stringify(payload)), connectionName: 'database', payload };
    expect(await recordFailure(job, 'x', deps(queue, batches, released))).toBeUndefined();
    expect(counted).toEqual([]);
    expect(released).toEqual([]);
  });

  it('releases the lock an unreadable payload still names, and counts nothing without batching', async () => {
    const { queue } = recordingQueue();
    const released: string[] = [];
    const raw = JSON.stringify({ uuid: payload.uuid, unique: payload.unique, data: 'garbled' });
    const job = { reserved: reserved('12', raw), connectionName: 'database', payload: undefined };
    const recorded = await recordFailure(job, 'x', deps(queue, undefined, released));
    expect(recorded?.batchCounted).toBe(false);
    expect(released).toEqual([`import:7:${payload.uuid}`]);
  });
});
