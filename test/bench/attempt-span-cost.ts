import { parseArgs } from 'node:util';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  AlwaysOnSampler,
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  type SpanExporter,
  TraceIdRatioBasedSampler,
} from '@opentelemetry/sdk-trace-base';

import type { ReservedJob } from '../../src/contracts/reserved-job.js';
import type { JobPayload } from '../../src/payload/job-payload.js';
import { traceAttempt } from '../../src/tracing/process-span.js';
import { configureTracing, tracing } from '../../src/tracing/tracing-state.js';

/*
 * What the attempt span costs per attempt, without the I/O of a drain whose noise hides a few
 * microseconds: `traceAttempt` around an empty async attempt, 10 at a time, CPU per attempt. By hand:
 *   node test/bench/.build/test/bench/attempt-span-cost.js --mode sampled
 * Modes as the telemetry phase's: `sdk` (the SDK registered, errand's tracing off: the bare
 * attempt under the context manager), `sampled` (a parent-based 1% ratio), `on` (every attempt).
 */

const { values: args } = parseArgs({
  options: { mode: { type: 'string', default: 'sampled' }, attempts: { type: 'string', default: '200000' } },
});
const mode = args.mode;
if (mode !== 'sdk' && mode !== 'sampled' && mode !== 'on')
  throw new Error(`--mode: [${mode}] is not one of sdk, sampled, on.`);
const attempts = Number(args.attempts);

const dropAll: SpanExporter = { export: (_spans, done) => done({ code: 0 }), shutdown: async () => {} };
const provider = new BasicTracerProvider({
  sampler:
    mode === 'sampled' ? new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(0.01) }) : new AlwaysOnSampler(),
  spanProcessors: [new BatchSpanProcessor(dropAll)],
});
context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
trace.setGlobalTracerProvider(provider);
configureTracing({ enabled: mode !== 'sdk', propagation: 'link' });
const state = tracing();

const hex = (digits: number) =>
  Array.from({ length: digits }, () => Math.floor(Math.random() * 16).toString(16)).join('');
// Each job carries its producer's context, as the drain's do (dispatched inside a span).
const payloads = Array.from(
  { length: 1000 },
  () =>
    ({
      uuid: hex(32),
      data: { commandName: 'BenchJob' },
      traceContext: { traceparent: `00-${hex(32)}-${hex(16)}-00` },
    }) as unknown as JobPayload,
);

class Processor {
  /** Two awaits, as an attempt has a few: the context manager's hooks run on their promises. */
  async attempt(_reserved: ReservedJob, _payload: JobPayload): Promise<string> {
    await null;
    await null;
    return 'deleted';
  }
}
const processor = new Processor();

function one(i: number): Promise<string> {
  const reserved = { id: String(i), queue: 'default', attempts: 1 } as ReservedJob;
  const payload = payloads[i % payloads.length]!;
  return state
    ? traceAttempt(state, reserved, 'bench', payload, processor.attempt, processor, reserved, payload)
    : processor.attempt(reserved, payload);
}

async function drain(count: number): Promise<void> {
  let next = 0;
  const slot = async () => {
    while (next < count) await one(next++);
  };
  await Promise.all(Array.from({ length: 10 }, slot));
}

// Warm-up inside a context switch, as the bench's fill is: the context manager's hooks are on.
await context.with(context.active(), () => drain(20_000));
const before = process.cpuUsage();
await drain(attempts);
const cpu = process.cpuUsage(before);
await provider.shutdown();
process.stdout.write(
  `${JSON.stringify({ scenario: 'attempt-span-cost', mode, attempts, cpuUsPerAttempt: Math.round(((cpu.user + cpu.system) / attempts) * 1000) / 1000 })}\n`,
);
