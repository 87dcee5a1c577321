import { createRequire } from 'node:module';

import type { RedisClientOptions, RedisClientType, RedisClusterOptions, RedisClusterType } from 'redis';

import type { ResolvedRedisConnection } from '../../config/config-types.js';
import { DatabaseUnreachableError } from '../../errors/database-unreachable-error.js';
import { MissingDatabaseClientError } from '../../errors/missing-database-client-error.js';

// The node-redis adapter of errand's RedisClient port (redis-client.ts), and the only file that
// imports `redis`. It does not import the port itself (that would be an import cycle): the port
// checks this class against its interface where it returns it.

type RedisModule = typeof import('redis');
type Connection = RedisClientType | RedisClusterType;

/** How many times a first connection is tried before errand says the server is unreachable. */
const FIRST_CONNECT_TRIES = 3;
/** The longest pause between reconnection attempts once a connection has worked. */
const MAX_RECONNECT_DELAY_MS = 2000;

let loaded: RedisModule | undefined;

/** node-redis, loaded on first use: it is an optional peer dependency. */
function requireRedis(connectionName: string): RedisModule {
  if (loaded) return loaded;
  try {
    loaded = createRequire(import.meta.url)('redis') as RedisModule;
    return loaded;
  } catch (error) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    if (code !== 'MODULE_NOT_FOUND' || typeof message !== 'string' || !message.startsWith("Cannot find module 'redis'"))
      throw error;
    throw new MissingDatabaseClientError(
      connectionName,
      'redis',
      `The redis connection [${connectionName}] needs the node-redis client: install it with \`npm install redis\`. ` +
        "errand's store clients are optional peer dependencies, so an app installs only the one it uses.",
      { cause: error },
    );
  }
}

/** Opens a node-redis client (or cluster client) for `config`; it starts connecting at once. */
export function openNodeRedisClient(config: ResolvedRedisConnection, connectionName: string): NodeRedisClient {
  const redis = requireRedis(connectionName);
  const address = config.cluster ? hostPortOf(config.cluster.nodes[0]!) : hostPort(config.host, config.port);
  return new NodeRedisClient(redis, config, connectionName, address);
}

/** errand's RedisClient over node-redis 5. */
export class NodeRedisClient {
  readonly cluster: boolean;
  readonly #connection: Connection;
  readonly #ready: Promise<void>;
  #connected = false;
  #closed = false;
  #inFlight = 0;

