// The push API (POST <base>/api/queues/:queue/jobs) on every engine: jobs pushed over HTTP land in
// the store and a worker runs them with their data restored; every refusal (credentials, stale
// timestamp, unknown job, data a worker could not decode, oversize) queues nothing; a client id
// pushed again, even concurrently, queues one job only. The handler is called with Fetch
// Requests, as the dashboard's router calls it.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';

import type { ErrorBody, PushBody } from '../../src/dashboard/api-types.js';
import { createDashboard, toNodeHandler } from '../../src/dashboard/index.js';
import { handlePush, signPushBody } from '../../src/dashboard/push/index.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { pushRecorder } from '../fixtures/jobs/push-jobs.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';

const TOKENS = ['token-old-0123456789abcdef', 'token-new-0123456789abcdef'];
const KEYS = ['signing-old-0123456789abcdef', 'signing-new-0123456789abcdef'];
const MAX_BODY = 8192;
const URL_OF = (queue: string, query = '') => `http://push.test/admin/jobs/api/queues/${queue}/jobs${query}`;
const now = () => Math.floor(Date.now() / 1000);

type Answer<T> = { status: number; body: T; headers: Headers };

async function push<T = PushBody>(
  queue: string,
  body: unknown,
  headers: Record<string, string> = { authorization: `Bearer ${TOKENS[1]}` },
  query = '',
): Promise<Answer<T>> {
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  const response = await handlePush(
    new Request(URL_OF(queue, query), {
      method: 'POST',
      body: text,
      headers: { 'content-type': 'application/json', ...headers },
    }),
    { queue },
  );
  return { status: response.status, body: (await response.json()) as T, headers: response.headers };
}

const signed = (text: string, key: string, at = now()) => ({
  'x-errand-signature': signPushBody(key, text, at),
  'x-errand-timestamp': String(at),
});

