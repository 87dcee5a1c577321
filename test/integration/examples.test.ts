import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';

import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';

import { loadConfig } from '../../src/config/load-config.js';
import { compileApp } from '../helpers/compile-app.js';
import { ROOT, runCli, runNode } from '../helpers/run-cli.js';

/** An empty app directory whose `import 'errand'` resolves to this repository's build. */
function linkedApp(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `errand-example-${name}-`));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(ROOT, path.join(dir, 'node_modules/errand'), 'dir');
  return dir;
}

/** A copy of docs/examples/<name> whose `import 'errand'` resolves to this repository's build. */
function exampleApp(name: string): string {
  const dir = linkedApp(name);
  cpSync(path.join(ROOT, 'docs/examples', name), dir, { recursive: true });
  return dir;
}

/** The ```js blocks of a doc that are a config file (a `// errand.config.*` line names it). */
function configExamples(doc: string): Array<{ file: string; source: string }> {
  const text = readFileSync(path.join(ROOT, 'docs', doc), 'utf8');
  return [...text.matchAll(/^```js\n([\s\S]*?)^```$/gm)].flatMap(([, source]) => {
    const file = /^\/\/ (errand\.config\.[cm]?js)$/m.exec(source!)?.[1];
    return file ? [{ file, source: source! }] : [];
  });
}

describe('the config examples in the docs', () => {
  afterEach(() => vi.unstubAllEnvs());

  it.each(['getting-started.md', 'configuration.md'])(
    '%s: each starts with // @ts-check, type-checks against errand and loads',
    async (doc) => {
      const examples = configExamples(doc);
      expect(examples.length).toBeGreaterThan(0);
      // What the examples read from the environment, as a deployment would set it.
      vi.stubEnv('DATABASE_URL', 'postgres://app@db.internal/app');
      // Each in its own directory, all type-checked by one tsc run.
      const dir = linkedApp('config');
      const files = examples.map(({ file, source }, i) => {
        expect(source.startsWith('// @ts-check\n'), `${doc}: ${file}`).toBe(true);
        mkdirSync(path.join(dir, `example-${i}`));
        writeFileSync(path.join(dir, `example-${i}`, file), source);
        return `example-${i}/${file}`;
      });
      expect(await compileApp(dir, '.', files, { allowJs: true, checkJs: true, noEmit: true })).toBe('');
      for (const file of files) {
        const config = await loadConfig({ cwd: path.join(dir, path.dirname(file)) });
        expect(config.connections.database, `${doc}: ${file}`).toMatchObject({ driver: 'database' });
      }
    },
    120_000,
  );
});

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
    expect(
      monitored.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line))
        .map((r) => [r.connection, r.queue, r.size]),
    ).toEqual([
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
    const stages = readFileSync(env.PIPELINE_LOG, 'utf8')
      .trim()
      .split('\n')
      .map((line) => line.split(' ')[0]);
    expect(stages).toEqual([
      ...Array(3).fill('realtime'),
      ...Array(3).fill('behavioral'),
      ...Array(3).fill('ml'),
      ...Array(3).fill('analytics'),
    ]);
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
