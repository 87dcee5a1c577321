import { createHash } from 'node:crypto';

import type { ResolvedRedisConnection } from '../../config/config-types.js';
import { openNodeRedisClient } from './node-redis-client.js';

// errand's own narrow view of a Redis client: scripts, plain commands and a blocking connection.
// The queue, lock and rate-limit stores speak only this, so a second client library is one more
// adapter file beside node-redis-client.ts, the only file that imports `redis`.

/** A Lua script errand runs by its SHA1 (EVALSHA), with its text to load it when the server lacks it. */
export interface RedisScript {
  /** What messages call it (`claim`, `release` …). */
  readonly name: string;
  readonly lua: string;
  /** The SHA1 of `lua`, as EVALSHA takes it. */
  readonly sha1: string;
}

/** What errand asks of a Redis connection (standalone or Cluster). */
export interface RedisClient {
  /** Runs a script by EVALSHA, loading it on NOSCRIPT. All keys must hash to one slot on a cluster. */
  run(script: RedisScript, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /** One plain command routed by its first key (or any node when keyless), e.g. ['INFO','server']. */
  command(args: readonly string[], key?: string): Promise<unknown>;
  /**
   * One keyless command on every node that holds data (each master of a cluster, or the one
   * server), with each node's host:port: server facts and settings differ per node.
   */
  commandOnEachNode(args: readonly string[]): Promise<Array<{ address: string; reply: unknown }>>;
  /**
   * A dedicated connection for blocking pops (BLPOP) that must not hold up the shared one. Its
   * `close` abandons a pop in flight rather than waiting it out.
   */
  duplicate(): Promise<RedisClient>;
  /** True on a Redis Cluster. */
  readonly cluster: boolean;
  /** host:port (first node for a cluster), for messages. */
  readonly address: string;
  close(): Promise<void>;
}

/** A script ready to run: its SHA1 computed once, when the module defining it loads. */
export function redisScript(name: string, lua: string): RedisScript {
  return { name, lua, sha1: createHash('sha1').update(lua).digest('hex') };
}

/**
 * Opens a client for the redis connection `connectionName` through node-redis (an optional peer
 * dependency: a clear error names the package when it is missing). It connects at once; commands
 * issued before the connection is up wait for it, and errors name the connection and host:port.
 */
export function openRedisClient(config: ResolvedRedisConnection, connectionName: string): RedisClient {
  const client: RedisClient = openNodeRedisClient(config, connectionName);
  return client;
}