await describeEachEngine('the push API', (engine) => {
  let defaultConnection: string;
  const size = async (queue: string) => (await runtime()).queues.connection(defaultConnection).size(queue);
  const work = (queues: string[]) => createWorker({ queues, stopWhenEmpty: true, sleep: 0 }).run();

  beforeAll(async () => {
    const store = await freshStore(engine, 'push_api');
    defaultConnection = store.default;
    await boot({
      default: store.default,
      connections: { ...storeConnections(store), inline: { driver: 'sync' } },
      api: { tokens: TOKENS, signingKeys: KEYS, maxBodySize: MAX_BODY },
    });
    await runMigrations();
  });
  afterAll(() => shutdown());
  beforeEach(() => pushRecorder.reset());

  it('queues one job with a bearer token (old or new while rotating), and a worker runs it with its data restored', async () => {
    const first = await push('billing', {
      job: 'push.SendInvoice',
      data: { invoiceId: 7, dueAt: '2030-01-02T03:04:05.000Z' },
    });
    expect(first.status, JSON.stringify(first.body)).toBe(201);
    expect(first.body.jobs).toEqual([
      {
        id: null,
        job: 'push.SendInvoice',
        connection: defaultConnection,
        queue: 'billing',
        jobId: expect.any(String),
        replayed: false,
      },
    ]);
    const second = await push(
      'billing',
      { job: 'push.ChargeCard', data: { amount: 1250 } },
      { authorization: `Bearer ${TOKENS[0]}` },
    );
    expect(second.status, JSON.stringify(second.body)).toBe(201);
    expect(await size('billing')).toBe(2);

    expect(await work(['billing'])).toBe(0);
    expect(pushRecorder.handled).toEqual([
      { job: 'push.SendInvoice', detail: `7@${Date.parse('2030-01-02T03:04:05.000Z')}` },
      { job: 'push.ChargeCard', detail: '1250' },
    ]);
  });

  it('refuses a push without credentials, with a wrong token or a malformed header, queuing nothing', async () => {
    const none = await push<ErrorBody>('refused', { job: 'push.SendInvoice' }, {});
    expect(none.status).toBe(401);
    expect(none.body.option).toBe('api.tokens');
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await push<ErrorBody>(
      'refused',
      { job: 'push.SendInvoice' },
      { authorization: 'Bearer not-a-token-of-ours-at-all' },
    );
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toBe('The bearer token was refused: it matches none of api.tokens.');
    const basic = await push<ErrorBody>(
      'refused',
      { job: 'push.SendInvoice' },
      { authorization: 'Basic dXNlcjpwYXNz' },
    );
    expect(basic.status).toBe(401);
    expect(basic.body.error).toContain('Bearer <token>');
    expect(await size('refused')).toBe(0);
  });

  it('takes a body signed with either signing key, and refuses a bad signature, a moved timestamp and a stale one', async () => {
    const text = JSON.stringify({ job: 'push.ChargeCard', data: { amount: 99 } });
    for (const key of KEYS) expect((await push('signed', text, signed(text, key))).status).toBe(201);
    expect(await size('signed')).toBe(2);

    const forged = await push<ErrorBody>('signed', text, signed(text, 'someone-elses-key-0123456789'));
    expect(forged.status).toBe(401);
    expect(forged.body).toEqual({
      error: 'The signature was refused: it matches no key of api.signingKeys for this body and timestamp.',
      option: 'api.signingKeys',
    });
    // The timestamp is signed with the body: a captured request with a fresh timestamp is refused.
    const captured = signed(text, KEYS[0]!, now() - 1000);
    const moved = await push<ErrorBody>('signed', text, { ...captured, 'x-errand-timestamp': String(now()) });
    expect(moved.status).toBe(401);
    expect(moved.body.error).toContain('matches no key');
    const tampered = await push<ErrorBody>('signed', text.replace('99', '9900'), signed(text, KEYS[0]!));
    expect(tampered.status).toBe(401);

    const stale = await push<ErrorBody>('signed', text, signed(text, KEYS[0]!, now() - 301));
    expect(stale.status).toBe(401);
    expect(stale.body.error).toMatch(
      /^X-Errand-Timestamp is 30[1-3] seconds from this server's clock, outside api.replayWindow \(300 s\)/,
    );
    const future = await push<ErrorBody>('signed', text, signed(text, KEYS[0]!, now() + 3600));
    expect(future.status).toBe(401);
    const missing = await push<ErrorBody>('signed', text, {
      'x-errand-signature': signPushBody(KEYS[0]!, text, now()),
    });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toContain('X-Errand-Timestamp');
    expect(await size('signed')).toBe(2);
  });

  it('answers 404 for an unknown job, naming the closest registered one, and never pushes errand’s own carriers', async () => {
    const typo = await push<ErrorBody>('unknown', { job: 'push.SendInvoce', data: {} });
    expect(typo.status).toBe(404);
    expect(typo.body.error).toBe(
      'body.job: unknown job [push.SendInvoce]: no class is registered under that name. Did you mean [push.SendInvoice]?',
    );
    const carrier = await push<ErrorBody>('unknown', { job: 'CallQueuedListener', data: {} });
    expect(carrier.status).toBe(404);
    expect(carrier.body.error).toContain("errand's own carrier job");
    expect(await size('unknown')).toBe(0);
  });

  it('refuses data a worker could not decode (422) and bodies of the wrong shape (400), queuing nothing of the batch', async () => {
    const bad = await push<ErrorBody>('invalid', {
      jobs: [
        { job: 'push.ChargeCard', data: { amount: 100 } },
        { job: 'push.ChargeCard', data: { amount: 'ten dollars' } },
      ],
    });
    expect(bad.status).toBe(422);
    expect(bad.body.error).toBe(
      'jobs[1]: the data of push.ChargeCard could not be restored: amount must be a whole number of cents > 0, got "ten dollars"',
    );
    const notObject = await push<ErrorBody>('invalid', { job: 'push.ChargeCard', data: [1, 2] });
    expect(notObject.status).toBe(422);
    expect(notObject.body.error).toBe("body.data must be an object of the job's properties, got a list.");
    const option = await push<ErrorBody>('invalid', { job: 'push.ChargeCard', data: { amount: 1, tries: 1000 } });
    expect(option.status).toBe(422);
    expect(option.body.error).toBe(
      "body.data.tries would set the job's `tries` option, which a push cannot: options come from the job class (@Job).",
    );
    const delay = await push<ErrorBody>('invalid', { job: 'push.ChargeCard', data: { amount: 1 }, delay: -5 });
    expect(delay.status).toBe(422);
    expect(delay.body.error).toBe('body.delay must be a number of seconds from 0 to 2147483647, got -5.');

    const typoKey = await push<ErrorBody>('invalid', { job: 'push.ChargeCard', dat: { amount: 1 } });
    expect(typoKey.status).toBe(400);
    expect(typoKey.body.error).toBe('body has unknown key "dat"; a job takes "job", "data", "id", "delay".');
    const notJson = await push<ErrorBody>('invalid', '{"job": "push.ChargeCard",');
    expect(notJson.status).toBe(400);
    expect(notJson.body.error).toMatch(/^The request body is not valid JSON/);
    const proto = await push<ErrorBody>('invalid', '{"job":"push.ChargeCard","data":{"__proto__":{"amount":1}}}');
    expect(proto.status).toBe(400);
    expect(proto.body.error).toBe('The request body holds the forbidden key [__proto__] at body.data.__proto__.');
    const sync = await push<ErrorBody>(
      'invalid',
      { job: 'push.ChargeCard', data: { amount: 1 } },
      undefined,
      '?connection=inline',
    );
    expect(sync.status).toBe(400);
    const nowhere = await push<ErrorBody>(
      'invalid',
      { job: 'push.ChargeCard', data: { amount: 1 } },
      undefined,
      '?connection=reddis',
    );
    expect(nowhere.status).toBe(404);
    expect(nowhere.body.error).toContain('Connection [reddis] is not defined');
    expect(await size('invalid')).toBe(0);
  });

  it('answers 413 naming api.maxBodySize for a body over the limit, declared or streamed', async () => {
    const big = { job: 'push.SendInvoice', data: { invoiceId: 1, note: 'x'.repeat(MAX_BODY) } };
    const declared = await push<ErrorBody>('oversize', big);
    expect(declared.status).toBe(413);
    expect(declared.body.option).toBe('api.maxBodySize');
    expect(declared.body.error).toMatch(new RegExp(`over the push API's limit of ${MAX_BODY} bytes`));

    // Without a Content-Length (a chunked upload): cut off where it passes the limit.
    const chunks = [JSON.stringify(big).slice(0, 5000), JSON.stringify(big).slice(5000)];
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(new TextEncoder().encode(next));
      },
    });
    const response = await handlePush(
      new Request(URL_OF('oversize'), {
        method: 'POST',
        body: stream,
        headers: { authorization: `Bearer ${TOKENS[0]}` },
        duplex: 'half',
      } as RequestInit),
      { queue: 'oversize' },
    );
    expect(response.status).toBe(413);
    expect(((await response.json()) as ErrorBody).error).toContain(`more than ${MAX_BODY} bytes`);
    expect(await size('oversize')).toBe(0);
  });

  it('answers a client id pushed again with its first answer, and queues one job for it even when pushed concurrently', async () => {
    const job = { job: 'push.SendInvoice', data: { invoiceId: 42 }, id: 'order-42-invoice' };
    const first = await push('replay', job);
    expect(first.status).toBe(201);
    const again = await push('replay', { ...job, data: { invoiceId: 42 } });
    expect(again.status).toBe(200);
    expect(again.body.jobs[0]).toEqual({ ...first.body.jobs[0], replayed: true });
    expect(await size('replay')).toBe(1);

    const other = await push<ErrorBody>('replay', { ...job, data: { invoiceId: 43 } });
    expect(other.status).toBe(422);
    expect(other.body.error).toContain('was already used for a different job');

    // Concurrent pushes of one new id: one queues, each of the others replays it or is told to retry.
    const racing = await Promise.all(
      Array.from({ length: 6 }, () =>
        push('replay', { job: 'push.SendInvoice', data: { invoiceId: 44 }, id: 'order-44' }),
      ),
    );
    expect(racing.filter((r) => r.status === 201)).toHaveLength(1);
    for (const r of racing) expect([200, 201, 409]).toContain(r.status);
    const ids = new Set(racing.filter((r) => r.status !== 409).map((r) => (r.body as PushBody).jobs[0]!.jobId));
    expect(ids.size).toBe(1);
    expect(await size('replay')).toBe(2);
    // A retry after the race gets the one job's answer.
    const settled = await push('replay', { job: 'push.SendInvoice', data: { invoiceId: 44 }, id: 'order-44' });
    expect(settled.body.jobs[0]!.jobId).toBe([...ids][0]);

    expect(await work(['replay'])).toBe(0);
    expect(pushRecorder.handled.map((h) => h.detail).sort()).toEqual(['42@none', '44@none']);
  });

  it('queues a batch of many in order, and replays the ones already queued when the batch is sent again', async () => {
    const jobs = Array.from({ length: 60 }, (_, i) => ({
      job: 'push.ChargeCard',
      data: { amount: i + 1 },
      id: `charge-${i}`,
    }));
    const first = await push('batch', { jobs: jobs.slice(0, 40) });
    expect(first.status).toBe(201);
    expect(first.body.jobs.map((j) => j.id)).toEqual(jobs.slice(0, 40).map((j) => j.id));
    expect(new Set(first.body.jobs.map((j) => j.jobId)).size).toBe(40);
    const all = await push('batch', { jobs });
    expect(all.status).toBe(201);
    expect(all.body.jobs.filter((j) => j.replayed)).toHaveLength(40);
    expect(all.body.jobs.slice(0, 40)).toEqual(first.body.jobs.map((j) => ({ ...j, replayed: true })));
    expect(await size('batch')).toBe(60);

    const duplicateIds = await push<ErrorBody>('batch', { jobs: [jobs[0], jobs[0]] });
    expect(duplicateIds.status).toBe(400);

    expect(await work(['batch'])).toBe(0);
    expect(pushRecorder.handled.map((h) => Number(h.detail)).sort((a, b) => a - b)).toEqual(
      Array.from({ length: 60 }, (_, i) => i + 1),
    );
  });

  it('goes through dispatch: a unique job held by a queued one is skipped, and a delay is kept', async () => {
    const first = await push('unique', { job: 'push.SyncAccount', data: { account: 'acme' } });
    expect(first.status).toBe(201);
    const second = await push('unique', { job: 'push.SyncAccount', data: { account: 'acme' } });
    expect(second.status).toBe(200);
    expect(second.body.jobs[0]).toMatchObject({ jobId: null, skipped: 'unique', replayed: false });
    expect(await size('unique')).toBe(1);

    const delayed = await push('delayed', { job: 'push.ChargeCard', data: { amount: 5 }, delay: 3600 });
    expect(delayed.status).toBe(201);
    expect(await work(['delayed', 'unique'])).toBe(0);
    // The unique job ran; the delayed one is still waiting its hour.
    expect(pushRecorder.handled).toEqual([{ job: 'push.SyncAccount', detail: 'acme' }]);
    expect(await size('delayed')).toBe(1);
  });

  it('is served by createDashboard under /admin/jobs in node:http: its own auth instead of the dashboard’s, readOnly closes it, a streamed body is cut off at the limit', async () => {
    // Production and no dashboard auth: every dashboard route is closed, the push API is not.
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    const open = http.createServer(toNodeHandler(createDashboard({ basePath: '/admin/jobs' })));
    const closed = http.createServer(toNodeHandler(createDashboard({ basePath: '/admin/jobs', readOnly: true })));
    await Promise.all(
      [open, closed].map((server) => new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready))),
    );
    const base = (server: http.Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin/jobs`;
    try {
      const body = JSON.stringify({ job: 'push.ChargeCard', data: { amount: 3 } });
      // A cross-site POST with a token: the dashboard's same-origin rule does not apply to other hosts.
      const headers = { 'content-type': 'application/json', 'sec-fetch-site': 'cross-site', ...signed(body, KEYS[1]!) };
      const pushed = await fetch(`${base(open)}/api/queues/mounted/jobs`, { method: 'POST', body, headers });
      expect(pushed.status, await pushed.clone().text()).toBe(201);
      expect(((await pushed.json()) as PushBody).jobs[0]).toMatchObject({ job: 'push.ChargeCard', queue: 'mounted' });
      const overview = await fetch(`${base(open)}/api/overview`, { headers: { authorization: `Bearer ${TOKENS[0]}` } });
      expect(overview.status).toBe(403);

      const readOnly = await fetch(`${base(closed)}/api/queues/mounted/jobs`, { method: 'POST', body, headers });
      expect(readOnly.status).toBe(403);
      expect(((await readOnly.json()) as ErrorBody).option).toBe('readOnly');

      // Chunked, no Content-Length: refused once past the limit, not after the whole upload.
      let sent = 0;
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          sent += 1024;
          if (sent > 64 * MAX_BODY) controller.close();
          else
            controller.enqueue(
              new TextEncoder().encode(
                sent === 1024 ? `{"job":"push.ChargeCard","data":{"x":"${'y'.repeat(1000)}` : 'y'.repeat(1024),
              ),
            );
        },
      });
      const oversize = await fetch(`${base(open)}/api/queues/mounted/jobs`, {
        method: 'POST',
        body: endless,
        headers: { authorization: `Bearer ${TOKENS[0]}` },
        duplex: 'half',
      } as RequestInit).then(
        async (response) => ({ status: response.status, body: (await response.json()) as ErrorBody }),
        (error: unknown) => ({ status: 0, body: { error: String(error) } }),
      );
      expect(oversize.body.error).toContain(`more than ${MAX_BODY} bytes`);
      expect(oversize.status).toBe(413);
      expect(await size('mounted')).toBe(1);
    } finally {
      process.env.NODE_ENV = previous;
      // fetch keeps its connections alive: closed here, not after the server's keep-alive timeout.
      for (const server of [open, closed]) server.closeAllConnections();
      await Promise.all([open, closed].map((server) => new Promise((done) => server.close(done))));
    }
  });
});
