import type { ResolvedRedisConnection } from '../../config/config-types.js';
import { ConfigError } from '../../errors/config-error.js';
import type { RedisClient } from './redis-client.js';

/** What an operator needs to know about one Redis server before trusting it with jobs. */
export interface RedisServerFacts {
  /** host:port of the node these facts are from. */
  readonly address: string;
  /** `redis_version` (Valkey and other forks report the Redis version they match). */
  readonly version: string;
  /** `standalone` or `cluster` (`redis_mode`). */
  readonly mode: string;
  /** Whether the append-only file is on. */
  readonly aof: boolean;
  /** `appendfsync` (always, everysec, no); undefined when the server refuses CONFIG. */
  readonly appendfsync: string | undefined;
  /** The RDB `save` rule ('' when snapshots are off); undefined when the server refuses CONFIG. */
  readonly rdbSave: string | undefined;
  /** `maxmemory-policy`, e.g. noeviction or allkeys-lru. */
  readonly maxmemoryPolicy: string;
  /** `maxmemory` in bytes; 0 means no limit. */
  readonly maxmemory: number;
}

/** The `field:value` lines of an INFO reply. */
export function parseInfo(text: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1));
  }
  return fields;
}

/**
 * Reads the facts of every node `client` reaches (each master of a cluster, or the one server).
 * INFO carries all but two: `appendfsync` and the `save` rule exist only in CONFIG, which managed
 * services often disable, so those two are left undefined there rather than failing.
 */
export async function readServerFacts(client: RedisClient): Promise<RedisServerFacts[]> {
  const [infos, appendfsync, save] = await Promise.all([
    client.commandOnEachNode(['INFO']),
    configValues(client, 'appendfsync'),
    configValues(client, 'save'),
  ]);
  return infos.map(({ address, reply }) => {
    const info = parseInfo(String(reply));
    return {
      address,
      version: info.get('redis_version') ?? 'unknown',
      mode: info.get('redis_mode') ?? 'standalone',
      aof: info.get('aof_enabled') === '1',
      appendfsync: appendfsync.get(address),
      rdbSave: save.get(address),
      maxmemoryPolicy: info.get('maxmemory_policy') ?? 'unknown',
      maxmemory: Number(info.get('maxmemory') ?? 0),
    };
  });
}

/** CONFIG GET `name` on every node, by address; empty when the server refuses CONFIG. */
async function configValues(client: RedisClient, name: string): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  try {
    for (const { address, reply } of await client.commandOnEachNode(['CONFIG', 'GET', name])) {
      // RESP2 answers [name, value]; RESP3 a map.
      if (Array.isArray(reply) && reply.length >= 2) values.set(address, String(reply[1]));
      else if (reply instanceof Map && reply.has(name)) values.set(address, String(reply.get(name)));
      else if (reply && typeof reply === 'object' && name in reply)
        values.set(address, String((reply as Record<string, unknown>)[name]));
    }
  } catch {
    // A managed service that disables CONFIG: those facts stay unknown.
  }
  return values;
}

/** One line saying how a server persists: what survives a restart depends on it. */
export function persistenceText(facts: RedisServerFacts): string {
  const aof = facts.aof ? `AOF on (appendfsync ${facts.appendfsync ?? 'unknown'})` : 'AOF off';
  const rdb =
    facts.rdbSave === undefined ? 'RDB save unknown' : facts.rdbSave === '' ? 'RDB off' : `RDB save "${facts.rdbSave}"`;
  return `${aof}, ${rdb}`;
}

/**
 * Refuses a worker on a server that may evict keys: under memory pressure any policy but
 * `noeviction` deletes keys, and a deleted job hash or ready list loses jobs without a trace.
 * `allowEviction: true` on the connection is the operator saying they accept that.
 */
export async function refuseEvictingServer(
  client: RedisClient,
  config: ResolvedRedisConnection,
  connectionName: string,
): Promise<void> {
  if (config.allowEviction) return;
  const infos = await client.commandOnEachNode(['INFO', 'memory']);
  for (const { address, reply } of infos) {
    const policy = parseInfo(String(reply)).get('maxmemory_policy');
    if (policy === undefined || policy === 'noeviction') continue;
    throw new ConfigError(
      `Redis at ${address} (connection [${connectionName}]) has maxmemory-policy ${policy}: under memory pressure it ` +
        'evicts keys, and an evicted job is lost without a trace. Set maxmemory-policy to noeviction ' +
        '(`CONFIG SET maxmemory-policy noeviction`, and in redis.conf so it survives a restart), or set ' +
        `allowEviction: true on connection [${connectionName}] to start workers anyway.`,
    );
  }
}

/**
 * The facts `errand about` prints for a redis connection: one group per node (each master of a
 * cluster), so a node set apart from the others shows.
 */
export async function describeRedisServers(client: RedisClient): Promise<Array<readonly [string, string]>> {
  const facts = await readServerFacts(client);
  return facts.flatMap((node) => {
    const memory =
      `maxmemory-policy ${node.maxmemoryPolicy}, ` +
      `maxmemory ${node.maxmemory === 0 ? '0 (no limit)' : `${Math.round(node.maxmemory / 1024 / 1024)} MB`}`;
    const suffix = facts.length > 1 ? ` (${node.address})` : '';
    return [
      [`Server${suffix}`, `Redis ${node.version} (${node.mode}) at ${node.address}`],
      [`Persistence${suffix}`, persistenceText(node)],
      [`Memory${suffix}`, memory],
    ] as const;
  });
}

/** One line per node (each master of a cluster): version, persistence and memory policy, for `queue:monitor`'s header. */
export async function redisServerLines(client: RedisClient): Promise<string[]> {
  return (await readServerFacts(client)).map(
    (node) =>
      `Redis ${node.version} (${node.mode}) at ${node.address} · ${persistenceText(node)} · maxmemory-policy ${node.maxmemoryPolicy}`,
  );
}
