import { JobQueued } from '../events/job-queued.js';
import { instanceOptions } from '../job/instance-options.js';
import type { JobOptions } from '../job/job-options.js';
import { countDispatched } from '../metrics/process-metrics.js';
import { effectiveOptions, encodePayload, registeredJobOf, serializePayload } from '../payload/encode-payload.js';
import type { JobPayload } from '../payload/job-payload.js';
import { events, runtime } from '../runtime/current.js';
import type { JobClass } from '../testing/job-matching.js';
import { fakeQueue, type QueueFake, type QueueFakeOptions, restoreQueue } from '../testing/queue-fake.js';
import { traceSend } from '../tracing/send-span.js';
import { interceptedDispatch } from './dispatch-interceptor.js';
import { validateDelay } from './validate-delay.js';

type EventClass<E> = abstract new (...args: any[]) => E;

/** Options for `Queue.bulk`. */
export interface BulkOptions {
  connection?: string;
  queue?: string;
  /** Seconds from now, or an instant, for every job. */
  delay?: number | Date;
}

/** The queue as a whole: bulk pushes, sizes, clearing and event listeners. */
export const Queue = {
  /**
   * Pushes many jobs with one INSERT per connection; resolves to their ids in input order. Each
   * job goes to `options.queue`, else its class's queue, else its connection's default. Unique
   * jobs take no lock here (Laravel's rule for batches and bulk pushes): every job is pushed.
   */
  async bulk(jobs: readonly object[], options: BulkOptions = {}): Promise<string[]> {
    const app = await runtime();
    const groups = new Map<string, Array<{ index: number; queue: string; payload: JobPayload }>>();
    const ids: string[] = new Array<string>(jobs.length);
    const faked: Array<Promise<unknown>> = [];
    // Jobs of one class share their options and destination, resolved once per class, unless a
    // job declares options on itself (a `queue` property, a `tries()` method …).
    const byClass = new Map<Function, { jobOptions: JobOptions; connection: string; queue: string }>();
    const resolve = (jobOptions: JobOptions) => {
      const connection = options.connection ?? jobOptions.connection ?? app.config.default;
      const queue = options.queue ?? jobOptions.queue ?? app.queues.connection(connection).defaultQueue;
      return { jobOptions, connection, queue };
    };
    const now = new Date();
    validateDelay('Queue.bulk()', options.delay, now.getTime());
    jobs.forEach((job, index) => {
      const entry = registeredJobOf(job);
      // Read once: a job's own methods (backoff(), retryUntil() …) run once per job.
      const own = instanceOptions(job, entry.name);
      let resolved = byClass.get(job.constructor);
      if (Object.keys(own).length > 0) {
        resolved = resolve(effectiveOptions(entry, {}, job, own));
      } else if (!resolved) {
        byClass.set(job.constructor, (resolved = resolve(effectiveOptions(entry, {}, job, own))));
      }
      const { jobOptions, connection, queue } = resolved;
      const fake = interceptedDispatch({ kind: 'bulk', job, connection, queue, delay: options.delay, chain: [] });
      if (fake) return void faked.push(fake.then((id) => (ids[index] = id)));
      const payload = encodePayload(job, jobOptions, { delay: options.delay, now, keyring: app.config.keyring });
      let group = groups.get(connection);
      if (!group) groups.set(connection, (group = []));
      group.push({ index, queue, payload });
    });
    await Promise.all(faked);
    for (const [connection, entries] of groups) {
      const driver = app.queues.connection(connection);
      const stored = await traceSend({ name: connection, runsJobsInline: driver.runsJobsInline }, entries, () =>
        driver.bulk(
          entries.map((e) => ({
            queue: e.queue,
            payload: serializePayload(e.payload, app.config.maxPayloadSize),
            delay: options.delay,
          })),
        ),
      );
      for (const [i, entry] of entries.entries()) {
        ids[entry.index] = stored[i]!;
        countDispatched(connection, entry.queue, entry.payload, driver.runsJobsInline);
      }
      if (events.has(JobQueued)) {
        for (const [i, entry] of entries.entries()) {
          await events.emit(new JobQueued(connection, entry.queue, stored[i]!, entry.payload, options.delay));
        }
      }
    }
    return ids;
  },

  /** Jobs on a queue (pending, delayed and reserved) of a connection. */
  async size(queue?: string, connection?: string): Promise<number> {
    const driver = (await runtime()).queues.connection(connection);
    return driver.size(queue ?? driver.defaultQueue);
  },

  /** Deletes every job on a queue; resolves to how many. */
  async clear(queue?: string, connection?: string): Promise<number> {
    const driver = (await runtime()).queues.connection(connection);
    return driver.clear(queue ?? driver.defaultQueue);
  },

  /**
   * Testing: records pushed jobs instead of storing them, and returns the fake to assert on.
   * `Queue.fake()` records every job, `Queue.fake([A, B])` only those classes,
   * `Queue.fake({ except: [C] })` all but those (the others are pushed as usual);
   * `{ serializeAndRestore: true }` sends each through the real payload round trip. Undo with `Queue.restore()`.
   */
  fake(options?: readonly JobClass[] | QueueFakeOptions): QueueFake {
    return fakeQueue(options);
  },

  /** Removes the fake installed by `Queue.fake()`. */
  restore(): void {
    restoreQueue();
  },

  /** Listens for one of errand's events (JobProcessed, JobFailed …); returns an unsubscribe function. */
  on<E>(type: EventClass<E>, listener: (event: E) => void | Promise<void>): () => void {
    return events.on(type, listener);
  },
};
