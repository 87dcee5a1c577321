// OpenTelemetry spans from dispatch to handler (decisions 0077, 0078) on every store: a PRODUCER
// span per stored job whose context the payload carries in `traceContext`, a CONSUMER span per
// attempt related to it as `tracing.propagation` says, jobs dispatched from a handler (and a
// chain's next link) under the attempt's span, and nothing written when no SDK is registered.
import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  type ReadableSpan,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { Queue } from '../../src/bus/queue.js';
import type { TracingPropagation } from '../../src/config/config-types.js';
import { Job } from '../../src/decorators/job.js';
import { Listener } from '../../src/decorators/listener.js';
import { JobProcessing } from '../../src/events/job-processing.js';
import { retryFailedJob } from '../../src/failed/retry-failed-job.js';
import { Queueable } from '../../src/job/queueable.js';
import { Event } from '../../src/listeners/event.js';
import { generateKey } from '../../src/payload/keyring.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { describeEachEngine, freshStore, storeConnections, type TestStore } from '../helpers/databases.js';

const handled: string[] = [];

/** Records its label. */
@Job({ name: 'TracedStep' })
class TracedStep extends Queueable {
  constructor(public label: string) {
    super();
  }
  async handle() {
    handled.push(this.label);
  }
}

/** Throws on its first attempt, succeeds on the next. */
@Job({ name: 'TracedFlaky', tries: 2 })
class TracedFlaky extends Queueable {
  async handle() {
    if (this.attempts() === 1) throw new Error('flaky on attempt 1');
    handled.push('flaky');
  }
}

/** Always throws; one try. */
@Job({ name: 'TracedBroken', tries: 1 })
class TracedBroken extends Queueable {
  async handle() {
    throw new Error('broken for good');
  }
}

/** Runs until its attempt is aborted: its one-second timeout ends it. */
@Job({ name: 'TracedStuck', tries: 1, timeout: 1 })
class TracedStuck extends Queueable {
  async handle() {
    const signal = this.signal;
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  }
}

/** An event with a queued listener. */
class TracedHappened extends Event {
  constructor(public label: string) {
    super();
  }
}

/** Queued: each TracedHappened pushes a job that runs it. */
@Listener({ event: TracedHappened, queued: true, name: 'TracedListener' })
class TracedListener {
  async handle(event: TracedHappened) {
    handled.push(`heard ${event.label}`);
  }
}

// Registered by its decorator; nothing else names it.
void TracedListener;

/** Fires TracedHappened from its handler. */
@Job({ name: 'TracedAnnouncer' })
class TracedAnnouncer extends Queueable {
  async handle() {
    await TracedHappened.dispatch('news');
  }
}

/** Dispatches a TracedStep from its handler. */
@Job({ name: 'TracedParent' })
class TracedParent extends Queueable {
  async handle() {
    await TracedStep.dispatch('child');
  }
}

/** Clears its own queue while it runs, so its lease is lost before its delete. */
@Job({ name: 'TracedLoser' })
class TracedLoser extends Queueable {
  async handle() {
    await Queue.clear();
    handled.push('lost');
  }
}

/** Its data is sealed in the payload. */
@Job({ name: 'TracedSecret', encrypted: true })
class TracedSecret extends Queueable {
  constructor(public secret: string) {
    super();
  }
  async handle() {
    handled.push(this.secret);
  }
}

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
const KEY = generateKey();

function registerSdk(): void {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
}

function unregisterSdk(): void {
  trace.disable();
  context.disable();
}

const spans = (kind: SpanKind): ReadableSpan[] =>
  exporter
    .getFinishedSpans()
    .filter((span) => span.kind === kind)
    .sort((a, b) => a.startTime[0] - b.startTime[0] || a.startTime[1] - b.startTime[1]);
const idOf = (span: ReadableSpan | Span) => span.spanContext().spanId;
const traceOf = (span: ReadableSpan | Span) => span.spanContext().traceId;
const messageOf = (span: ReadableSpan) => span.attributes['messaging.message.id'];

/** Runs `dispatch` inside an active span `request`, which it returns ended. */
async function inRequest(dispatch: () => PromiseLike<unknown>): Promise<Span> {
  const request = trace.getTracer('test').startSpan('request');
  await context.with(trace.setSpan(context.active(), request), async () => await dispatch());
  request.end();
  return request;
}

