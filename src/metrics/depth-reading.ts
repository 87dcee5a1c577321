import type { FailedJobBrowser } from '../contracts/failed-job-store.js';
import type { QueueInspector, QueueSnapshot } from '../contracts/queue-inspector.js';

/**
 * Queries one sample runs at once on a store: the sampler shares the worker's own pool, so a
 * store with hundreds of queues must not take every connection of it.
 */
export const QUERIES_AT_ONCE = 4;

/** `read` over `items`, at most `limit` at a time, results in the order of `items`. */
export async function mapAtMost<T, R>(limit: number, items: readonly T[], read: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await read(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return results;
}

/** Live workers and the jobs they hold on one host, as one connection's inspector lists them. */
export interface HostWorkers {
  readonly host: string;
  /** Workers whose heartbeat is within its lapse. */
  readonly workers: number;
  /** Jobs those workers hold (claimed-but-not-started prefetch included). */
  readonly busySlots: number;
}

/** What one sample read of a queue connection: every queue's capped counts and its workers by host. */
export interface ConnectionDepth {
  readonly queues: readonly QueueSnapshot[];
  readonly hosts: readonly HostWorkers[];
}

/** Failed jobs stored for one (connection, queue), counted up to the cap. */
export interface FailedDepth {
  readonly connection: string;
  readonly queue: string;
  readonly count: number;
}

/**
 * Reads one connection's depth through its inspector: the queues it names (holding jobs, paused,
 * or served by a registered worker), each counted up to `cap`, and its registered workers grouped
 * by host. A host whose workers are all lost is kept at 0, so an alert sees the drop instead of a
 * series that vanished; a host with no registered worker left is gone.
 */
export async function readConnectionDepth(inspector: QueueInspector, cap: number): Promise<ConnectionDepth> {
  const [names, workers] = await Promise.all([inspector.queueNames(), inspector.workers()]);
  const queues = await mapAtMost(QUERIES_AT_ONCE, names, (name) => inspector.queue(name, cap));
  const hosts = new Map<string, { workers: number; busySlots: number }>();
  for (const worker of workers) {
    const host = hosts.get(worker.hostname) ?? { workers: 0, busySlots: 0 };
    if (!worker.lost) {
      host.workers += 1;
      host.busySlots += worker.jobs.length;
    }
    hosts.set(worker.hostname, host);
  }
  return { queues, hosts: [...hosts].map(([host, counts]) => ({ host, ...counts })) };
}

/**
 * Failed jobs per (connection, queue) for the connections in `connections`, each counted up to
 * `cap`, from the pairs the browser finds through its indexes.
 */
export async function readFailedDepth(
  browser: FailedJobBrowser,
  connections: ReadonlySet<string>,
  cap: number,
): Promise<FailedDepth[]> {
  const pairs = (await browser.queues()).filter((pair) => connections.has(pair.connection));
  return mapAtMost(QUERIES_AT_ONCE, pairs, async ({ connection, queue }) => ({
    connection,
    queue,
    count: (await browser.countUpTo({ connection, queue }, cap)).count,
  }));
}
