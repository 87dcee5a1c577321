import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What the demo's tracking service saw. */
export interface TrackingStats {
  accepted: Array<{ type: string; body: Record<string, unknown>; receivedAt: number }>;
  rejected: number;
}

/**
 * A small event-tracking API on 127.0.0.1 for the demo. It answers 201, except that every third
 * request fails with a 500 (so jobs are retried) and product 13 always fails (so one job ends in
 * failed_jobs).
 */
export async function startTrackingServer(): Promise<{
  url: string;
  stats: TrackingStats;
  close: () => Promise<void>;
}> {
  const stats: TrackingStats = { accepted: [], rejected: 0 };
  let requests = 0;
  const server: Server = createServer((request, response) => {
    let text = '';
    request.on('data', (chunk) => (text += chunk));
    request.on('end', () => {
      requests++;
      const body = JSON.parse(text || '{}') as Record<string, unknown>;
      if (requests % 3 === 0 || body.itemId === 13) {
        stats.rejected++;
        response.writeHead(500).end('{"error":"tracking backend unavailable"}');
        return;
      }
      stats.accepted.push({ type: request.url?.slice(1) ?? '', body, receivedAt: Math.floor(Date.now() / 1000) });
      response.writeHead(201, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    stats,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
