import type { Gauge, Metric, Registry } from 'prom-client';

import type { ResolvedConnection } from '../config/config-types.js';
import { connectionLabel } from '../config/connection-endpoint.js';
import { DEFAULT_DEPTH_INTERVAL_SECONDS, MAX_DEPTH_INTERVAL_SECONDS } from '../config/defaults.js';
import type { LockStore } from '../contracts/lock-store.js';
import type { QueueInspector } from '../contracts/queue-inspector.js';
import type { WorkerQueue } from '../contracts/worker-queue.js';
import { openQueueInspector } from '../drivers/connect.js';
import { ConfigError } from '../errors/config-error.js';
import { DepthSampleError } from '../errors/depth-sample-error.js';
import { bootedRuntime, type ErrandRuntime, onShutdown, track } from '../runtime/current.js';
import { type ConnectionDepth, type FailedDepth, readConnectionDepth, readFailedDepth } from './depth-reading.js';
import { loadPromClient } from './load-prom-client.js';
import { METRIC } from './metric-names.js';
import { SamplerLease } from './sampler-lease.js';

/** How the depth gauges sample. Unset values come from `metrics.depth` in the config. */
export interface DepthGaugeOptions {
  /** Seconds between samples (1 to 86,400). Default `metrics.depth.interval` (15). */
  readonly interval?: number;
  /** Where each count stops (a whole number ≥ 1). Default `metrics.depth.cap` (100,000). */
  readonly cap?: number;
  /**
   * The queue connections to sample. Default: every database and redis connection of the config.
   * Connections that share one store (two names on one table or Redis prefix) are read once, under
   * the first name: the default connection first, then the others in the order given.
   */
  readonly connections?: readonly string[];
  /**
   * The runtime to read (a dashboard's own, say), or a function giving it or undefined when there
   * is none yet. Default: the runtime booted in this process. The gauges never boot errand: with
   * no runtime they show `errand_depth_sampler 0` and try again at the next interval.
   */
  readonly runtime?: ErrandRuntime | (() => ErrandRuntime | undefined);
  /**
   * Whether to sample only while holding the sampler lease (default true). False samples
   * regardless, for a one-off read such as `errand metrics`.
   */
  readonly elect?: boolean;
  /** Whether a timer samples every `interval` (default true). False: only `sampleNow()` samples. */
  readonly timer?: boolean;
}

/** The depth gauges registered in one registry. */
export interface DepthGauges {
  /**
   * Takes or renews the sampler lease and, when held, samples every connection now; resolves
   * when the gauges show the result. Waits for a sample already under way, then takes a fresh
   * one. A connection or store that cannot be read is reported (through the config's `report`),
   * not thrown.
   */
  sampleNow(): Promise<void>;
  /**
   * Shows the same gauges in another registry too (an app's own registry beside errand's), so one
   * process has one sampler and one lease however many registries export it. A registry that
   * already holds another metric of one of these names is refused, naming it.
   */
  showIn(registry: Registry): void;
  /** Stops the timer, removes the families from every registry showing them and releases the lease. */
  stop(): void;
}

/** The state label values of `errand_queue_jobs`. */
const STATES = ['pending', 'delayed', 'reserved'] as const;

const HELP = {
  queueJobs: 'Jobs in a queue by state (pending, delayed, reserved), each count stopping at metrics.depth.cap.',
  oldestPendingAge: 'Seconds since the oldest pending job of a queue became available; 0 when none is pending.',
  paused: 'Whether workers skip the queue (queue:pause): 1 or 0.',
  failedJobs: 'Failed jobs stored for a connection and queue, stopping at metrics.depth.cap.',
  workers: 'Live workers (heartbeat within its lapse) on a host; 0 for a host whose registered workers are all lost.',
  busySlots: 'Jobs held by the live workers of a host (busy slots, prefetched jobs included).',
  depthSampler: 'Whether this process samples the depth gauges now (1) or another holds the sampler lease (0).',
  depthSampledAt: 'Unix seconds of the last depth sample of a connection that succeeded in this process.',
  depthSampleUp:
    'Whether the last depth sample of a connection succeeded (1) or failed (0), even one that never succeeded.',
} as const;

type DepthFamily = keyof typeof HELP;

