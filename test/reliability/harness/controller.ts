import path from 'node:path';

import type { DatabaseConnectionConfig } from '../../../src/config/config-types.js';
import { ROOT } from '../../helpers/run-cli.js';
import { type CliProcess, createWorkerApp, startCli, type WorkerApp } from '../../helpers/worker-process.js';
import { createLedger } from './ledger.js';

/** The common reliability jobs, for `bootstrap`. */
export const CHAOS_JOBS = path.join(ROOT, 'test/reliability/fixtures/chaos-jobs.mjs');

/** A migrated app whose jobs write the reliability ledger (see ledger.ts). */
export async function createChaosApp(
  connection: DatabaseConnectionConfig,
  options: { bootstrap?: string[]; overrides?: Partial<DatabaseConnectionConfig>; ledgerPool?: number } = {},
): Promise<WorkerApp> {
  const app = await createWorkerApp(connection, {
    bootstrap: options.bootstrap ?? [CHAOS_JOBS],
    overrides: options.overrides,
    prefix: 'errand-reliability-',
  });
  await createLedger(app.knex);
  const ledger = JSON.parse(app.env.LEDGER_KNEX!) as Record<string, unknown>;
  app.env.LEDGER_KNEX = JSON.stringify({ ...ledger, pool: { min: 0, max: options.ledgerPool ?? 8 } });
  return app;
}

/** Every worker any controller started and has not seen exit: killed if the test process goes first. */
const everyLiveWorker = new Set<CliProcess>();
process.once('exit', () => {
  for (const worker of everyLiveWorker) worker.child.kill('SIGKILL');
});

/** One worker process's end, as the controller saw it. */
export interface Exit {
  pid: number;
  at: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when the controller caused it (kill, stop). */
  expected: boolean;
}

/**
 * The chaos controller: starts `queue:work` processes for an app, signals them, and, when
 * supervising, starts a replacement for every worker that exits (counting the restarts), as
 * supervisord or systemd would. Every process it started is SIGKILLed by `stopAll`.
 */
export class Controller {
  readonly exits: Exit[] = [];
  private readonly live = new Set<CliProcess>();
  private readonly all: CliProcess[] = [];
  private readonly expected = new Set<number>();
  private supervising = false;
  /** Replacements started by supervision. */
  restarts = 0;

  constructor(
    private readonly app: WorkerApp,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv = {},
  ) {}

  /** Starts `count` workers (with `args`, or the controller's). */
  start(count = 1, args = this.args, env: NodeJS.ProcessEnv = {}): CliProcess[] {
    return Array.from({ length: count }, () => this.spawn(args, env));
  }

  /** From now on, every worker that exits is replaced at once. */
  supervise(): void {
    this.supervising = true;
  }

  /** The workers still running. */
  get workers(): CliProcess[] {
    return [...this.live];
  }

  /** When a worker process exited, if it has. */
  exitedAt(pid: number): number | undefined {
    return this.exits.find((e) => e.pid === pid)?.at;
  }

  /** Sends `signal` to one worker; SIGKILL and SIGTERM are expected exits (not restarted when supervising). */
  signal(worker: CliProcess, signal: NodeJS.Signals): void {
    if (signal === 'SIGKILL' || signal === 'SIGTERM') this.expected.add(worker.pid);
    worker.child.kill(signal);
  }

  /** SIGKILLs a random live worker and, when supervising, starts its replacement; resolves to the victim. */
  async killRandom(): Promise<CliProcess> {
    const victims = this.workers;
    if (victims.length === 0) throw new Error('no live worker to kill');
    const victim = victims[Math.floor(Math.random() * victims.length)]!;
    this.signal(victim, 'SIGKILL');
    await victim.exited;
    if (this.supervising) {
      this.restarts++;
      this.spawn(this.args, {});
    }
    return victim;
  }

  /** Stops supervising, SIGKILLs (after SIGCONT) every process still running, and waits. */
  async stopAll(): Promise<void> {
    this.supervising = false;
    const alive = [...this.live];
    for (const worker of alive) {
      this.expected.add(worker.pid);
      worker.child.kill('SIGCONT');
      worker.child.kill('SIGKILL');
    }
    await Promise.all(this.all.map((w) => w.exited));
  }

  /** Everything the workers printed on stderr, pid by pid (a crash leaves its trace here). */
  stderr(): string {
    return this.all.map((w) => (w.stderr() ? `--- ${w.pid}\n${w.stderr()}` : '')).join('');
  }

  private spawn(args: string[], env: NodeJS.ProcessEnv): CliProcess {
    const worker = startCli(args, this.app.dir, { ...this.app.env, ...this.env, ...env });
    this.live.add(worker);
    everyLiveWorker.add(worker);
    this.all.push(worker);
    void worker.exited.then(({ code, signal }) => {
      this.live.delete(worker);
      everyLiveWorker.delete(worker);
      const expected = this.expected.has(worker.pid);
      this.exits.push({ pid: worker.pid, at: Date.now(), code, signal, expected });
      // A worker that exits on its own (watchdog, crash, recycling) is replaced, as a supervisor would.
      if (this.supervising && !expected) {
        this.restarts++;
        this.spawn(args, env);
      }
    });
    return worker;
  }
}

/**
 * Samples the reserved rows of `jobs` every `intervalMs` and keeps, for each reservation (row,
 * attempt, holder), when it was first and last seen: how long any job stayed reserved, and how
 * long the rows of a given holder outlived it.
 */
export class ReservationWatch {
  private readonly seen = new Map<string, { first: number; last: number; holder: string }>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> | undefined;

  constructor(
    private readonly app: WorkerApp,
    private readonly intervalMs = 250,
  ) {}

  start(): this {
    const tick = () => {
      this.sampling = this.sample().catch(() => undefined);
      void this.sampling.then(() => {
        if (this.timer) this.timer = setTimeout(tick, this.intervalMs);
      });
    };
    this.timer = setTimeout(tick, 0);
    return this;
  }

  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.sampling;
  }

  /** The longest any one reservation was seen to last, in ms. */
  get maxReservedMs(): number {
    let max = 0;
    for (const { first, last } of this.seen.values()) max = Math.max(max, last - first);
    return max;
  }

  /** The last time a row reserved by `holder` (a worker id) was seen, if ever. */
  lastSeenFor(holder: string): number | undefined {
    let last: number | undefined;
    for (const entry of this.seen.values()) if (entry.holder === holder) last = Math.max(last ?? 0, entry.last);
    return last;
  }

  private async sample(): Promise<void> {
    const rows = (await this.app
      .knex('jobs')
      .whereNotNull('reserved_at')
      .select('id', 'attempts', 'reserved_by')) as Array<{
      id: unknown;
      attempts: unknown;
      reserved_by: string | null;
    }>;
    const now = Date.now();
    for (const row of rows) {
      const id = `${String(row.id)}/${String(row.attempts)}/${row.reserved_by ?? ''}`;
      const entry = this.seen.get(id);
      if (entry) entry.last = now;
      else this.seen.set(id, { first: now, last: now, holder: row.reserved_by ?? '' });
    }
  }
}
