import net from 'node:net';

/** What the proxy does with traffic: pass it, or black-hole it (bytes are swallowed, nothing closes). */
export type ProxyMode = 'pass' | 'blackhole';

interface Pair {
  client: net.Socket;
  server: net.Socket;
}

/** A rule of `resetOn`: how often it matched a client chunk, and how often it reset the connection. */
export interface ResetRule {
  readonly pattern: RegExp;
  readonly rate: number;
  readonly after: boolean;
  matched: number;
  resets: number;
  /** Stops applying the rule. */
  remove(): void;
}

/**
 * A TCP proxy on 127.0.0.1 in front of a database server, for the reliability scenarios: a
 * worker connected through it can have its connections dropped (both sides reset at once) or
 * black-holed (open, but nothing gets through either way: a half-open network), and healed again.
 */
export class FaultProxy {
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private mode: ProxyMode = 'pass';
  private readonly rules = new Set<ResetRule>();
  private listening: number | undefined;

  constructor(
    private readonly target: { host: string; port: number },
    private readonly listenPort = 0,
  ) {}

  /** Starts listening; resolves to the port workers should connect to. */
  async start(): Promise<number> {
    const server = net.createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    this.listening = (server.address() as net.AddressInfo).port;
    return this.listening;
  }

  /** The port workers connect to (once started). */
  get port(): number {
    if (this.listening === undefined) throw new Error('The fault proxy has not been started.');
    return this.listening;
  }

  /**
   * From now on, a chunk from a client (a statement on its way to the server) that matches
   * `pattern` resets its connection, both sides, with probability `rate`: before the chunk is
   * forwarded (the server never sees the statement), or with `after` once the server's first
   * answer to it arrives, which is swallowed (the server ran it; the client never hears so).
   */
  resetOn(pattern: RegExp, rate: number, options: { after?: boolean } = {}): ResetRule {
    const rule: ResetRule = {
      pattern,
      rate,
      after: options.after ?? false,
      matched: 0,
      resets: 0,
      remove: () => this.rules.delete(rule),
    };
    this.rules.add(rule);
    return rule;
  }

  /** How many client connections are open through the proxy. */
  get connections(): number {
    return this.pairs.size;
  }

  /** Resets every open connection (both sides); new ones are accepted as the mode says. */
  drop(): void {
    for (const pair of this.pairs) {
      pair.client.resetAndDestroy();
      pair.server.resetAndDestroy();
    }
    this.pairs.clear();
  }

  /** From now on nothing gets through, on open connections and new ones, until `heal()`. */
  blackhole(): void {
    this.mode = 'blackhole';
    for (const pair of this.pairs) this.stopForwarding(pair);
  }

  /** Lets traffic through again. Black-holed connections stay dead (their bytes are gone): drop them. */
  heal(): void {
    this.mode = 'pass';
    this.drop();
  }

  async stop(): Promise<void> {
    this.drop();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: net.Socket): void {
    const server = net.connect(this.target.port, this.target.host);
    const pair = { client, server };
    this.pairs.add(pair);
    const forget = () => {
      this.pairs.delete(pair);
      client.destroy();
      server.destroy();
    };
    client.on('error', forget).on('close', forget);
    server.on('error', forget).on('close', forget);
    if (this.mode === 'blackhole') this.stopForwarding(pair);
    else {
      client.pipe(server);
      server.pipe(client);
    }
    // Ahead of the pipe's own listener: a reset chunk must not be forwarded first.
    client.prependListener('data', (chunk: Buffer) => this.applyRules(pair, chunk));
  }

  private applyRules(pair: Pair, chunk: Buffer): void {
    if (this.rules.size === 0 || this.mode === 'blackhole') return;
    const text = chunk.toString('latin1');
    for (const rule of this.rules) {
      if (!rule.pattern.test(text)) continue;
      rule.matched++;
      if (Math.random() >= rule.rate) continue;
      rule.resets++;
      const reset = () => {
        this.pairs.delete(pair);
        pair.client.resetAndDestroy();
        pair.server.resetAndDestroy();
      };
      if (!rule.after) {
        // The pipe still writes this chunk, to a destroyed socket: nothing reaches the server.
        pair.client.unpipe();
        return reset();
      }
      // The server's answer is the next thing it sends: swallow it and reset.
      pair.server.unpipe();
      pair.server.once('data', reset);
      pair.server.resume();
      return;
    }
  }

  private stopForwarding(pair: Pair): void {
    pair.client.unpipe();
    pair.server.unpipe();
    // Read and discard, so neither side sees back-pressure or a close: it just never hears back.
    for (const socket of [pair.client, pair.server]) {
      socket.removeAllListeners('data');
      socket.on('data', () => undefined);
      socket.resume();
    }
  }
}