const LABELS: Record<DepthFamily, readonly string[]> = {
  queueJobs: ['connection', 'queue', 'state'],
  oldestPendingAge: ['connection', 'queue'],
  paused: ['connection', 'queue'],
  failedJobs: ['connection', 'queue'],
  workers: ['connection', 'host'],
  busySlots: ['connection', 'host'],
  depthSampler: [],
  depthSampledAt: ['connection'],
  depthSampleUp: ['connection'],
};

const registered = new WeakMap<Registry, DepthGauges>();

/**
 * Registers the depth gauges (`errand_queue_jobs`, oldest pending age, paused, failed jobs,
 * workers, busy slots, and the sampler's own two) in `registry`, showing the last sample. One
 * process at a time samples (the lease `errand:metrics:depth-sampler` in the runtime's lock
 * store); the others export only `errand_depth_sampler 0`, so Prometheus never sums several
 * processes' copies of one count. A registry that already shows them gets the same handle back;
 * each call with a new registry is a new candidate for the lease (use `showIn` to export one
 * sampler in several registries).
 */
export function registerDepthGauges(registry: Registry, options: DepthGaugeOptions = {}): DepthGauges {
  const existing = registered.get(registry);
  if (existing) return existing;
  checkOptions(options);
  const sampler = new DepthSampler(options);
  const registries = new Set<Registry>();
  const handle: DepthGauges = {
    sampleNow: () => sampler.sampleNow(),
    showIn(target) {
      if (registries.has(target)) return;
      const other = registered.get(target);
      if (other)
        throw new ConfigError("registerDepthGauges: this registry already shows another sampler's depth gauges.");
      for (const metric of sampler.metrics()) {
        const name = (metric as unknown as { name: string }).name;
        if (target.getSingleMetric(name)) {
          throw new ConfigError(
            `registerDepthGauges: the registry already holds a metric named [${name}] that is not errand's depth gauge; ` +
              'remove it, or give errand another registry.',
          );
        }
      }
      for (const metric of sampler.metrics()) target.registerMetric(metric);
      registries.add(target);
      registered.set(target, handle);
    },
    stop() {
      for (const target of registries) {
        for (const metric of sampler.metrics()) target.removeSingleMetric((metric as unknown as { name: string }).name);
        registered.delete(target);
      }
      registries.clear();
      sampler.stop();
    },
  };
  handle.showIn(registry);
  sampler.start();
  return handle;
}

function checkOptions(options: DepthGaugeOptions): void {
  const { interval, cap, connections } = options;
  if (
    interval !== undefined &&
    !(
      typeof interval === 'number' &&
      Number.isFinite(interval) &&
      interval >= 1 &&
      interval <= MAX_DEPTH_INTERVAL_SECONDS
    )
  )
    throw new ConfigError(
      `registerDepthGauges: interval must be a number of seconds from 1 to ${MAX_DEPTH_INTERVAL_SECONDS}, got ${String(interval)}.`,
    );
  if (cap !== undefined && !(Number.isSafeInteger(cap) && cap >= 1))
    throw new ConfigError(`registerDepthGauges: cap must be a whole number ≥ 1, got ${String(cap)}.`);
  if (connections !== undefined && !(Array.isArray(connections) && connections.every((c) => typeof c === 'string')))
    throw new ConfigError('registerDepthGauges: connections must be an array of connection names.');
}

/** Samples the stores, keeps the last result and writes it into the gauges. */
class DepthSampler {
  private readonly gauges: Record<DepthFamily, Gauge>;
  private readonly lease: SamplerLease;
  private readonly interval: number;
  private readonly inspectors = new WeakMap<WorkerQueue, QueueInspector>();
  /** The last successful reading per connection; a connection that failed since is absent. */
  private readonly depths = new Map<string, ConnectionDepth>();
  /** Unix seconds of each connection's last successful reading, kept through failures. */
  private readonly sampledAt = new Map<string, number>();
  /** Whether each sampled connection's last reading succeeded. */
  private readonly up = new Map<string, boolean>();
  /** Undefined when the failed-jobs store could not be read: its series are left out. */
  private failed: FailedDepth[] | undefined = [];
  /** The last failure reported per subject, so an outage is reported once, not every interval. */
  private readonly reported = new Map<string, string>();
  private sampling = false;
  private stopped = false;
  private locks: LockStore | undefined;
  private forgetShutdown: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private chain: Promise<void> = Promise.resolve();

