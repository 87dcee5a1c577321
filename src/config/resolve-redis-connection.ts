import { ConfigError } from '../errors/config-error.js';
import { numberProblem } from '../runtime/numeric-bounds.js';
import { withoutCredentials } from '../runtime/without-credentials.js';
import type { RedisConnectionConfig, ResolvedRedisConnection } from './config-types.js';
import { REDIS_DEFAULTS } from './defaults.js';
import { resolveHeartbeat } from './resolve-heartbeat.js';

interface Address {
  host: string;
  port: number;
  username?: string;
  password?: string;
  db: number;
  tls: boolean;
}

/**
 * A `redis` connection with defaults filled in: its address from `url` (else `REDIS_URL`, else
 * the local server) with `host`, `port`, `username`, `password`, `db` and `tls` taking precedence
 * over the URL's parts. Errors are prefixed by `at` and name the option at fault.
 */
export function resolveRedisConnection(
  at: string,
  raw: RedisConnectionConfig,
  env: NodeJS.ProcessEnv,
): ResolvedRedisConnection {
  const fromEnv = raw.url === undefined ? env.REDIS_URL?.trim() || undefined : undefined;
  const url = raw.url ?? fromEnv ?? REDIS_DEFAULTS.url;
  const parsed = parseRedisUrl(url, fromEnv === undefined ? `${at}: url` : `${at}: REDIS_URL`);
  const address: Address = {
    host: raw.host ?? parsed.host,
    port: raw.port ?? parsed.port,
    db: raw.db ?? parsed.db,
    tls: raw.tls === undefined ? parsed.tls : raw.tls !== false,
    ...optional('username', raw.username ?? parsed.username),
    ...optional('password', raw.password ?? parsed.password),
  };
  if (address.host === '') throw new ConfigError(`${at}: host must be a host name or address, got "".`);
  const portProblem = numberProblem(address.port, { min: 1, max: 65535, whole: true, unit: '' });
  if (portProblem) throw new ConfigError(`${at}: port ${portProblem}.`);
  const dbProblem = numberProblem(address.db, { min: 0, max: 2 ** 31 - 1, whole: true, unit: '' });
  if (dbProblem) throw new ConfigError(`${at}: db ${dbProblem}.`);

  const cluster = resolveCluster(at, raw.cluster, address);
  const prefix = raw.prefix ?? REDIS_DEFAULTS.prefix;
  // Every key of one queue shares the hash tag `{queue}`; a brace in the prefix would become the tag.
  if (/[{}]/.test(prefix))
    throw new ConfigError(
      `${at}: prefix [${prefix}] must not contain { or } (errand puts each queue's name in braces).`,
    );
  const queue = raw.queue ?? REDIS_DEFAULTS.queue;
  if (queue === '' || queue.includes(','))
    throw new ConfigError(`${at}: queue [${queue}] must be a non-empty name without commas.`);
  const blockFor = raw.blockFor ?? REDIS_DEFAULTS.blockFor;
  // BLPOP takes a timeout in seconds with decimals; zero would block forever.
  const blockForProblem = numberProblem(blockFor, { min: 0.01, max: 3600 });
  if (blockForProblem) throw new ConfigError(`${at}: blockFor ${blockForProblem}.`);
  const retryAfter = raw.retryAfter ?? REDIS_DEFAULTS.retryAfter;
  const retryAfterProblem = numberProblem(retryAfter, { min: 1, whole: true });
  if (retryAfterProblem) throw new ConfigError(`${at}: retryAfter ${retryAfterProblem}.`);
  const migrationBatchSize = raw.migrationBatchSize ?? REDIS_DEFAULTS.migrationBatchSize;
  const batchProblem = numberProblem(migrationBatchSize, { min: 1, max: 100_000, whole: true, unit: '' });
  if (batchProblem) throw new ConfigError(`${at}: migrationBatchSize ${batchProblem}.`);

  const scheme = address.tls ? 'rediss' : 'redis';
  return {
    driver: 'redis',
    url: `${scheme}://${hostInUrl(address.host)}:${address.port}${address.db === 0 ? '' : `/${address.db}`}`,
    host: address.host,
    port: address.port,
    ...optional('username', address.username),
    ...optional('password', address.password),
    db: address.db,
    tls: address.tls ? (typeof raw.tls === 'object' ? raw.tls : {}) : false,
    cluster,
    prefix,
    queue,
    blockFor,
    retryAfter,
    heartbeat: resolveHeartbeat(at, raw.heartbeat, retryAfter),
    migrationBatchSize,
    afterCommit: raw.afterCommit ?? false,
    allowEviction: raw.allowEviction ?? false,
  };
}

/** The parts of a `redis://` or `rediss://` URL; errors start with `option` (who gave the URL). */
function parseRedisUrl(url: string, option: string): Address {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(
      `${option} [${withoutCredentials(url)}] is not a URL; write redis://[user:password@]host:port[/db] (rediss:// for TLS).`,
    );
  }
  const scheme = parsed.protocol.slice(0, -1).toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') {
    throw new ConfigError(
      `${option} [${withoutCredentials(url)}] has scheme [${scheme}:]; a redis connection takes redis:// or rediss:// (TLS).`,
    );
  }
  const path = parsed.pathname.replace(/^\//, '');
  const db = path === '' ? 0 : Number(path);
  if (!/^\d+$/.test(path) && path !== '') {
    throw new ConfigError(
      `${option} [${withoutCredentials(url)}] ends in [/${path}]; after host:port a redis URL takes only a database number, such as /0.`,
    );
  }
  return {
    host: parsed.hostname.replace(/^\[(.*)\]$/, '$1') || '127.0.0.1',
    port: parsed.port === '' ? 6379 : Number(parsed.port),
    db,
    tls: scheme === 'rediss',
    ...optional('username', parsed.username === '' ? undefined : decodeURIComponent(parsed.username)),
    ...optional('password', parsed.password === '' ? undefined : decodeURIComponent(parsed.password)),
  };
}

function resolveCluster(
  at: string,
  raw: RedisConnectionConfig['cluster'],
  address: Address,
): ResolvedRedisConnection['cluster'] {
  if (raw === undefined || raw === false) return false;
  // A cluster serves database 0 alone; SELECT fails on every node.
  if (address.db !== 0)
    throw new ConfigError(`${at}: db must be 0 on a Redis Cluster (cluster is set), got ${address.db}.`);
  const scheme = address.tls ? 'rediss' : 'redis';
  if (raw === true) return { nodes: [`${scheme}://${hostInUrl(address.host)}:${address.port}`] };
  if (raw.nodes.length === 0)
    throw new ConfigError(`${at}: cluster.nodes must name at least one node URL, such as redis://127.0.0.1:7000.`);
  raw.nodes.forEach((node, i) => {
    const { db } = parseRedisUrl(node, `${at}: cluster.nodes[${i}]`);
    if (db !== 0) throw new ConfigError(`${at}: cluster.nodes[${i}] names database ${db}; a cluster has only 0.`);
  });
  return { nodes: [...raw.nodes] };
}

/** An IPv6 address in brackets, as URLs and host:port messages write it. */
function hostInUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

/** `{ [key]: value }`, or nothing when the value is undefined (exactOptionalPropertyTypes). */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
