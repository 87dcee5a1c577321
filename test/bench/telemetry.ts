import { context, type Span, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type ReadableSpan,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';
import { Registry } from 'prom-client';

// errand's metrics entry as compiled beside this file from src/, not dist/'s copy: the hot paths
// count into the sink of the module graph the worker runs in.
import { registerErrandMetrics } from '../../src/metrics/index.js';

/*
 * The telemetry phase's "on" side: what an operator who turned both features on runs in a worker
 * process. Metrics: errand's families registered in a prom-client registry (so the hot paths
 * count). Tracing: an OpenTelemetry SDK registered globally, sampling every trace, a batch span
 * processor handing the spans to an exporter that counts and drops them (a real exporter's
 * network cost belongs to the collector, not to errand).
 */

/**
 * What the telemetry phase turns on: `on` is both, `metrics` and `tracing` one each (to attribute
 * a cost); `sampled` is both with a 1% head sampler instead of every trace (the usual production
 * setting; the goal is judged on `on` and `sampled` side by side). `sdk` registers the SDK as
 * `tracing` does but boots errand with `tracing.enabled: false`: what the SDK costs the process
 * without errand's spans.
 */
export type TelemetryMode = 'off' | 'on' | 'metrics' | 'tracing' | 'sampled' | 'sdk';

export const TELEMETRY_MODES: readonly TelemetryMode[] = ['off', 'on', 'metrics', 'tracing', 'sampled', 'sdk'];

/** Whether `mode` boots errand with `tracing.enabled` (and registers an OpenTelemetry SDK). */
export const tracesJobs = (mode: TelemetryMode) => mode === 'on' || mode === 'tracing' || mode === 'sampled';

/** Whether `mode` registers an OpenTelemetry SDK. */
const registersSdk = (mode: TelemetryMode) => tracesJobs(mode) || mode === 'sdk';

/** Whether `mode` registers errand's Prometheus families. */
const countsJobs = (mode: TelemetryMode) => mode === 'on' || mode === 'metrics' || mode === 'sampled';

/** Counts the spans it is handed by kind, and keeps none of them. */
class CountingExporter implements SpanExporter {
  readonly counts = { spans: 0, producer: 0, consumer: 0, consumerLinkedOrParented: 0 };

  export(spans: ReadableSpan[], done: (result: { code: 0 }) => void): void {
    for (const span of spans) {
      this.counts.spans++;
      if (span.kind === SpanKind.PRODUCER) this.counts.producer++;
      if (span.kind === SpanKind.CONSUMER) {
        this.counts.consumer++;
        // Carried the producer's context through the payload: a link (mode `link`) or a parent.
        if (span.links.length > 0 || span.parentSpanContext !== undefined) this.counts.consumerLinkedOrParented++;
      }
    }
    done({ code: 0 });
  }

  async shutdown(): Promise<void> {}
}

/** The telemetry of one scenario process. */
export interface Telemetry {
  readonly mode: TelemetryMode;
  /** Runs `work` inside an active span when tracing is on, so every job dispatched in it carries a traceContext. */
  inSpan<T>(name: string, work: () => Promise<T>): Promise<T>;
  /**
   * Flushes the spans, reads the counters back and checks that they saw every job (so a run
   * "on" that recorded nothing cannot pass for a cheap one); resolves to figures for the JSON.
   */
  finish(jobs: number): Promise<Record<string, number>>;
}

let provider: BasicTracerProvider | undefined;
let exporter: CountingExporter | undefined;

/**
 * Registers the tracing SDK globally when `mode` asks for it. Call before errand boots, as an
 * application registers its SDK before anything else.
 */
export function startTracing(mode: TelemetryMode): void {
  if (!registersSdk(mode)) return;
  exporter = new CountingExporter();
  provider = new BasicTracerProvider({
    sampler:
      mode === 'sampled' ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.01) }) : new AlwaysOnSampler(),
    // The processor's defaults, as an application runs it (a queue of 2,048 spans, exported by
    // 512). The fill's bulk sends 20,000 spans faster than batches leave, so about half of its
    // producer spans are dropped (`producerSpans` in the JSON); that is before the clock starts.
    // The drain's consumer spans keep up: one dropped would fail the count in finish().
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
}

/** Registers errand's metrics when `mode` asks for it (after boot: the depth sampler needs the runtime). */
export async function startTelemetry(mode: TelemetryMode): Promise<Telemetry> {
  const registry = countsJobs(mode) ? new Registry() : undefined;
  const registration = registry ? registerErrandMetrics(registry) : undefined;
  return {
    mode,
    inSpan(name, work) {
      if (!provider) return work();
      return trace.getTracer('errand-bench').startActiveSpan(name, async (span: Span) => {
        try {
          return await work();
        } finally {
          span.end();
        }
      });
    },
    async finish(jobs) {
      const figures: Record<string, number> = {};
      if (registry) {
        // The depth sampler's timer would keep the process alive.
        registration?.stop();
        const started = performance.now();
        await registry.metrics();
        figures.scrapeMs = Math.round((performance.now() - started) * 100) / 100;
        const processed = (await registry.getMetricsAsJSON()).find((m) => m.name === 'errand_jobs_processed_total');
        const completed = (processed?.values ?? [])
          .filter((v) => v.labels.outcome === 'completed')
          .reduce((sum, v) => sum + v.value, 0);
        if (completed !== jobs)
          throw new Error(
            `telemetry ${mode}: errand_jobs_processed_total{outcome="completed"} is ${completed}, not ${jobs}.`,
          );
        figures.processedCounted = completed;
      }
      if (provider && exporter) {
        await provider.forceFlush();
        const counts = exporter.counts;
        // Every job's attempt recorded, or about 1% of them under the ratio sampler; each recorded
        // one carrying its producer's context either way.
        const recorded =
          mode === 'sdk'
            ? counts.consumer === 0 && counts.producer === 0
            : mode === 'sampled'
              ? counts.consumer > 0 && counts.consumer < jobs / 10
              : counts.consumer === jobs;
        if (!recorded || counts.consumerLinkedOrParented !== counts.consumer)
          throw new Error(
            `telemetry ${mode}: ${counts.consumer} consumer spans, ${counts.consumerLinkedOrParented} with the producer's context, for ${jobs} jobs.`,
          );
        Object.assign(figures, {
          spans: counts.spans,
          producerSpans: counts.producer,
          consumerSpans: counts.consumer,
        });
        await provider.shutdown();
      }
      return figures;
    },
  };
}
