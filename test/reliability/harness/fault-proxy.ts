import net from 'node:net';

/** What the proxy does with traffic: pass it, or black-hole it (bytes are swallowed, nothing closes). */
export type ProxyMode = 'pass' | 'blackhole';

interface Pair {
  client: net.Socket;
  server: net.Socket;
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
    return (server.address() as net.AddressInfo).port;
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