  constructor(private readonly options: DepthGaugeOptions) {
    const { Gauge } = loadPromClient();
    this.interval =
      options.interval ?? bootedRuntime()?.config.metrics.depth.interval ?? DEFAULT_DEPTH_INTERVAL_SECONDS;
    this.lease = new SamplerLease(this.interval);
    const make = (family: DepthFamily) =>
      new Gauge({ name: METRIC[family], help: HELP[family], labelNames: LABELS[family], registers: [] });
    this.gauges = {
      queueJobs: make('queueJobs'),
      oldestPendingAge: make('oldestPendingAge'),
      paused: make('paused'),
      failedJobs: make('failedJobs'),
      workers: make('workers'),
      busySlots: make('busySlots'),
      depthSampler: make('depthSampler'),
      depthSampledAt: make('depthSampledAt'),
      depthSampleUp: make('depthSampleUp'),
    };
    this.gauges.depthSampler.set(0);
  }

  /** The gauge families, for a registry to show. */
  metrics(): Metric[] {
    return Object.values(this.gauges) as Metric[];
  }

  start(): void {
    // shutdown() lets the lease go before it closes the lock store, so another process takes
    // over at its next sample instead of when the lease lapses.
    this.forgetShutdown = onShutdown(() => this.letGo());
    if (this.options.timer === false) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      void this.sampleNow()
        .catch((error: unknown) => this.report('sample', error))
        .finally(() => this.schedule(this.interval * 1000));
    }, ms);
    // The gauges never keep a process alive: a worker or an app exits when its own work is done.
    this.timer.unref();
  }

  sampleNow(): Promise<void> {
    const next = this.chain.then(() => this.sampleOnce());
    this.chain = next.catch(() => undefined);
    return next;
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.forgetShutdown?.();
    clearTimeout(this.timer);
    const locks = this.locks;
    // Released in the background, tracked so shutdown() waits for it before closing the store.
    if (locks)
      void track(this.chain.then(() => this.lease.release(locks))).catch((error: unknown) =>
        this.report('lease', error),
      );
  }

  /**
   * Before shutdown closes the store: waits for a sample under way and lets the lease go, so this
   * process exports `errand_depth_sampler 0` until a runtime is booted again and it wins the lease.
   */
  private async letGo(): Promise<void> {
    const locks = this.locks;
    const done = this.chain.then(async () => {
      if (locks) await this.lease.release(locks);
      this.locks = undefined;
      this.publish(false);
    });
    this.chain = done.catch(() => undefined);
    await done.catch((error: unknown) => this.report('lease', error));
  }

  /** The runtime to sample: the one given, else the booted one. Never boots errand itself. */
  private app(): ErrandRuntime | undefined {
    const given = this.options.runtime;
    if (given === undefined) return bootedRuntime();
    return typeof given === 'function' ? given() : given;
  }

  private async sampleOnce(): Promise<void> {
    if (this.stopped) return;
    const app = this.app();
    if (!app) return this.publish(false);
    if (this.options.elect !== false) {
      this.locks = app.queues.locks();
      let won: boolean;
      try {
        won = await this.lease.claim(this.locks);
        this.forget('lease');
      } catch (error) {
        this.report('lease', error, 'could not take or renew the depth sampler lease in the lock store');
        won = false;
      }
      if (!won || this.stopped) return this.publish(false);
    }
    const cap = this.options.cap ?? app.config.metrics.depth.cap;
    const connections = this.options.connections ?? defaultConnections(app);
    const stores = oneConnectionPerStore(app, connections);
    await Promise.all([
      ...stores.map(async (connection) => {
        try {
          const depth = await readConnectionDepth(this.inspector(app, connection), cap);
          this.depths.set(connection, depth);
          this.sampledAt.set(connection, Date.now() / 1000);
          this.up.set(connection, true);
          this.forget(`connection:${connection}`);
        } catch (error) {
          this.depths.delete(connection);
          this.up.set(connection, false);
          const label = connectionLabel(connection, app.config.connections[connection]);
          this.report(`connection:${connection}`, error, `could not sample connection ${label}`);
        }
      }),
      (async () => {
        try {
          this.failed = await readFailedDepth(app.queues.failedJobBrowser(), new Set(connections), cap);
          this.forget('failed');
        } catch (error) {
          this.failed = undefined;
          const failed = app.config.failed;
          const where =
            failed.driver === 'null'
              ? 'the failed-jobs store'
              : `the failed-jobs table ${failed.table} on connection ${connectionLabel(failed.connection, app.config.connections[failed.connection])}`;
          this.report('failed', error, `could not count ${where}`);
        }
      })(),
    ]);
    // Connections no longer sampled (a re-boot with another config) are dropped.
    for (const known of [this.depths, this.sampledAt, this.up])
      for (const connection of known.keys()) if (!stores.includes(connection)) known.delete(connection);
    if (!this.stopped) this.publish(true);
  }

  private inspector(app: ErrandRuntime, connection: string): QueueInspector {
    const queue = app.queues.worker(connection);
    let inspector = this.inspectors.get(queue);
    if (!inspector) this.inspectors.set(queue, (inspector = openQueueInspector(queue)));
    return inspector;
  }

  /**
   * Writes the last sample into the gauges in one synchronous pass, so a scrape never sees half
   * of it; a process that is not the sampler shows only `errand_depth_sampler 0`.
   */
  private publish(sampling: boolean): void {
    this.sampling = sampling;
    const g = this.gauges;
    for (const gauge of Object.values(g)) gauge.reset();
    g.depthSampler.set(this.sampling ? 1 : 0);
    if (!this.sampling) return;
    for (const [connection, depth] of this.depths) {
      for (const queue of depth.queues) {
        const labels = { connection, queue: queue.name };
        for (const state of STATES) g.queueJobs.set({ ...labels, state }, queue[state]);
        g.oldestPendingAge.set(labels, queue.oldestPendingAge ?? 0);
        g.paused.set(labels, queue.paused ? 1 : 0);
      }
      for (const { host, workers, busySlots } of depth.hosts) {
        g.workers.set({ connection, host }, workers);
        g.busySlots.set({ connection, host }, busySlots);
      }
    }
    for (const { connection, queue, count } of this.failed ?? []) g.failedJobs.set({ connection, queue }, count);
    for (const [connection, at] of this.sampledAt) g.depthSampledAt.set({ connection }, at);
    for (const [connection, up] of this.up) g.depthSampleUp.set({ connection }, up ? 1 : 0);
  }

  /** Reports a failure of `subject` once per distinct message, naming what could not be read. */
  private report(subject: string, error: unknown, what?: string): void {
    const reason = error instanceof Error ? error.message : String(error);
    // A reason that already ends a sentence ("run `errand migrate`.") gets no second stop.
    const ended = /[.!?]$/.test(reason) ? reason : `${reason}.`;
    const message = what
      ? `errand's depth gauges ${what}: ${ended} Its series are left out until a sample succeeds.`
      : `errand's depth gauges: ${reason}`;
    if (this.reported.get(subject) === message) return;
    this.reported.set(subject, message);
    const report = bootedRuntime()?.config.report ?? ((e: unknown) => console.error('[errand]', e));
    report(new DepthSampleError(message, { cause: error }));
  }

  private forget(subject: string): void {
    this.reported.delete(subject);
  }
}

