import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import type { ErrorBody } from '../../src/dashboard/api-types.js';
import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import { setClientAddress } from '../../src/dashboard/dashboard-auth.js';
import type { DashboardOptions } from '../../src/dashboard/dashboard-options.js';
import { toNodeHandler } from '../../src/dashboard/node-handler.js';
import { shutdown } from '../../src/runtime/boot.js';
import { bootDatabaseQueue } from '../helpers/boot-database-queue.js';
import { rawRequest } from '../helpers/raw-request.js';

// Who gets in, and which changes are taken: closed by default, Basic, authorize, development from
// loopback, cross-site posts and read-only. On SQLite: the answers do not depend on the engine.

const URL_BASE = 'http://dash.test';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

function get(options: DashboardOptions, headers: Record<string, string> = {}, path = 'api/overview') {
  return createDashboard(options)(new Request(`${URL_BASE}/${path}`, { headers }));
}

function post(options: DashboardOptions, headers: Record<string, string>, path = 'api/queues/auth/pause') {
  return createDashboard(options)(new Request(`${URL_BASE}/${path}`, { method: 'POST', headers, body: '{}' }));
}

const environment = process.env.NODE_ENV;

/** The dashboard with these options behind node:http on 127.0.0.1; resolves to its URL and a close. */
async function serve(options: DashboardOptions): Promise<{ url: string; close: () => Promise<unknown> }> {
  const handler = toNodeHandler(createDashboard(options));
  const server = createServer((req, res) => void handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

describe('dashboard access', () => {
  beforeAll(() => bootDatabaseQueue('sqlite', 'dashboard_auth'));
  afterAll(() => shutdown());
  afterEach(() => {
    process.env.NODE_ENV = environment;
  });

  it('is closed in production with no option, naming the options to set', async () => {
    process.env.NODE_ENV = 'production';
    const response = await get({});
    expect(response.status).toBe(403);
    const body = (await response.json()) as ErrorBody;
    expect(body.option).toBe('authorize');
    expect(body.error).toContain('`basicAuth`');
    // The page is closed too, not only the API.
    expect((await get({}, {}, 'queues')).status).toBe(403);
  });

  it('asks for Basic credentials and takes only the right ones', async () => {
    process.env.NODE_ENV = 'production';
    const basicAuth = { username: 'ops', password: 'pa:ss' };
    const none = await get({ basicAuth });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Basic realm="errand", charset="UTF-8"');
    expect(((await none.json()) as ErrorBody).option).toBe('basicAuth');
    expect((await get({ basicAuth }, { authorization: basic('ops', 'wrong') })).status).toBe(401);
    expect((await get({ basicAuth }, { authorization: basic('opz', 'pa:ss') })).status).toBe(401);
    expect((await get({ basicAuth }, { authorization: 'Bearer pa:ss' })).status).toBe(401);
    const right = await get({ basicAuth }, { authorization: basic('ops', 'pa:ss') });
    expect(right.status).toBe(200);
    expect(((await right.json()) as { status: string }).status).toBe('inactive');
  });

  it('lets in whom authorize lets in, sync or async, and names it when it says no', async () => {
    process.env.NODE_ENV = 'production';
    const refused = await get({ authorize: () => false });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as ErrorBody).option).toBe('authorize');
    expect((await get({ authorize: async () => true })).status).toBe(200);
    const byHeader = (request: Request) => request.headers.get('x-role') === 'admin';
    expect((await get({ authorize: byHeader }, { 'x-role': 'admin' })).status).toBe(200);
    expect((await get({ authorize: byHeader }, { 'x-role': 'guest' })).status).toBe(403);
    // authorize's no is final: right Basic credentials do not overrule it.
    const both = { authorize: () => false, basicAuth: { username: 'ops', password: 'x' } };
    const overruled = await get(both, { authorization: basic('ops', 'x') });
    expect(overruled.status).toBe(403);
    expect(((await overruled.json()) as ErrorBody).option).toBe('authorize');
  });

  it('does not let a development loopback client overrule authorize saying no', async () => {
    process.env.NODE_ENV = 'development';
    const server = await serve({ authorize: () => false });
    try {
      const response = await rawRequest(`${server.url}/api/overview`, { headers: { host: 'localhost' } });
      expect(response.status).toBe(403);
      expect(response.body).toContain('`authorize` said no');
    } finally {
      await server.close();
    }
  });

  it('lets a loopback client in only for a loopback Host, against DNS rebinding', async () => {
    process.env.NODE_ENV = 'development';
    const server = await serve({});
    const port = new URL(server.url).port;
    try {
      for (const host of ['localhost', `localhost:${port}`, `127.0.0.1:${port}`, '127.1.2.3', `[::1]:${port}`]) {
        expect((await rawRequest(`${server.url}/api/overview`, { headers: { host } })).status, host).toBe(200);
      }
      for (const host of ['x', `evil.test:${port}`, 'localhost.evil.test', '127.0.0.1.evil.test']) {
        const refused = await rawRequest(`${server.url}/api/overview`, { headers: { host } });
        expect(refused.status, host).toBe(403);
        expect(JSON.parse(refused.body) as ErrorBody).toMatchObject({ option: 'authorize' });
        expect(refused.body).toContain('DNS rebinding');
      }
      // The rebound page's own POST: its Origin matches its Host, yet nothing is flushed.
      const flush = await rawRequest(`${server.url}/api/failed/flush`, {
        method: 'POST',
        headers: { host: 'x', origin: 'http://x' },
      });
      expect(flush.status).toBe(403);
      expect(flush.body).toContain('DNS rebinding');
    } finally {
      await server.close();
    }
  });

  it('lets in a loopback client in development only, and never a remote one', async () => {
    const handler = toNodeHandler(createDashboard({}));
    const server = createServer((req, res) => void handler(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/overview`;
    try {
      process.env.NODE_ENV = 'development';
      expect((await fetch(url)).status).toBe(200);
      process.env.NODE_ENV = 'local';
      expect((await fetch(url)).status).toBe(200);
      process.env.NODE_ENV = 'production';
      expect((await fetch(url)).status).toBe(403);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    process.env.NODE_ENV = 'development';
    const remote = new Request(`${URL_BASE}/api/overview`);
    setClientAddress(remote, '10.1.2.3');
    expect((await createDashboard({})(remote)).status).toBe(403);
    // A Request without a known address (a Fetch server) is not taken for loopback either.
    expect((await get({})).status).toBe(403);
  });

  it('takes a change only from its own pages', async () => {
    const open = { authorize: () => true };
    const refused = async (headers: Record<string, string>) => {
      const response = await post(open, headers);
      expect(response.status, JSON.stringify(headers)).toBe(403);
      return ((await response.json()) as ErrorBody).error;
    };
    expect(await refused({ 'sec-fetch-site': 'cross-site' })).toContain('cross-site');
    await refused({ 'sec-fetch-site': 'same-site' });
    await refused({ 'sec-fetch-site': 'cross-site', origin: URL_BASE });
    await refused({ origin: 'http://evil.test' });
    await refused({ origin: 'null' });
    expect(await refused({})).toContain('Sec-Fetch-Site');
    const allowed: Record<string, string>[] = [
      { 'sec-fetch-site': 'same-origin' },
      { 'sec-fetch-site': 'none' },
      { origin: URL_BASE },
    ];
    for (const headers of allowed) {
      const response = await post(open, headers);
      expect(response.status, JSON.stringify(headers)).toBe(200);
    }
    // Changes are POST only.
    const getPause = await get(open, {}, 'api/queues/auth/pause');
    expect(getPause.status).toBe(405);
    expect(getPause.headers.get('allow')).toBe('POST');
  });

  it('changes nothing when read-only, naming readOnly, and still reads', async () => {
    const readOnly = { authorize: () => true, readOnly: true };
    for (const path of ['api/queues/auth/pause', 'api/failed/retry', 'api/failed/flush', 'api/batches/x/retry']) {
      const response = await post(readOnly, { 'sec-fetch-site': 'same-origin' }, path);
      expect(response.status, path).toBe(403);
      expect(((await response.json()) as ErrorBody).option).toBe('readOnly');
    }
    expect((await get(readOnly)).status).toBe(200);
  });

  it('refuses options it cannot use, naming them', () => {
    expect(() => createDashboard({ basicAuth: { username: 'ops', password: '' } })).toThrow('`basicAuth`');
    expect(() => createDashboard({ pollMs: 10 })).toThrow('`pollMs`');
    expect(() => createDashboard({ countCap: 0 })).toThrow('`countCap`');
    expect(() => createDashboard({ redact: [''] })).toThrow('`redact`');
  });
});
