import type { Counter, Histogram, Metric, Registry, RegistryContentType } from 'prom-client';

import { ConfigError } from '../errors/config-error.js';
import { type DepthGaugeOptions, type DepthGauges, registerDepthGauges } from './depth-gauges.js';
import { loadPromClient } from './load-prom-client.js';
import { DURATION_BUCKETS, METRIC, type ProcessedOutcome, WAIT_BUCKETS } from './metric-names.js';
import { installProcessMetrics, type ProcessMetricsSink } from './process-metrics.js';

/** Options of {@link registerErrandMetrics}. */
export interface RegisterErrandMetricsOptions {
  /**
   * The depth gauges (queue depth, oldest pending age, failed jobs, paused, workers): true (the
   * default) registers them, sampled by this process while it holds the sampler lease; options
   * tune them (`registerDepthGauges`); false leaves them out (another process exports them).
   */
  readonly depth?: boolean | DepthGaugeOptions;
}

/** What {@link registerErrandMetrics} gives back. */
export interface ErrandMetrics {
  /** The registry errand's families are registered in. */
  readonly registry: Registry<RegistryContentType>;
  /** The depth gauges of this registry, unless `depth: false` left them out. */
  readonly depth: DepthGauges | undefined;
  /**
   * Stops what this registration runs in the background: its depth gauges stop sampling, leave
   * every registry showing them (registrations with the default `depth: true` share one sampler)
   * and let the sampler lease go. The counters and histograms stay and go on counting; calling
   * `registerErrandMetrics` with the registry again registers the depth gauges anew.
   */
  stop(): void;
}

/** errand's counter and histogram families: one set per process, whatever registries show them. */
interface Families {
  readonly dispatched: Counter<'connection' | 'queue' | 'job'>;
  readonly processed: Counter<'connection' | 'queue' | 'job' | 'outcome'>;
  readonly duration: Histogram<'connection' | 'queue' | 'job' | 'outcome'>;
  readonly wait: Histogram<'connection' | 'queue' | 'job'>;
  readonly recovered: Counter<'connection' | 'queue'>;
}

let families: Families | undefined;
/** The registry `registerErrandMetrics()` with no argument uses: errand's own, made on first use. */
let ownRegistry: Registry<RegistryContentType> | undefined;
/** Registrations already made, so a second call with the same registry changes nothing. */
let registrations = new WeakMap<Registry<RegistryContentType>, ErrandMetrics>();
/** Depth gauges started by registrations, stopped by resetErrandMetrics. */
const started = new Set<DepthGauges>();
/**
 * The depth gauges of registrations with the default `depth: true`: one sampler per process,
 * shown in each such registry, so a process is one candidate for the lease however many
 * registries export it.
 */
let processGauges: DepthGauges | undefined;

function depthGaugesFor(target: Registry, depth: boolean | DepthGaugeOptions): DepthGauges | undefined {
  if (depth === false) return undefined;
  if (depth === true && processGauges) {
    processGauges.showIn(target);
    return processGauges;
  }
  const gauges = registerDepthGauges(target, depth === true ? {} : depth);
  if (depth === true) processGauges = gauges;
  started.add(gauges);
  return gauges;
}

