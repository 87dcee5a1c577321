// The worker's monitor thread: heartbeats, lease renewal, the dead-worker sweep, operator
// controls, and the watchdog that ends the process when a job wedges the event loop. It runs on
// its own thread with its own database connection, so it keeps working while the main thread is
// blocked, and its verdict does not depend on the main thread being able to act.
import 'reflect-metadata';

import { writeSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';

import type { ReservedJob } from '../../contracts/reserved-job.js';
import { ErrandError } from '../../errors/errand-error.js';
import { MissingTableError } from '../../errors/missing-table-error.js';
import { type FailureRecording, recordFailure } from '../../execution/record-failure.js';
import { type RetryPolicy, retryPolicyFor, timeoutOutcome } from '../../execution/retry-policy.js';
import { parsePayload } from '../../payload/decode-payload.js';
import type { JobPayload } from '../../payload/job-payload.js';
import { QueueManager } from '../../runtime/queue-manager.js';
import type { FromMonitor, MonitorData, ToMonitor } from './monitor-messages.js';
import { RunningJobsTable } from './running-jobs-table.js';
import {
  handBackDelaySeconds,
  judge,
  KILL_FALLBACK_MS,
  killDeadline,
  type RunningJob,
  type Verdict,
} from './watchdog.js';

const data = workerData as MonitorData;
const port = parentPort!;
const send = (message: FromMonitor) => port.postMessage(message);
const describe = (error: unknown) =>
  error instanceof ErrandError ? error.message : error instanceof Error ? error.message : String(error);

const manager = new QueueManager(
  { ...data.config, report: (error) => console.error('[errand monitor]', error) },
  () => {
    throw new Error('The monitor thread never runs jobs.');
  },
);
const driver = manager.worker(data.connectionName);
const workerId = data.registration.id;
/** How often a tick runs: each heartbeat, or each poll of the controls when heartbeats are off. */
const intervalMs = (data.heartbeat === false ? data.pollInterval : data.heartbeat.interval) * 1000;
/** The jobs this worker holds, each with the number of the claim that took it. */
const held = new Map<string, ReservedJob & { claim: number }>();
const running = new RunningJobsTable(data.running);
const lease = new Float64Array(data.lease);
const beat = new Float64Array(data.loopBeat);
const lapseMs = (data.heartbeat === false ? 60 : data.heartbeat.lapse) * 1000;
/**
 * After a tick that failed (the database unreachable), how soon the next is tried. Waiting out the
 * whole interval once the database is back would add it to the time since the last confirmed beat:
 * a restart shorter than the lapse would then read as this worker's death, its finished jobs (deletes
 * still pending) would be swept and run again, and it would claim nothing until it beat.
 */
const RETRY_TICK_MS = 500;
let stopping = false;
/** The watchdog has begun to end the process (it acts once). */
let killing = false;
/**
 * The watchdog has begun handing jobs back: no more heartbeats (a beat that found the worker's
 * row gone would register it again). Until then the worker beats on, so its leases hold while
 * the blamed jobs are read and failed.
 */
let handingBack = false;
let ticking = false;

port.on('message', receive);

function receive(message: ToMonitor): void {
  switch (message.type) {
    case 'batch':
      for (const each of message.messages) receive(each);
      break;
    case 'hold':
      message.ids.forEach((id, i) =>
        held.set(id, {
          id,
          queue: '',
          payload: '',
          attempts: message.attempts[i]!,
          exceptions: 0,
          reservedBy: workerId,
          claim: message.claim,
        }),
      );
      break;
    case 'forget':
      message.ids.forEach((id, i) => {
        // A forget of an earlier claim of a row this worker has claimed again changes nothing.
        if (held.get(id)?.claim === message.claims[i]) held.delete(id);
      });
      break;
    case 'stop':
      void stop(message.deregister);
      break;
  }
}

async function start(): Promise<void> {
  try {
    // The main thread registered this worker and read the controls before it began claiming;
    // this thread's first duty is the sweep of workers that died.
    if (data.heartbeat !== false) {
      const swept = await driver.sweepDeadWorkers(workerId).catch((error: unknown) => {
        // The database went away after the main thread registered: every beat sweeps again, so
        // this is reported and left to the next tick, never a reason to stop the worker.
        send({ type: 'error', message: describe(error), fatal: false });
        return undefined;
      });
      if (swept && (swept.jobs > 0 || swept.workers.length > 0)) send({ type: 'swept', ...swept });
    }
    send({ type: 'ready' });
  } catch (error) {
    send({ type: 'error', message: describe(error), fatal: true });
    return;
  }
  setInterval(() => void tick(), intervalMs);
  setInterval(watch, 200);
  // The main thread registered the worker before this thread loaded, which can take seconds on a
  // busy machine: beat now rather than an interval later, so the lapse is not spent waiting.
  if (data.heartbeat !== false) void tick();
}

let retryTimer: NodeJS.Timeout | undefined;
/** When a failed tick last reported its error: an outage is reported about once per interval. */
let reportedAt = 0;

/** One heartbeat, sweep and controls read; `retry`: an early try after a failed tick, whose failure the failed tick already reported. */
async function tick(retry = false): Promise<void> {
  if (ticking || stopping || handingBack) return;
  clearTimeout(retryTimer);
  ticking = true;
  try {
    if (data.heartbeat !== false) {
      // Sent-at, not answered-at: the database counts the lapse from when it ran the statement.
      const sentAt = Date.now();
      if (await driver.heartbeat(workerId, [...held.keys()])) {
        lease[0] = sentAt + lapseMs;
      } else if (!handingBack) {
        // Presumed dead while it could not beat (stopped, starved): its jobs went back to the
        // queue, and any write it still makes about them is fenced off. Every job claimed so far
        // is stale (the epoch moves on, so none still buffered starts). Register again.
        lease[1] = lease[1]! + 1;
        lease[0] = 0;
        const registeredAt = Date.now();
        await driver.registerWorker(data.registration);
        lease[0] = registeredAt + lapseMs;
        send({ type: 'lease-lost' });
      }
      const swept = await driver.sweepDeadWorkers(workerId);
      if (swept.jobs > 0 || swept.workers.length > 0) send({ type: 'swept', ...swept });
    }
    send({ type: 'controls', controls: await driver.controls() });
  } catch (error) {
    const fatal = error instanceof MissingTableError;
    // Early tries stay quiet unless an interval has passed since the last report: on a black-holed
    // network each try waits out queryTimeout, and the regular ticks find this one still running.
    if (fatal || !retry || Date.now() - reportedAt >= intervalMs) {
      reportedAt = Date.now();
      send({ type: 'error', message: describe(error), fatal });
    }
    if (!fatal) retryTimer = setTimeout(() => void tick(true), RETRY_TICK_MS);
  } finally {
    ticking = false;
  }
}

let lastWatch = Date.now();
let resumedAt = 0;

function watch(): void {
  const now = Date.now();
  // This thread's own 200 ms timer ran a second late: the whole process was stopped (SIGSTOP, a
  // frozen container, a suspended machine), not just the main loop. That time is not the main
  // loop's fault: count its blocking from now, so it gets to beat before it is judged.
  if (now - lastWatch > 1000) resumedAt = now;
  lastWatch = now;
  if (killing || stopping) return;
  const verdict = judge(now, Math.max(beat[0]!, resumedAt), running.read(), data.watchdogGraceMs, lapseMs);
  if (verdict) void kill(verdict);
}

/**
 * Records the attempt of each job to blame as a timeout (failed or released as its tries say),
 * hands the bystanders back with their attempt returned, and ends the process. Failures go first;
 * every row handed back after them is delayed (handBackDelaySeconds), and the process is ended
 * before the first of them can fall due (killDeadline), so nothing claims them while it lives.
 */
async function kill(verdict: Verdict): Promise<void> {
  killing = true;
  const pid = process.pid;
  const outcomes: string[] = [];
  // On the monotonic clock: a step of the wall clock must not stretch the deadline.
  let deadline = Infinity;
  // Each write gets 5 s, and none once the jobs handed back are about to fall due. On SQLite a
  // lock wait blocks this thread's timers, so it is bounded too: each of a write's tries
  // (retryLocks makes up to 4) may wait a quarter of what is left.
  const bounded = async <T>(write: () => Promise<T>): Promise<T> => {
    const ms = Math.min(5000, deadline - performance.now());
    if (ms <= 0) throw new Error('no time was left before the jobs handed back fall due');
    if (Number.isFinite(deadline)) await driver.limitLockWaits(ms / 4);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the database did not answer within ${(ms / 1000).toFixed(1)} s`)), ms);
    });
    return Promise.race([write(), late]).finally(() => clearTimeout(timer));
  };
  const names = new Map<string, string>();
  // Names the blamed jobs once their rows are read; until then (or if they cannot be), 'a job'.
  const reason = () => verdict.describe((id) => names.get(id) ?? 'a job');
  const back = data.heartbeat === false ? 'when their reservations expire (retryAfter)' : 'when the heartbeat lapses';
  try {
    // Only now is each blamed job's row read: the main thread keeps nothing but ids and deadlines here.
    const blamed = (
      await bounded(() =>
        driver.reservedJobs(
          workerId,
          verdict.overdue.map((job: RunningJob) => job.id),
        ),
      )
    ).map(blame);
    for (const b of blamed) names.set(b.job.id, b.displayName);
    const judged = blamed.map((b) => {
      const exceptions = b.job.exceptions + 1;
      return {
        ...b,
        exceptions,
        outcome: timeoutOutcome(b.policy, b.job.attempts, exceptions),
      };
    });
    // Recorded as the main thread records a failure (the failed record, the batch's count, the
    // unique lock); the batch's callbacks and the job's failed() are not run by a process being ended.
    const recording: FailureRecording = {
      queue: driver,
      // Opened when a job is failed, not before.
      get failer() {
        return manager.failer();
      },
      batches: () => (data.config.batching ? manager.batches() : undefined),
      locks: () => ({ release: (key, owner) => bounded(() => manager.locks().release(key, owner)) }),
      report: (error) => outcomes.push(`a write after the failure was not made (${describe(error)})`),
      write: bounded,
      step: bounded,
    };
    for (const { job, payload, displayName } of judged.filter((j) => j.outcome === 'fail')) {
      const exception = `TimeoutExceededError: ${displayName} has timed out: the watchdog ended worker process ${pid} because ${reason()}.`;
      const recorded = await recordFailure(
        { reserved: job, connectionName: data.connectionName, payload },
        exception,
        recording,
      );
      outcomes.push(
        recorded ? `${displayName} #${job.id} failed` : `${displayName} #${job.id} was no longer this worker's`,
      );
      held.delete(job.id);
    }
    handingBack = true;
    deadline = killDeadline(performance.now());
    for (const { job, displayName, policy, exceptions } of judged.filter((j) => j.outcome !== 'fail')) {
      await bounded(() => driver.release(job, handBackDelaySeconds(policy.backoff), exceptions));
      outcomes.push(`${displayName} #${job.id} released`);
      held.delete(job.id);
    }
    await bounded(() => driver.unclaim([...held.values()], handBackDelaySeconds()));
    // Only once every job is recorded (a job still reserved comes back through this row's lapse),
    // and only tidiness: a row left behind lapses and is swept.
    if (data.heartbeat !== false)
      await bounded(() => driver.deregisterWorker(workerId)).catch(() =>
        outcomes.push('its worker row is left to lapse'),
      );
  } catch (error) {
    outcomes.push(`recording failed (${describe(error)}); the jobs come back ${back}`);
  }
  try {
    // A thread's process.stderr is relayed by the main thread's event loop, which is blocked.
    writeSync(
      2,
      `[errand] watchdog: ${reason()}; ${outcomes.join('; ') || 'no job to record'}. Ending worker process ${pid} (SIGALRM, exit status 142).\n`,
    );
  } finally {
    // A stderr nobody reads (EPIPE) must not keep the signals from going out.
    process.kill(pid, 'SIGALRM');
    // An application that listens for SIGALRM would keep a blocked process alive; SIGKILL cannot be caught.
    setTimeout(
      () => process.kill(pid, 'SIGKILL'),
      Math.max(0, Math.min(KILL_FALLBACK_MS, deadline - performance.now())),
    );
  }
}

