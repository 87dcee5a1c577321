import { createHash, randomUUID } from 'node:crypto';

import type { LockStore } from '../../contracts/lock-store.js';

/** What a push answered for one client id: the job's id (null when a unique lock skipped it). */
export interface RecordedAnswer {
  readonly jobId: string | null;
  readonly skipped?: 'unique';
}

/** A client id seen before: its first answer, and whether this push asked for the same job. */
export interface Replay {
  readonly answer: RecordedAnswer;
  readonly sameJob: boolean;
}

/** The client id is now this push's: record its answer once queued, or let it go when queuing failed. */
export interface Claim {
  record(answer: RecordedAnswer): Promise<void>;
  abandon(): Promise<void>;
}

/**
 * How long a claim holds before its answer is recorded. Long enough for any dispatch (statements
 * time out well within it); short enough that an id whose pushing process died between storing
 * the job and recording the answer is usable again minutes later, not a day later.
 */
const CLAIM_SECONDS = 300;

/**
 * Client ids kept in the lock store every process shares (the `locks` table, or Redis), so a
 * retried push reaching another dashboard process still finds the first answer. Two keys per id:
 * a claim taken before queuing (only one concurrent push of an id wins it) and the answer, stored
 * as the owner of a second key once the job is queued. The lock store already expires keys by one
 * shared clock, which is all an idempotency record needs; no table of its own.
 */
export class IdempotentPushes {
  constructor(
    private readonly store: LockStore,
    private readonly windowSeconds: number,
  ) {}

  /**
   * The first answer for this id, or a claim on it; `busy` when another push of the same id is
   * being queued right now (the caller answers 409 and the client retries).
   */
  async claim(scope: {
    connection: string;
    queue: string;
    id: string;
    fingerprint: string;
  }): Promise<Replay | Claim | 'busy'> {
    const key = createHash('sha256').update(`${scope.connection}\u0000${scope.queue}\u0000${scope.id}`).digest('hex');
    const claimKey = `errand:push:claim:${key}`;
    const answerKey = `errand:push:answer:${key}`;
    const recorded = await this.answer(answerKey, scope.fingerprint);
    if (recorded) return recorded;
    const owner = `push:${randomUUID()}`;
    if (!(await this.store.acquire(claimKey, owner, Math.min(CLAIM_SECONDS, this.windowSeconds)))) {
      // Held: another push of this id is being queued, or has just recorded its answer.
      return (await this.answer(answerKey, scope.fingerprint)) ?? 'busy';
    }
    return {
      record: async (answer) => {
        const stored = JSON.stringify({
          j: answer.jobId,
          f: scope.fingerprint,
          ...(answer.skipped ? { s: answer.skipped } : {}),
        });
        await this.store.acquire(answerKey, stored, this.windowSeconds);
        // The claim outlives the answer's window too, so a late push never queues a second job.
        await this.store.refresh(claimKey, owner, this.windowSeconds);
      },
      abandon: async () => {
        await this.store.release(claimKey, owner);
      },
    };
  }

  private async answer(answerKey: string, fingerprint: string): Promise<Replay | undefined> {
    const stored = await this.store.owner(answerKey);
    if (stored === null) return undefined;
    const { j, f, s } = JSON.parse(stored) as { j: string | null; f: string; s?: 'unique' };
    return { answer: { jobId: j, ...(s ? { skipped: s } : {}) }, sameJob: f === fingerprint };
  }
}

/** The job a push asked for, as a short digest: the same id with other contents is told apart. */
export function pushFingerprint(job: string, data: unknown, delay: number | undefined): string {
  return createHash('sha256')
    .update(stableJson({ job, data, delay: delay ?? null }))
    .digest('hex')
    .slice(0, 32);
}

/** JSON with every object's keys sorted: the same data sent with its keys in another order digests alike. */
function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const record = value as Record<string, unknown>;
  return `{${Object.keys(record)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${stableJson(record[key])}`)
    .join(',')}}`;
}