function createFamilies(): Families {
  const client = loadPromClient();
  // registers: [] keeps them out of prom-client's global registry: each lands only where asked.
  return {
    dispatched: new client.Counter({
      name: METRIC.dispatched,
      help: 'Jobs stored on a queue: dispatches, bulk pushes, chain links, batch jobs, retried failed jobs and the push API.',
      labelNames: ['connection', 'queue', 'job'] as const,
      registers: [],
    }),
    processed: new client.Counter({
      name: METRIC.processed,
      help: 'Attempts that ended, by outcome: completed, failed, released, timed_out or lease_lost.',
      labelNames: ['connection', 'queue', 'job', 'outcome'] as const,
      registers: [],
    }),
    duration: new client.Histogram({
      name: METRIC.duration,
      help: 'Seconds an attempt ran, from the worker taking it up to its outcome (the finishing write that follows excluded), by outcome.',
      labelNames: ['connection', 'queue', 'job', 'outcome'] as const,
      buckets: DURATION_BUCKETS,
      registers: [],
    }),
    wait: new client.Histogram({
      name: METRIC.wait,
      help: 'Seconds a job waited from becoming available to being claimed.',
      labelNames: ['connection', 'queue', 'job'] as const,
      buckets: WAIT_BUCKETS,
      registers: [],
    }),
    recovered: new client.Counter({
      name: METRIC.recovered,
      help: 'Jobs taken back from workers that stopped holding them, claimable again: swept from a dead worker, or a reservation older than retryAfter that no heartbeat renewed.',
      labelNames: ['connection', 'queue'] as const,
      registers: [],
    }),
  };
}

/** The sink the hot paths call, writing into the families. */
function sinkOf(f: Families): ProcessMetricsSink {
  return {
    dispatched(connection, queue, job, count) {
      f.dispatched.inc({ connection, queue, job }, count);
    },
    processed(connection, queue, job, outcome: ProcessedOutcome, seconds, waitSeconds) {
      const labels = { connection, queue, job, outcome };
      f.processed.inc(labels, 1);
      f.duration.observe(labels, seconds);
      if (waitSeconds !== undefined) f.wait.observe({ connection, queue, job }, waitSeconds);
    },
    recovered(connection, queue, count) {
      f.recovered.inc({ connection, queue }, count);
    },
  };
}

/**
 * Registers errand's Prometheus families in `registry` (default: errand's own registry, one per
 * process) and starts counting in this process: jobs dispatched, attempts processed with their
 * run and wait histograms, jobs recovered from lapsed leases. Calling it again with the same
 * registry returns the same registration; another registry shows the same families, with the same
 * counts (decision 0073). A registry that already holds a different metric of one of errand's
 * names is refused, naming it. Needs prom-client (an optional peer).
 */
export function registerErrandMetrics(
  registry?: Registry<RegistryContentType>,
  options: RegisterErrandMetricsOptions = {},
): ErrandMetrics {
  const client = loadPromClient();
  const target = registry ?? (ownRegistry ??= new client.Registry());
  const known = registrations.get(target);
  if (known) return known;
  if (!families) {
    families = createFamilies();
    installProcessMetrics(sinkOf(families));
  }
  const mine = Object.values(families) as Metric[];
  for (const metric of mine) {
    const name = (metric as unknown as { name: string }).name;
    const present = target.getSingleMetric(name);
    if (present && present !== metric) {
      throw new ConfigError(
        `registerErrandMetrics: the registry already holds a metric named [${name}] that is not errand's; ` +
          'errand registers its own families there (remove that metric, or give errand another registry).',
      );
    }
  }
  // The gauges first: a registry they refuse (a foreign metric of theirs) gets nothing of errand's.
  const gauges = depthGaugesFor(target as Registry, options.depth ?? true);
  for (const metric of mine) target.registerMetric(metric);
  const registration: ErrandMetrics = {
    registry: target,
    depth: gauges,
    stop() {
      // Registering this registry again starts over (the counters keep their counts).
      if (registrations.get(target) === registration) registrations.delete(target);
      if (!gauges) return;
      started.delete(gauges);
      if (gauges === processGauges) processGauges = undefined;
      gauges.stop();
    },
  };
  registrations.set(target, registration);
  return registration;
}

/**
 * @internal Stops every registration's depth gauges and forgets the registrations and the
 * families (tests): the next registration starts at zero.
 */
export function resetErrandMetrics(): void {
  for (const gauges of started) gauges.stop();
  started.clear();
  processGauges = undefined;
  families = undefined;
  ownRegistry = undefined;
  registrations = new WeakMap();
  installProcessMetrics(undefined);
}
