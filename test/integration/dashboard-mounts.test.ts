import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import { toNodeHandler } from '../../src/dashboard/node-handler.js';
import { shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { bootDatabaseQueue } from '../helpers/boot-database-queue.js';

// The dashboard mounted at /admin/jobs in node:http, Express 5 and Fastify 5: the page, the API
// and a change all answer under the prefix, the bare prefix redirects to its slash, and paths
// outside it are the host's. The engine does not matter here (the API suite runs on each); SQLite.

const MOUNT = '/admin/jobs';
const AUTH = { authorization: `Basic ${Buffer.from('ops:s3cret').toString('base64')}` };

interface Mounted {
  readonly base: string;
  close(): Promise<void>;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const mounts: Record<string, () => Promise<Mounted>> = {
  'node:http': async () => {
    const handler = toNodeHandler(
      createDashboard({ basePath: MOUNT, basicAuth: { username: 'ops', password: 's3cret' } }),
    );
    const server = createServer((req, res) => {
      if (req.url === MOUNT || req.url?.startsWith(`${MOUNT}/`)) return void handler(req, res);
      res.statusCode = 418;
      res.end('host');
    });
    const base = await listen(server);
    return { base, close: () => new Promise((resolve) => server.close(() => resolve())) };
  },
  'Express 5': async () => {
    const app = express();
    app.use(express.json());
    app.use(MOUNT, toNodeHandler(createDashboard({ basicAuth: { username: 'ops', password: 's3cret' } })));
    app.use((_req, res) => void res.status(418).send('host'));
    const server = createServer(app);
    const base = await listen(server);
    return { base, close: () => new Promise((resolve) => server.close(() => resolve())) };
  },
  'Fastify 5': async () => {
    const fastify: FastifyInstance = Fastify();
    const handler = toNodeHandler(createDashboard({ basicAuth: { username: 'ops', password: 's3cret' } }));
    await fastify.register(async (scope) => {
      scope.removeAllContentTypeParsers();
      scope.addContentTypeParser('*', (_request, _payload, done) => done(null));
      scope.all(`${MOUNT}/*`, (request, reply) => {
        reply.hijack();
        return handler(request.raw, reply.raw);
      });
    });
    fastify.all('/*', (_request, reply) => reply.code(418).send('host'));
    const base = await fastify.listen({ port: 0, host: '127.0.0.1' });
    return { base, close: () => fastify.close() };
  },
};

describe('the dashboard mounted at /admin/jobs', () => {
  beforeAll(async () => {
    await bootDatabaseQueue('sqlite', 'dashboard_mounts');
    await (await runtime()).queues.worker().push({ queue: 'mounted', payload: JSON.stringify({ displayName: 'X' }) });
  });
  afterAll(() => shutdown());

  for (const [server, mount] of Object.entries(mounts)) {
    describe(server, () => {
      let mounted: Mounted;
      beforeAll(async () => {
        mounted = await mount();
      });
      afterAll(() => mounted.close());

      it('serves the pages and the API under the prefix, with the prefix as the base href', async () => {
        const page = await fetch(`${mounted.base}${MOUNT}/queues`, { headers: AUTH });
        expect(page.status).toBe(200);
        expect(await page.text()).toContain(`<base href="${MOUNT}/">`);
        const queues = await fetch(`${mounted.base}${MOUNT}/api/queues`, { headers: AUTH });
        expect(queues.status).toBe(200);
        const rows = (await queues.json()) as Array<{ name: string; pending: number }>;
        expect(rows.find((row) => row.name === 'mounted')?.pending).toBe(1);
      });

      it('links and loads only URLs under the prefix, each of which answers', async () => {
        for (const page of ['', 'queues', 'failed', 'workers', 'metrics']) {
          const url = `${mounted.base}${MOUNT}/${page}`;
          const html = await (await fetch(url, { headers: AUTH })).text();
          const base = new URL(/<base href="([^"]+)"/.exec(html)![1]!, url);
          const targets = [...html.matchAll(/\s(?:href|src|action)="([^"#]*)"/g)].map((match) =>
            match[1]!.replaceAll('&amp;', '&'),
          );
          expect(targets.length, page).toBeGreaterThan(3);
          for (const target of new Set(targets)) {
            // An inline URL (the layout's empty `data:,` icon) loads nothing from the server.
            if (target.startsWith('data:')) continue;
            const resolved = new URL(target, base);
            expect(resolved.pathname.startsWith(`${MOUNT}/`), `${page}: ${target}`).toBe(true);
            const response = await fetch(resolved, { headers: AUTH });
            expect(response.status, `${page}: ${target}`).toBe(200);
          }
        }
      });

      it('takes a change posted from its own pages, with its JSON body', async () => {
        const post = (path: string, body: unknown) =>
          fetch(`${mounted.base}${MOUNT}/api/${path}`, {
            method: 'POST',
            headers: { ...AUTH, 'content-type': 'application/json', 'sec-fetch-site': 'same-origin' },
            body: JSON.stringify(body),
          });
        const paused = await post('queues/mounted/pause', {});
        expect(paused.status).toBe(200);
        expect(((await paused.json()) as { message: string }).message).toMatch(
          /Paused queue \[database:mounted\]|already paused/,
        );
        const resumed = await post('queues/mounted/resume', {});
        expect(((await resumed.json()) as { message: string }).message).toBe('Resumed queue [database:mounted]');
        const retried = await post('failed/retry', { uuids: ['no-such-uuid'] });
        expect(retried.status).toBe(404);
        expect(((await retried.json()) as { error: string }).error).toContain('[no-such-uuid]');
      });

      it('asks for credentials without them, and leaves paths outside the prefix to the host', async () => {
        const closed = await fetch(`${mounted.base}${MOUNT}/api/overview`);
        expect(closed.status).toBe(401);
        expect(closed.headers.get('www-authenticate')).toContain('Basic');
        const host = await fetch(`${mounted.base}/elsewhere`);
        expect(host.status).toBe(418);
      });

      if (server !== 'Fastify 5') {
        it('redirects the bare prefix to its slash', async () => {
          const bare = await fetch(`${mounted.base}${MOUNT}`, { headers: AUTH, redirect: 'manual' });
          expect(bare.status).toBe(308);
          expect(bare.headers.get('location')).toBe(`${MOUNT}/`);
        });
      }
    });
  }
});
