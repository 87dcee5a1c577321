import { createClient } from 'redis';

/*
 * The Redis server the bench measures errand's redis driver on, beside BullMQ (whose runner
 * connects to 127.0.0.1:6379). The bench talks to it directly, not through errand's client port,
 * for what a driver has no member for: reachability, INFO, MEMORY USAGE, clearing its own keys.
 */

/** The server (override with REDIS_URL, as errand's redis connections do). */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * The key prefix of errand's bench connection (override with ERRAND_BENCH_REDIS_PREFIX). Every
 * key the bench writes starts with it, so clearing between scenarios never touches the keys of
 * tests or other programs sharing the server.
 */
export const REDIS_PREFIX = process.env.ERRAND_BENCH_REDIS_PREFIX ?? 'errand-bench:';

type Client = ReturnType<typeof createClient>;

/** Runs `use` with a connected client, closed after. */
export async function withRedis<T>(use: (client: Client) => Promise<T>): Promise<T> {
  const client = createClient({ url: REDIS_URL, socket: { connectTimeout: 3000, reconnectStrategy: false } });
  client.on('error', () => {
    // Reported by the command that fails; an unhandled 'error' event would end the process.
  });
  await client.connect();
  try {
    return await use(client);
  } finally {
    client.destroy();
  }
}

/** Undefined when the server answers PING, else why not. */
export async function redisUnreachable(): Promise<string | undefined> {
  try {
    await withRedis((client) => client.ping());
    return undefined;
  } catch (error) {
    return `${REDIS_URL}: ${(error as Error).message}`;
  }
}

/** The server's version, for the report. */
export function redisVersion(): Promise<string> {
  return withRedis(async (client) => /redis_version:(\S+)/.exec(await client.info('server'))?.[1] ?? 'unknown').catch(
    (error: Error) => `unknown (${error.message})`,
  );
}

/** Every key under `prefix`, one batch of names per SCAN step. */
async function* keysUnder(client: Client, prefix: string): AsyncGenerator<string[]> {
  for await (const keys of client.scanIterator({ MATCH: `${prefix}*`, COUNT: 1000 })) if (keys.length) yield keys;
}

/** Deletes every key under `prefix` (never FLUSHALL: the server is shared); resolves to how many. */
export function clearRedisPrefix(prefix = REDIS_PREFIX): Promise<number> {
  return withRedis(async (client) => {
    let deleted = 0;
    for await (const keys of keysUnder(client, prefix)) deleted += await client.unlink(keys);
    return deleted;
  });
}

/** The server's `used_memory` from INFO memory, in bytes. */
export function usedMemory(): Promise<number> {
  return withRedis(async (client) => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]));
}

/**
 * The sum of MEMORY USAGE (every element sampled) over the keys under `prefix`, in bytes: what
 * those keys hold, whatever other clients of the server do meanwhile.
 */
export function keyMemory(prefix = REDIS_PREFIX): Promise<number> {
  return withRedis(async (client) => {
    let total = 0;
    for await (const keys of keysUnder(client, prefix)) {
      const sizes = await Promise.all(keys.map((key) => client.memoryUsage(key, { SAMPLES: 0 })));
      for (const size of sizes) total += size ?? 0;
    }
    return total;
  });
}
