import type { IncomingMessage } from 'node:http';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createDashboard } from '../../src/dashboard/create-dashboard.js';
import { toRequest } from '../../src/dashboard/node-handler.js';
import { shutdown } from '../../src/runtime/boot.js';
import { bootDatabaseQueue } from '../helpers/boot-database-queue.js';

// The HTTP core without data: mounting, redirects, headers, the asset route and the page seam.
// What the API answers is tested against real stores in test/integration/dashboard-api.test.ts.

const open = () => true;

describe('the dashboard HTTP core', () => {
  // Pages read through the booted runtime: an empty SQLite store.
  beforeAll(() => bootDatabaseQueue('sqlite', 'dashboard_http'));
  afterAll(() => shutdown());

  it('redirects the bare mount to its slash, so relative URLs resolve under it', async () => {
    const handler = createDashboard({ basePath: '/admin/jobs/', authorize: open });
    const response = await handler(new Request('http://x/admin/jobs?x=1'));
    expect(response.status).toBe(308);
    expect(response.headers.get('location')).toBe('/admin/jobs/?x=1');
  });

  it('never takes a path starting with // for another host, as mount or as URL', async () => {
    const handler = createDashboard({ authorize: open });
    const response = await handler(new Request('http://x//evil.com/queues'));
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).not.toContain('<base');
    expect(body).toContain('`basePath`');
    expect((await handler(new Request('http://x//evil.com'))).headers.get('location')).toBeNull();
    expect((await handler(new Request('http://x/ops//jobs/queues'))).status).toBe(400);
    // A basePath with repeated slashes is read as one path, never as a host.
    const fixed = createDashboard({ basePath: '//admin//jobs', authorize: open });
    const page = await fixed(new Request('http://x/admin/jobs/queues'));
    expect(await page.text()).toContain('<base href="/admin/jobs/">');
    // The Node adapter keeps the Host's origin whatever the path looks like.
    const node = (url: string, host = 'dash.test:8080') =>
      toRequest({ url, method: 'GET', headers: { host }, socket: {} } as unknown as IncomingMessage);
    expect((await node('//evil.com/queues')).url).toBe('http://dash.test:8080//evil.com/queues');
    expect((await node('http://evil.com/queues?a=1')).url).toBe('http://dash.test:8080/queues?a=1');
    expect((await node('/queues', 'evil.com/x@y')).url).toBe('http://localhost/queues');
  });

  it('renders a page with the mount as its base href and the response nonce on its script', async () => {
    const handler = createDashboard({ basePath: '/admin/jobs', authorize: open });
    const response = await handler(new Request('http://x/admin/jobs/queues'));
    expect(response.status).toBe(200);
    const html = await response.text();
    const nonce = /script-src 'nonce-([^']+)'/.exec(response.headers.get('content-security-policy') ?? '')?.[1];
    expect(nonce).toBeTruthy();
    expect(html).toContain('<base href="/admin/jobs/">');
    expect(html).toContain(`nonce="${nonce}"`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('same-origin');
    expect(response.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  });

  it('gives each response its own nonce', async () => {
    const handler = createDashboard({ authorize: open });
    const csp = async () => (await handler(new Request('http://x/'))).headers.get('content-security-policy');
    expect(await csp()).not.toBe(await csp());
  });

  it('guesses the mount from the route at the end of the path when no basePath is given', async () => {
    const handler = createDashboard({ authorize: open });
    const html = await (await handler(new Request('http://x/ops/queue-ui/workers'))).text();
    expect(html).toContain('<base href="/ops/queue-ui/">');
    expect(await (await handler(new Request('http://x/jobs/queues'))).text()).toContain('<base href="/jobs/">');
    const api = await handler(new Request('http://x/admin/jobs/api/queues'));
    expect(api.headers.get('content-type')).toContain('application/json');
  });

  it('answers 404 outside the mount and 405 naming the method a route takes', async () => {
    const handler = createDashboard({ basePath: '/admin/jobs', authorize: open });
    const outside = await handler(new Request('http://x/elsewhere/queues'));
    expect(outside.status).toBe(404);
    expect(((await outside.json()) as { option: string }).option).toBe('basePath');
    const getPause = await handler(new Request('http://x/admin/jobs/api/queues/default/pause'));
    expect(getPause.status).toBe(405);
    expect(getPause.headers.get('allow')).toBe('POST');
  });

  it('serves no asset path that climbs out of the assets folder', async () => {
    const handler = createDashboard({ authorize: open });
    for (const path of ['assets/../../package.json', 'assets/%2e%2e/package.json', 'assets/.hidden.js']) {
      const response = await handler(new Request(`http://x/${path}`));
      expect(response.status, path).toBe(404);
    }
  });
});
