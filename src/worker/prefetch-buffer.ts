import type { ReservedJob } from '../contracts/reserved-job.js';
import type { WorkerQueue } from '../contracts/worker-queue.js';
import type { EventBus } from '../events/event-bus.js';
import { JobPopped } from '../events/job-popped.js';
import { JobPopping } from '../events/job-popping.js';
import type { Monitor } from './monitor/monitor.js';

/** How often buffered jobs waiting on an unconfirmed lease look again. */
const LEASE_RECHECK_MS = 100;

/** The lease epoch a job was claimed under, when its claim was sent, and the claim's number. */
interface Claim {
  epoch: number;
  at: number;
  claim: number;
}

/** What a worker's prefetch buffer is built from. */
export interface PrefetchBufferDeps {
  driver: WorkerQueue;
  events: EventBus;
  report: (error: unknown) => void;
  /** The worker's id: the lease token its claims take jobs under. */
  workerId: string;
  /** The queues to claim from, in priority order. */
  queues: readonly string[];
  /** The worker's monitor, once it has one: it keeps the claimed jobs' leases. */
  monitor: () => Monitor | undefined;
  /** Jobs that waited on an unconfirmed lease may start now: the worker starts what it can. */
  recheck: () => void;
}

/** What one fill brought: how many jobs, and the error of the claim that ended it early, if one failed. */
export interface FillResult {
  claimed: number;
  error?: unknown;
}

/**
 * The jobs a worker has claimed and not yet started, oldest claim first, and the claim each of
 * its jobs came from (kept after the job leaves the buffer, until it is forgotten): the lease
 * epoch tells a job of a lost lease apart, and the claim's number tells the monitor which of two
 * claims of one row it means.
 */
export class PrefetchBuffer {
  private jobs: ReservedJob[] = [];
  private readonly claimedUnder = new WeakMap<ReservedJob, Claim>();
  /** Claims numbered in order: the monitor tells two claims of one row apart by them. */
  private claims = 0;
  private leaseRecheck: NodeJS.Timeout | undefined;
  private failures = 0;
  private filledAt = Date.now();

  constructor(private readonly deps: PrefetchBufferDeps) {}

  /** How many jobs wait in the buffer. */
  get size(): number {
    return this.jobs.length;
  }

  /** How many fills in a row a failed claim ended (the database away); 0 after one that did not. */
  get claimFailures(): number {
    return this.failures;
  }

  /** When a claim last brought jobs (epoch ms); at first, when the buffer was made. */
  get lastClaimAt(): number {
    return this.filledAt;
  }

  /**
   * Claims up to `want` jobs into the buffer, queue by queue in priority order, skipping the
   * queues `skip` names (asked afresh for each queue: a pause may arrive mid-fill). A claim that
   * fails ends the fill and is reported; the jobs claimed before it stay buffered and are counted.
   */
  async fill(want: number, skip: (queue: string) => boolean): Promise<FillResult> {
    const { driver, events } = this.deps;
    let claimed = 0;
    let failure: { error: unknown } | undefined;
    try {
      for (const queue of this.deps.queues) {
        if (skip(queue)) continue;
        if (events.has(JobPopping)) await events.emit(new JobPopping(driver.connectionName, queue));
        const under = { epoch: this.deps.monitor()?.leaseEpoch ?? 0, at: Date.now(), claim: ++this.claims };
        const jobs = await driver.claim(queue, want - claimed, this.deps.workerId);
        if (jobs.length === 0) continue;
        this.deps.monitor()?.hold(jobs, under.claim);
        for (const job of jobs) {
          this.claimedUnder.set(job, under);
          this.jobs.push(job);
        }
        claimed += jobs.length;
        if (events.has(JobPopped)) for (const job of jobs) await events.emit(new JobPopped(driver.connectionName, job));
        if (claimed >= want) break;
      }
    } catch (error) {
      // The database may come back: the loop backs off by the failures and tries again.
      this.deps.report(error);
      failure = { error };
    }
    this.failures = failure ? this.failures + 1 : 0;
    if (claimed > 0) this.filledAt = Date.now();
    return failure ? { claimed, error: failure.error } : { claimed };
  }

  /** Takes the oldest buffered job whose queue is not in `paused`; undefined when there is none. */
  take(paused: ReadonlySet<string>): ReservedJob | undefined {
    if (this.jobs.length === 0) return undefined;
    const at = paused.size === 0 ? 0 : this.jobs.findIndex((job) => !paused.has(job.queue));
    if (at === -1) return undefined;
    // shift() from the front is what V8 makes cheap; splice() in the middle only with paused queues.
    return at === 0 ? this.jobs.shift()! : this.jobs.splice(at, 1)[0]!;
  }

  /** Takes matching jobs out of the buffer and hands them back, attempt returned. */
  handBack(which: (job: ReservedJob) => boolean): void {
    const back = this.jobs.filter(which);
    if (back.length === 0) return;
    this.jobs = this.jobs.filter((job) => !which(job));
    void this.deps.driver
      .unclaim(back)
      .catch((error: unknown) => this.deps.report(error))
      // Not renewed any more: if the hand-back failed, their leases lapse and they come back.
      .finally(() => this.forget(back));
  }

  /** On stop: hands every buffered job back and waits until the hand-back is written (or failed). */
  async handBackAll(): Promise<void> {
    clearTimeout(this.leaseRecheck);
    const buffered = this.jobs.splice(0);
    if (buffered.length === 0) return;
    await this.deps.driver.unclaim(buffered).catch((error: unknown) => this.deps.report(error));
    this.forget(buffered);
  }

  /** Tells the monitor these jobs are no longer held, each under the claim that took it. */
  forget(jobs: readonly ReservedJob[]): void {
    this.deps.monitor()?.forget(
      jobs.map((job) => job.id),
      jobs.map((job) => this.claimedUnder.get(job)?.claim ?? 0),
    );
  }

  /** When the claim that took `job` was sent (epoch ms). */
  claimedAt(job: ReservedJob): number | undefined {
    return this.claimedUnder.get(job)?.at;
  }

  /** A job claimed before the heartbeat last found this worker presumed dead was taken back by the sweep. */
  leaseLost(job: ReservedJob): boolean {
    const monitor = this.deps.monitor();
    return monitor !== undefined && (this.claimedUnder.get(job)?.epoch ?? monitor.leaseEpoch) !== monitor.leaseEpoch;
  }

  /**
   * A prefetched job starts only while this worker surely still holds it: its row in the workers
   * table has not lapsed (the last confirmed heartbeat was sent less than the lapse ago), and the
   * lease has not been found lost since the job was claimed. Jobs of a lost lease are handed back;
   * while the lease is merely unconfirmed (a heartbeat late under load, a stopped process just
   * resumed), they wait and the question is asked again shortly: the next heartbeat settles it.
   */
  leaseAllowsStart(): boolean {
    const monitor = this.deps.monitor();
    if (!monitor || this.jobs.length === 0) return true;
    const epoch = monitor.leaseEpoch;
    // Claims append in order, so the oldest epoch is at the front.
    if (this.claimedUnder.get(this.jobs[0]!)?.epoch !== epoch)
      this.handBack((job) => this.claimedUnder.get(job)?.epoch !== epoch);
    if (monitor.leaseHeld()) return true;
    this.leaseRecheck ??= setTimeout(() => {
      this.leaseRecheck = undefined;
      this.deps.recheck();
    }, LEASE_RECHECK_MS).unref();
    return false;
  }
}
