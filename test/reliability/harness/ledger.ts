import type { Knex } from 'knex';

/**
 * The reliability ledger: every test job writes one row when it starts (job key, job id, attempt,
 * worker pid, start time) and fills in `finished_at` when its handler returns, on its own
 * connection (see fixtures/chaos-kit.mjs). Times are the worker's `Date.now()`: every process
 * runs on this machine, so they share one clock.
 */
export async function createLedger(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ledger');
  await knex.schema.createTable('ledger', (t) => {
    t.increments('id');
    t.string('run', 36).notNullable();
    t.string('job_key', 64).notNullable();
    t.string('job_id', 32).notNullable();
    t.integer('attempt').notNullable();
    t.integer('worker').notNullable();
    t.bigInteger('started_at').notNullable();
    t.bigInteger('finished_at').nullable();
    t.bigInteger('aborted_at').nullable();
  });
}

/** One execution of a job, as its handler recorded it. */
export interface Execution {
  key: string;
  jobId: string;
  attempt: number;
  /** The worker process's pid. */
  worker: number;
  startedAt: number;
  /** When the handler returned; null when it never did (killed, wedged, abandoned). */
  finishedAt: number | null;
  /** When the job's abort signal fired, if it did. */
  abortedAt: number | null;
}

export async function executions(knex: Knex): Promise<Execution[]> {
  const rows = (await knex('ledger').select('*').orderBy('id')) as Array<Record<string, string | number | null>>;
  const num = (v: string | number | null) => (v === null ? null : Number(v));
  return rows.map((r) => ({
    key: String(r.job_key),
    jobId: String(r.job_id),
    attempt: Number(r.attempt),
    worker: Number(r.worker),
    startedAt: Number(r.started_at),
    finishedAt: num(r.finished_at),
    abortedAt: num(r.aborted_at),
  }));
}

/** A failed_jobs row, reduced to what the scenarios check. */
export interface FailedRecord {
  key: string | undefined;
  displayName: string;
  /** The exception text's first line. */
  reason: string;
  exception: string;
}

/** The failed_jobs rows, with the job key read back out of each payload. */
export async function failedRecords(knex: Knex): Promise<FailedRecord[]> {
  const rows = (await knex('failed_jobs').select('payload', 'exception').orderBy('id')) as Array<{
    payload: string;
    exception: string;
  }>;
  return rows.map((row) => {
    let key: string | undefined;
    let displayName = '?';
    try {
      const payload = JSON.parse(row.payload) as { displayName?: string; data?: { command?: { key?: string } } };
      key = payload.data?.command?.key;
      displayName = payload.displayName ?? '?';
    } catch {
      // A poison row's payload need not be JSON: it keeps no key.
    }
    return { key, displayName, reason: row.exception.split('\n')[0]!, exception: row.exception };
  });
}

/** What a scenario's ledger says about a set of jobs. */
export interface LedgerSummary {
  jobs: number;
  /** Every execution that started. */
  executions: number;
  /** Keys with more than one finished execution. */
  duplicates: string[];
  /** Keys with no finished execution and no failed_jobs row. */
  lost: string[];
  /** Pairs of executions of one key whose intervals overlap (the job ran in two places at once). */
  overlaps: Array<[Execution, Execution]>;
}

/**
 * Counts executions per key. An execution that never finished is taken to have lasted until its
 * worker exited (`exitedAt`, from the controller), or until now when its worker still lives.
 */
export function summarise(
  keys: Iterable<string>,
  runs: Execution[],
  failed: FailedRecord[],
  exitedAt: (pid: number) => number | undefined = () => undefined,
): LedgerSummary {
  const byKey = new Map<string, Execution[]>();
  for (const run of runs) byKey.set(run.key, [...(byKey.get(run.key) ?? []), run]);
  const failedKeys = new Set(failed.map((f) => f.key));
  const all = [...keys];
  const duplicates: string[] = [];
  const lost: string[] = [];
  const overlaps: Array<[Execution, Execution]> = [];
  const endOf = (run: Execution) => run.finishedAt ?? exitedAt(run.worker) ?? Date.now();
  for (const key of all) {
    const mine = byKey.get(key) ?? [];
    const finished = mine.filter((run) => run.finishedAt !== null);
    if (finished.length > 1) duplicates.push(key);
    if (finished.length === 0 && !failedKeys.has(key)) lost.push(key);
    const sorted = [...mine].sort((a, b) => a.startedAt - b.startedAt);
    for (let i = 1; i < sorted.length; i++) {
      if (sorted[i]!.startedAt < endOf(sorted[i - 1]!)) overlaps.push([sorted[i - 1]!, sorted[i]!]);
    }
  }
  return { jobs: all.length, executions: runs.length, duplicates, lost, overlaps };
}