/**
 * One connection per distinct store, the default connection first, so two names on one jobs
 * table or Redis prefix (another `retryAfter` for long jobs, say) do not count its jobs and
 * workers twice. Each connection opens its own pool, so the queues' `sharesStoreWith` cannot tell:
 * where the jobs live is read from the config (database: client, server and table; redis: server,
 * cluster and prefix).
 */
function oneConnectionPerStore(app: ErrandRuntime, connections: readonly string[]): string[] {
  const ordered = [...new Set(connections)].sort((a, b) =>
    a === app.config.default ? -1 : b === app.config.default ? 1 : 0,
  );
  const seen = new Set<string>();
  const distinct: string[] = [];
  for (const name of ordered) {
    const store = storeOf(app.config.connections[name]);
    if (store !== undefined && seen.has(store)) continue;
    if (store !== undefined) seen.add(store);
    distinct.push(name);
  }
  return distinct;
}

/** Where a connection keeps its jobs, as a comparable string; undefined when unknown (kept apart). */
function storeOf(config: ResolvedConnection | undefined): string | undefined {
  if (config?.driver === 'database')
    return JSON.stringify(['database', config.client, config.connection, config.table]);
  if (config?.driver === 'redis') return JSON.stringify(['redis', config.url, config.cluster, config.prefix]);
  return undefined;
}

/** Every connection whose driver has a queue inspector: database and redis. */
function defaultConnections(app: ErrandRuntime): string[] {
  const { connections } = app.config;
  return Object.keys(connections).filter((name) => ['database', 'redis'].includes(connections[name]!.driver));
}
