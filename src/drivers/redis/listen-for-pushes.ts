import type { RedisClient } from './redis-client.js';
import type { RedisKeys } from './redis-keys.js';

/** How long a failed blocking pop waits before it tries again (the server away, restarting). */
const RETRY_MS = 1000;

/**
 * Waits on the notify lists of `queues` with blocking pops on dedicated connections (one for all
 * queues on a standalone server; one per queue on a cluster, where each list lives in its own
 * slot) and calls `onQueue` with the queue of each wake-up token popped. The first failure of a
 * run of failures goes to `report`. Resolves, once every connection is open, to a function that
 * stops: it closes the connections, abandoning the pops in flight.
 */
export async function listenForPushes(
  client: RedisClient,
  keys: RedisKeys,
  queues: readonly string[],
  blockFor: number,
  onQueue: (queue: string) => void,
  report: (error: unknown) => void,
): Promise<() => Promise<void>> {
  const unique = [...new Set(queues)];
  if (unique.length === 0) return async () => undefined;
  const groups = client.cluster ? unique.map((queue) => [queue]) : [unique];
  const connections = await Promise.all(groups.map(() => client.duplicate()));
  let stopped = false;
  const loops = groups.map(async (group, i) => {
    const connection = connections[i]!;
    const notifyKeys = group.map((queue) => keys.notify(queue));
    let failing = false;
    while (!stopped) {
      try {
        const reply = await connection.command(['BLPOP', ...notifyKeys, String(blockFor)], notifyKeys[0]);
        failing = false;
        const queue = Array.isArray(reply) ? keys.queueOfNotify(String(reply[0])) : undefined;
        if (queue !== undefined) onQueue(queue);
      } catch (error) {
        if (stopped) return;
        if (!failing) report(error);
        failing = true;
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  });
  return async () => {
    stopped = true;
    await Promise.all(connections.map((connection) => connection.close()));
    await Promise.all(loops);
  };
}