/**
 * What the watchdog records about a blamed job, read from its payload as the main thread reads
 * it. A payload that does not parse could not have started; it is failed, under the row's id.
 */
function blame(job: ReservedJob): {
  job: ReservedJob;
  payload?: JobPayload;
  displayName: string;
  policy: RetryPolicy;
} {
  try {
    const payload = parsePayload(job.payload, data.config.maxPayloadSize);
    return {
      job,
      payload,
      displayName: payload.displayName,
      policy: retryPolicyFor(payload, job.attempts, data.jobDefaults),
    };
  } catch {
    return {
      job,
      displayName: `job #${job.id}`,
      policy: { failOnTimeout: true, maxTries: 1, retryUntil: null, maxExceptions: null, backoff: 0 },
    };
  }
}

async function stop(deregister: boolean): Promise<void> {
  // The watchdog is ending the process: a main thread that came to and asked to stop must not
  // end this thread before it has sent the signals.
  if (killing) return;
  stopping = true;
  // A worker that finds its queue empty at once may stop while the first sweep is still out: the
  // main thread waits for 'ready' before it believes 'stopped'.
  await started;
  while (ticking) await new Promise((resolve) => setTimeout(resolve, 20));
  try {
    if (deregister && data.heartbeat !== false) await driver.deregisterWorker(workerId);
  } catch (error) {
    send({ type: 'error', message: describe(error), fatal: false });
  }
  await manager.closeAll().catch(() => undefined);
  send({ type: 'stopped' });
  process.exit(0);
}

const started = start();