  constructor(
    private readonly redis: RedisModule,
    private readonly config: ResolvedRedisConnection,
    private readonly connectionName: string,
    readonly address: string,
    private readonly blocking = false,
  ) {
    this.cluster = config.cluster !== false;
    this.#connection = this.#create();
    // node-redis emits every socket error; unheard, an 'error' event would end the process.
    this.#connection.on('error', () => {});
    this.#ready = this.#connection.connect().then(
      () => {
        this.#connected = true;
        this.#setRef();
      },
      (error: unknown) => {
        throw this.#unreachable(error);
      },
    );
    // Commands report the failure themselves; this only keeps it from counting as unhandled.
    this.#ready.catch(() => {});
  }

  /** Runs `script` by EVALSHA, sending its text (EVAL, which also caches it) when the server lacks it. */
  async run(
    script: { readonly name: string; readonly lua: string; readonly sha1: string },
    keys: readonly string[],
    args: readonly (string | number)[],
  ): Promise<unknown> {
    const tail = [String(keys.length), ...keys, ...args.map(String)];
    // A reply such as WRONGTYPE says which command failed, never on which key: name them all.
    const what = keys.length === 0 ? script.name : `${script.name} (keys ${keys.join(', ')})`;
    try {
      return await this.#send(['EVALSHA', script.sha1, ...tail], keys[0]);
    } catch (error) {
      if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) throw this.#described(error, what);
    }
    try {
      return await this.#send(['EVAL', script.lua, ...tail], keys[0]);
    } catch (error) {
      throw this.#described(error, what);
    }
  }

  /** One plain command, routed by `key` on a cluster. */
  async command(args: readonly string[], key?: string): Promise<unknown> {
    try {
      return await this.#send(args, key);
    } catch (error) {
      throw this.#described(error, key === undefined ? (args[0] ?? 'command') : `${args[0]} (key ${key})`);
    }
  }

  /** `args` on each master of a cluster (the one server otherwise), with its host:port. */
  async commandOnEachNode(args: readonly string[]): Promise<Array<{ address: string; reply: unknown }>> {
    if (!this.cluster) return [{ address: this.address, reply: await this.command(args) }];
    if (this.#closed) throw new ClosedClientError(this.connectionName);
    if (!this.#connected) await this.#ready;
    const cluster = this.#connection as RedisClusterType;
    return Promise.all(
      cluster.masters.map(async (master) => {
        const address = hostPort(master.host, master.port);
        try {
          return { address, reply: await (await cluster.nodeClient(master)).sendCommand(args as string[]) };
        } catch (error) {
          throw this.#described(error, `${args[0] ?? 'command'} on ${address}`);
        }
      }),
    );
  }

  /** A new connection of the same configuration, for blocking pops. */
  async duplicate(): Promise<NodeRedisClient> {
    const copy = new NodeRedisClient(this.redis, this.config, this.connectionName, this.address, true);
    await copy.#ready;
    return copy;
  }

  /** Closes the connection: waits for replies in flight, except on a blocking connection. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const connection = this.#connection;
    // A client that gave up connecting has closed itself already.
    if (!connection.isOpen) return;
    if (this.blocking || !this.#connected) {
      connection.destroy();
      return;
    }
    try {
      await connection.close();
    } catch {
      if (connection.isOpen) connection.destroy();
    }
  }

  #create(): Connection {
    const { config } = this;
    const socket = {
      connectTimeout: 5000,
      // Until a first connection works, a few tries decide that the server is unreachable; after
      // that a lost connection is retried for as long as it takes (Redis restarting, a failover).
      reconnectStrategy: (retries: number, cause: Error) => {
        if (!this.#connected && retries >= FIRST_CONNECT_TRIES - 1) return this.#unreachable(cause);
        if (this.#closed) return false;
        return Math.min(50 * 2 ** Math.min(retries, 10), MAX_RECONNECT_DELAY_MS);
      },
      ...(config.tls === false ? {} : { tls: true as const, ...config.tls }),
    };
    const credentials = {
      ...(config.username === undefined ? {} : { username: config.username }),
      ...(config.password === undefined ? {} : { password: config.password }),
    };
    if (config.cluster) {
      const options: RedisClusterOptions = {
        rootNodes: config.cluster.nodes.map((url) => ({ url })),
        defaults: { ...credentials, socket } as RedisClusterOptions['defaults'],
      };
      return this.redis.createCluster(options) as unknown as Connection;
    }
    const options: RedisClientOptions = {
      ...credentials,
      database: config.db,
      socket: { host: config.host, port: config.port, ...socket } as RedisClientOptions['socket'],
    };
    return this.redis.createClient(options) as unknown as Connection;
  }

  async #send(args: readonly string[], key: string | undefined): Promise<unknown> {
    if (this.#closed) throw new ClosedClientError(this.connectionName);
    if (!this.#connected) await this.#ready;
    this.#inFlight++;
    if (this.#inFlight === 1) this.#setRef();
    try {
      if (this.cluster) return await (this.#connection as RedisClusterType).sendCommand(key, false, args as string[]);
      return await (this.#connection as RedisClientType).sendCommand(args as string[]);
    } finally {
      this.#inFlight--;
      if (this.#inFlight === 0) this.#setRef();
    }
  }

  /**
   * An idle connection does not hold the process open (a script that dispatched and returned
   * exits), while one awaiting a reply does. A cluster client has no such switch.
   */
  #setRef(): void {
    if (this.cluster || !this.#connected || this.#closed) return;
    const client = this.#connection as RedisClientType;
    if (this.#inFlight > 0) client.ref();
    else client.unref();
  }

  /**
   * A server's error reply names the script or command and the connection; a lost connection is
   * unreachable. A closed client is neither: it will never answer again, so it must not read as
   * unreachable (which callers retry until the server is back).
   */
  #described(error: unknown, what: string): Error {
    if (error instanceof DatabaseUnreachableError || error instanceof ClosedClientError) return error;
    if (error instanceof this.redis.ClientClosedError) return new ClosedClientError(this.connectionName, error);
    if (error instanceof this.redis.ErrorReply && !TRANSIENT_REPLY.test(error.message)) {
      return new Error(
        `Redis ${what} on connection [${this.connectionName}] (${this.address}) failed: ${error.message}`,
        { cause: error },
      );
    }
    return this.#unreachable(error);
  }

  #unreachable(error: unknown): DatabaseUnreachableError {
    if (error instanceof DatabaseUnreachableError) return error;
    // node-redis wraps what the reconnect strategy returned (ours, already described) in a
    // ReconnectStrategyError of the same message: hand back ours rather than naming it twice.
    const original = (error as { originalError?: unknown } | undefined)?.originalError;
    if (original instanceof DatabaseUnreachableError) return original;
    const message = error instanceof Error ? error.message || error.name : String(error);
    return new DatabaseUnreachableError(
      `Redis connection [${this.connectionName}] at ${this.address} is unreachable: ${message}`,
      { cause: error },
    );
  }
}

/** A command sent after this process closed the client: a bug or a shutdown, never worth a retry. */
class ClosedClientError extends Error {
  constructor(connectionName: string, cause?: unknown) {
    super(`The client of redis connection [${connectionName}] is closed`, cause === undefined ? {} : { cause });
    this.name = 'ClosedClientError';
  }
}

/** Replies that say the server cannot serve now but will (loading its data, a cluster reconfiguring). */
const TRANSIENT_REPLY = /^(LOADING|BUSY|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|READONLY)\b/;

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

function hostPortOf(url: string): string {
  const parsed = new URL(url);
  return `${parsed.hostname}:${parsed.port || 6379}`;
}
