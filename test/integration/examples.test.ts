import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { ROOT, runCli, runNode } from '../helpers/run-cli.js';

/** A copy of docs/examples/<name> whose `import 'errand'` resolves to this repository's build. */
function exampleApp(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `errand-example-${name}-`));
  cpSync(path.join(ROOT, 'docs/examples', name), dir, { recursive: true });
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules/errand'), 'dir');
  return dir;
}

const ok = (result: { code: number | null; stderr: string }) => expect(result.code, result.stderr).toBe(0);

describe('the worked examples in docs/examples', () => {
  describe('event tracking sent to an HTTP API', () => {
    let server: Server;
    let url = '';
    const accepted: Array<{ event: string; timestamp: number }> = [];
    const failures = new Map<string, number>();

    beforeAll(async () => {
      // Fails each event's first two posts, as a flaky API would.
      server = createServer((request, response) => {
        let body = '';
        request.on('data', (d) => (body += d));
        request.on('end', () => {
          const event = request.url!.slice(1);
          const failed = failures.get(event) ?? 0;
          if (failed < 2) {
            failures.set(event, failed + 1);
            response.writeHead(500).end();
            return;
          }
          accepted.push({ event, timestamp: (JSON.parse(body) as { timestamp: number }).timestamp });
          response.writeHead(201).end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('retries failed posts and reports the time of dispatch', async () => {
      const dir = exampleApp('event-tracking');
      ok(await runCli(['migrate'], dir));
      const tracked = await runNode(['track.mjs'], dir);
      ok(tracked);
      const at = Number(/queued 3 events at (\d+)/.exec(tracked.stdout)![1]);
      // Work at least a second later, so a job that took the time at execution would be caught.
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const work = await runCli(['queue:work', '--queue=events', '--stop-when-empty'], dir, { TRACKING_URL: url });
      ok(work);
      expect(accepted.map((a) => a.event).sort()).toEqual(['add-to-cart', 'product-view', 'purchase']);
      expect(accepted.every((a) => a.timestamp === at)).toBe(true);
      expect(work.stdout.match(/FAIL/g)).toHaveLength(6);
      expect(work.stdout.match(/DONE/g)).toHaveLength(3);
    });
  });

  it('a queued listener runs on its own connection and queue', async () => {
    const dir = exampleApp('queued-listener');
    const env = { MAIL_LOG: path.join(dir, 'mail.log') };
    ok(await runCli(['migrate'], dir));
    ok(await runNode(['ship.mjs'], dir, env));
    const monitored = await runCli(['queue:monitor', 'notifications:mail,database:default', '--json'], dir);
    ok(monitored);
    expect(monitored.stdout.trim().split('\n').map((line) => JSON.parse(line)).map((r) => [r.connection, r.queue, r.size])).toEqual([
      ['notifications', 'mail', 1],
      ['database', 'default', 0],
    ]);
    ok(await runCli(['queue:work', 'notifications', '--queue=mail', '--stop-when-empty'], dir, env));
    expect(readFileSync(env.MAIL_LOG, 'utf8')).toBe('shipment mail for order 42\n');
  });

  it('one worker takes prioritised queues in order: realtime, behavioral, ml, analytics', async () => {
    const dir = exampleApp('recommendations');
    const env = { PIPELINE_LOG: path.join(dir, 'pipeline.log') };
    ok(await runCli(['migrate'], dir));
    ok(await runNode(['dispatch.mjs'], dir, env));
    ok(await runCli(['queue:work', '--queue=realtime,behavioral,ml,analytics', '--stop-when-empty'], dir, env));
    const stages = readFileSync(env.PIPELINE_LOG, 'utf8').trim().split('\n').map((line) => line.split(' ')[0]);
    expect(stages).toEqual([...Array(3).fill('realtime'), ...Array(3).fill('behavioral'), ...Array(3).fill('ml'), ...Array(3).fill('analytics')]);
  });

  it('analytics ingestion: requests only enqueue, a cron-style worker drains, queue:monitor watches', async () => {
    const dir = exampleApp('analytics-ingestion');
    const env = { HITS_LOG: path.join(dir, 'hits.log') };
    ok(await runCli(['migrate'], dir));
    ok(await runNode(['ingest.mjs', '200'], dir, env));
    const backlog = await runCli(['queue:monitor', 'hits', '--max=100'], dir);
    // Over --max: exit status 2, for cron and health checks.
    expect(backlog.code, backlog.stderr).toBe(2);
    expect(backlog.stdout).toMatch(/\[database\] hits\s+200\s+200\s+0\s+0\s+\S+\s+ALERT/);
    ok(await runCli(['queue:work', '--queue=hits', '--stop-when-empty', '--max-time=50'], dir, env));
    expect(readFileSync(env.HITS_LOG, 'utf8').trim().split('\n')).toHaveLength(200);
    const drained = await runCli(['queue:monitor', 'hits', '--max=100', '--json'], dir);
    expect(JSON.parse(drained.stdout)).toMatchObject({ queue: 'hits', size: 0, status: 'OK' });
    ok(drained);
  });
});