await describeEachEngine('tracing', (engine) => {
  let store: TestStore;
  /** The raw payload of every attempt, as the worker claimed it. */
  let claimed: string[] = [];
  let stopListening: (() => void) | undefined;

  async function bootWith(tracing: { enabled?: boolean; propagation?: TracingPropagation } = {}) {
    const connections = { ...storeConnections(store), sync: { driver: 'sync' as const } };
    await boot({ default: store.default, connections, key: KEY, tracing });
    stopListening?.();
    stopListening = Queue.on(JobProcessing, (event) => void claimed.push(event.job.reserved.payload));
  }

  /** Works every job, retries included, until the queue is empty. */
  async function work(): Promise<void> {
    const status = await createWorker({ stopWhenEmpty: true, sleep: 0, backoff: 0, tries: 2, memory: 4096 }).run();
    expect(status).toBe(0);
  }

  beforeAll(async () => {
    store = await freshStore(engine, 'tracing');
    await bootWith();
    await runMigrations();
  });
  afterAll(async () => {
    stopListening?.();
    unregisterSdk();
    await shutdown();
  });
  beforeEach(() => {
    claimed = [];
    handled.length = 0;
    exporter.reset();
  });

  describe('without an SDK', () => {
    beforeAll(() => unregisterSdk());

    it('writes no traceContext: the API alone hands out spans that carry nothing', async () => {
      await bootWith({ propagation: 'parent' });
      await TracedStep.dispatch('plain');
      await work();
      expect(handled).toEqual(['plain']);
      expect(claimed).toHaveLength(1);
      expect(JSON.parse(claimed[0]!)).not.toHaveProperty('traceContext');
    });
  });

  describe('with an SDK', () => {
    beforeAll(() => registerSdk());

    it('link (the default): the send span is under the request, the attempt a new trace linking to it', async () => {
      await bootWith();
      const request = await inRequest(() => TracedStep.dispatch('linked'));
      await work();

      const [send, ...moreSends] = spans(SpanKind.PRODUCER);
      const [process, ...moreProcesses] = spans(SpanKind.CONSUMER);
      expect(moreSends).toEqual([]);
      expect(moreProcesses).toEqual([]);
      expect(send!.name).toBe('send default');
      expect(traceOf(send!)).toBe(traceOf(request));
      expect(send!.parentSpanContext?.spanId).toBe(idOf(request));
      expect(send!.attributes).toEqual({
        'messaging.system': 'errand',
        'messaging.destination.name': 'default',
        'messaging.message.id': JSON.parse(claimed[0]!).uuid,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'send',
        'errand.job.name': 'TracedStep',
        'errand.connection': store.default,
      });

      expect(process!.name).toBe('process default');
      expect(traceOf(process!)).not.toBe(traceOf(request));
      expect(process!.parentSpanContext).toBeUndefined();
      expect(process!.links.map((link) => link.context.spanId)).toEqual([idOf(send!)]);
      expect(process!.attributes).toEqual({
        'messaging.system': 'errand',
        'messaging.destination.name': 'default',
        'messaging.message.id': messageOf(send!),
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'errand.job.name': 'TracedStep',
        'errand.job.attempt': 1,
        'errand.connection': store.default,
      });
      expect(process!.status.code).toBe(SpanStatusCode.UNSET);
      // The stored payload carries the send span's context, sampled.
      expect(JSON.parse(claimed[0]!).traceContext).toEqual({
        traceparent: `00-${traceOf(send!)}-${idOf(send!)}-01`,
      });
    });

    it('parent: the attempt is a child of the send span, in the request trace', async () => {
      await bootWith({ propagation: 'parent' });
      const request = await inRequest(() => TracedStep.dispatch('parented'));
      await work();

      const [send] = spans(SpanKind.PRODUCER);
      const [process, ...more] = spans(SpanKind.CONSUMER);
      expect(more).toEqual([]);
      expect(traceOf(process!)).toBe(traceOf(request));
      expect(process!.parentSpanContext?.spanId).toBe(idOf(send!));
      expect(process!.links).toEqual([]);
    });

    it('parent-first-attempt: attempt 1 a child (ERROR, the exception recorded), attempt 2 a new trace with a link', async () => {
      await bootWith({ propagation: 'parent-first-attempt' });
      const request = await inRequest(() => TracedFlaky.dispatch());
      await work();
      expect(handled).toEqual(['flaky']);

      const [send, ...moreSends] = spans(SpanKind.PRODUCER);
      expect(moreSends).toEqual([]);
      const [first, second, ...more] = spans(SpanKind.CONSUMER);
      expect(more).toEqual([]);
      expect(first!.attributes['errand.job.attempt']).toBe(1);
      expect(traceOf(first!)).toBe(traceOf(request));
      expect(first!.parentSpanContext?.spanId).toBe(idOf(send!));
      expect(first!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Error: flaky on attempt 1' });
      const exception = first!.events.find((event) => event.name === 'exception');
      expect(exception?.attributes?.['exception.message']).toBe('flaky on attempt 1');

      expect(second!.attributes['errand.job.attempt']).toBe(2);
      expect(traceOf(second!)).not.toBe(traceOf(request));
      expect(second!.parentSpanContext).toBeUndefined();
      expect(second!.links.map((link) => link.context.spanId)).toEqual([idOf(send!)]);
      expect(second!.status.code).toBe(SpanStatusCode.UNSET);
      expect(messageOf(second!)).toBe(messageOf(first!));
    });

    it('a job that fails for good ends its attempt span with ERROR and the exception', async () => {
      await bootWith();
      await TracedBroken.dispatch();
      await work();
      const [process, ...more] = spans(SpanKind.CONSUMER);
      expect(more).toEqual([]);
      expect(process!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'Error: broken for good' });
      expect(process!.events.filter((event) => event.name === 'exception')).toHaveLength(1);
    });

    it('an attempt its timeout ends has status ERROR with the timeout recorded', async () => {
      await bootWith();
      await TracedStuck.dispatch();
      await work();
      const [process, ...more] = spans(SpanKind.CONSUMER);
      expect(more).toEqual([]);
      expect(process!.status.code).toBe(SpanStatusCode.ERROR);
      expect(process!.status.message).toMatch(/^TimeoutExceededError: /);
      const exceptions = process!.events.filter((event) => event.name === 'exception');
      expect(exceptions.map((event) => event.attributes?.['exception.type'])).toEqual(['TimeoutExceededError']);
    });

    it('an encrypted job carries its trace context outside the sealed data', async () => {
      await bootWith({ propagation: 'parent' });
      const request = await inRequest(() => TracedSecret.dispatch('hush'));
      await work();
      expect(handled).toEqual(['hush']);

      const stored = JSON.parse(claimed[0]!);
      expect(stored.data.command).toMatch(/^errand:v1:/);
      expect(claimed[0]).not.toContain('hush');
      const [send] = spans(SpanKind.PRODUCER);
      const [process] = spans(SpanKind.CONSUMER);
      expect(stored.traceContext.traceparent).toBe(`00-${traceOf(request)}-${idOf(send!)}-01`);
      expect(process!.parentSpanContext?.spanId).toBe(idOf(send!));
      expect(traceOf(process!)).toBe(traceOf(request));
    });

    it("a chain of 3: each next link's send span is under the previous link's attempt", async () => {
      await bootWith();
      const request = await inRequest(() =>
        Bus.chain([new TracedStep('a'), new TracedStep('b'), new TracedStep('c')]).dispatch(),
      );
      await work();
      expect(handled).toEqual(['a', 'b', 'c']);

      const sends = spans(SpanKind.PRODUCER);
      const processes = spans(SpanKind.CONSUMER);
      expect(sends).toHaveLength(3);
      expect(processes).toHaveLength(3);
      // Each attempt links to the send of its own job (the same message id).
      processes.forEach((process, i) => {
        expect(messageOf(process)).toBe(messageOf(sends[i]!));
        expect(process.links.map((link) => link.context.spanId)).toEqual([idOf(sends[i]!)]);
      });
      expect(sends[0]!.parentSpanContext?.spanId).toBe(idOf(request));
      expect(sends[1]!.parentSpanContext?.spanId).toBe(idOf(processes[0]!));
      expect(traceOf(sends[1]!)).toBe(traceOf(processes[0]!));
      expect(sends[2]!.parentSpanContext?.spanId).toBe(idOf(processes[1]!));
      expect(traceOf(sends[2]!)).toBe(traceOf(processes[1]!));
    });

    it("a chain's next link not stored (the finishing job's lease lost) ends its send span once, ERROR", async () => {
      await bootWith();
      await Bus.chain([new TracedLoser(), new TracedStep('never')]).dispatch();
      await work();
      expect(handled).toEqual(['lost']);
      expect(await Queue.size()).toBe(0);
      const sends = spans(SpanKind.PRODUCER);
      // The chain's dispatch, then the next link's send, which must end even though `within` never ran.
      expect(sends).toHaveLength(2);
      expect(sends[0]!.status.code).not.toBe(SpanStatusCode.ERROR);
      expect(sends[1]!.status.code).toBe(SpanStatusCode.ERROR);
      expect(sends[1]!.status.message).toMatch(/lease was lost/);
    });

    it("a job dispatched from a handler is sent under that handler's attempt span", async () => {
      await bootWith();
      await TracedParent.dispatch();
      await work();
      expect(handled).toEqual(['child']);

      const [parentSend, childSend] = spans(SpanKind.PRODUCER);
      const [parentProcess, childProcess] = spans(SpanKind.CONSUMER);
      expect(parentProcess!.attributes['errand.job.name']).toBe('TracedParent');
      expect(childSend!.attributes['errand.job.name']).toBe('TracedStep');
      expect(childSend!.parentSpanContext?.spanId).toBe(idOf(parentProcess!));
      expect(childProcess!.links.map((link) => link.context.spanId)).toEqual([idOf(childSend!)]);
      expect(parentSend!.parentSpanContext).toBeUndefined();
    });

    it("a queued listener of an event fired in a handler is sent under that handler's attempt span", async () => {
      await bootWith();
      await TracedAnnouncer.dispatch();
      await work();
      expect(handled).toEqual(['heard news']);

      const [announcerSend, listenerSend, ...moreSends] = spans(SpanKind.PRODUCER);
      expect(moreSends).toEqual([]);
      const [announcerProcess, listenerProcess] = spans(SpanKind.CONSUMER);
      expect(announcerSend!.attributes['errand.job.name']).toBe('TracedAnnouncer');
      expect(listenerSend!.parentSpanContext?.spanId).toBe(idOf(announcerProcess!));
      expect(listenerProcess!.links.map((link) => link.context.spanId)).toEqual([idOf(listenerSend!)]);
    });

    it("a batch's jobs are sent under the request, its then() job under the attempt that finished the batch", async () => {
      await bootWith();
      const request = await inRequest(() =>
        Bus.batch([new TracedStep('b1'), new TracedStep('b2')])
          .then(new TracedStep('after'))
          .dispatch(),
      );
      await work();
      expect(handled).toEqual(['b1', 'b2', 'after']);

      const [b1Send, b2Send, afterSend, ...moreSends] = spans(SpanKind.PRODUCER);
      expect(moreSends).toEqual([]);
      expect(b1Send!.parentSpanContext?.spanId).toBe(idOf(request));
      expect(b2Send!.parentSpanContext?.spanId).toBe(idOf(request));
      const processes = spans(SpanKind.CONSUMER);
      expect(processes).toHaveLength(3);
      const last = processes.find((process) => messageOf(process) === messageOf(b2Send!))!;
      expect(afterSend!.parentSpanContext?.spanId).toBe(idOf(last));
      expect(traceOf(afterSend!)).toBe(traceOf(last));
    });

    it('Queue.bulk sends one span per job, each job carrying its own', async () => {
      await bootWith();
      await inRequest(() => Queue.bulk([new TracedStep('x'), new TracedStep('y')]));
      await work();
      const sends = spans(SpanKind.PRODUCER);
      expect(sends).toHaveLength(2);
      const carried = claimed.map((raw) => JSON.parse(raw).traceContext.traceparent.split('-')[2]).sort();
      expect(carried).toEqual(sends.map(idOf).sort());
    });

    it("a retried failed job is sent under the retry's context, its send span linking to the first dispatch", async () => {
      await bootWith();
      await TracedBroken.dispatch();
      await work();
      const [firstSend] = spans(SpanKind.PRODUCER);
      const uuid = messageOf(firstSend!) as string;
      exporter.reset();
      claimed = [];

      const request = await inRequest(async () => retryFailedJob(await runtime(), uuid));
      await work();
      const [retrySend, ...moreSends] = spans(SpanKind.PRODUCER);
      expect(moreSends).toEqual([]);
      expect(retrySend!.parentSpanContext?.spanId).toBe(idOf(request));
      expect(messageOf(retrySend!)).toBe(uuid);
      expect(retrySend!.links.map((link) => link.context.spanId)).toEqual([idOf(firstSend!)]);
      expect(JSON.parse(claimed[0]!).traceContext.traceparent).toBe(`00-${traceOf(request)}-${idOf(retrySend!)}-01`);
      const [process] = spans(SpanKind.CONSUMER);
      expect(process!.links.map((link) => link.context.spanId)).toEqual([idOf(retrySend!)]);
    });

    it('the sync connection stores nothing and makes no send span', async () => {
      await bootWith();
      await inRequest(async () => {
        await TracedStep.dispatch('inline').onConnection('sync');
        await Queue.bulk([new TracedStep('inline bulk')], { connection: 'sync' });
      });
      expect(handled).toEqual(['inline', 'inline bulk']);
      expect(spans(SpanKind.PRODUCER)).toEqual([]);
    });

    it('tracing.enabled false: no spans and no traceContext, even with an SDK', async () => {
      await bootWith({ enabled: false });
      await inRequest(() => TracedStep.dispatch('untraced'));
      await work();
      expect(handled).toEqual(['untraced']);
      expect(spans(SpanKind.PRODUCER)).toEqual([]);
      expect(spans(SpanKind.CONSUMER)).toEqual([]);
      expect(JSON.parse(claimed[0]!)).not.toHaveProperty('traceContext');
    });
  });
});
