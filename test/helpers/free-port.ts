import net from 'node:net';

/**
 * A port the kernel says is free on 127.0.0.1 now (it picks one for port 0, which is let go at
 * once): free when asked, so the caller binds it a moment later.
 */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}
