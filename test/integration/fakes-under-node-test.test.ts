import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { expect, it } from 'vitest';

import { ROOT, runNode } from '../helpers/run-cli.js';

/*
 * The fakes throw node's AssertionError, so any runner reports them. Proven under node:test,
 * with the built package as an application imports it: a passing and a failing assertion of each
 * fake, and the failure's message reaching the runner's report.
 */
it('Queue.fake(), Bus.fake() and withFakeQueueInteractions() report through node:test, both ways', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-node-test-'));
  const dist = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;
  writeFileSync(
    path.join(dir, 'fakes.test.mjs'),
    `import test from 'node:test';
import { Bus, Job, Queue, Queueable, boot, shutdown } from '${dist}';

const Ship = Job({ name: 'NodeTestShip' })(class Ship extends Queueable {
  constructor(orderId) { super(); this.orderId = orderId; }
  async handle() { this.release(30); }
});

test.before(() => boot({ default: 'null', connections: { null: { driver: 'null' } } }));
test.after(() => shutdown());
test.afterEach(() => { Queue.restore(); Bus.restore(); });

test('queue passes', async () => { const q = Queue.fake(); await Ship.dispatch(1); q.assertPushed(Ship, (job) => job.orderId === 1); });
test('queue fails', async () => { const q = Queue.fake(); q.assertPushed(Ship); });
test('bus passes', async () => { const b = Bus.fake(); await Ship.dispatchSync(2); b.assertDispatchedSync(Ship); });
test('bus fails', async () => { const b = Bus.fake(); await Ship.dispatch(3); b.assertDispatchedSync(Ship); });
test('job passes', async () => { const job = new Ship(4).withFakeQueueInteractions(); await job.handle(); job.assertReleased(30); });
test('job fails', async () => { const job = new Ship(5).withFakeQueueInteractions(); await job.handle(); job.assertDeleted(); });
`,
  );
  const result = await runNode(['--test', '--test-reporter=tap', 'fakes.test.mjs'], dir);
  expect(result.code).toBe(1);
  for (const name of ['queue passes', 'bus passes', 'job passes'])
    expect(result.stdout).toMatch(new RegExp(`^\\s*ok \\d+ - ${name}$`, 'm'));
  for (const name of ['queue fails', 'bus fails', 'job fails'])
    expect(result.stdout).toMatch(new RegExp(`^\\s*not ok \\d+ - ${name}$`, 'm'));
  expect(result.stdout).toContain('The expected [Ship] job was not pushed. No jobs were pushed.');
  expect(result.stdout).toContain(
    'The expected [Ship] job was not dispatched synchronously. It was queued 1 time(s) instead.',
  );
  expect(result.stdout).toContain('Job [Ship] was expected to be deleted, but was not.');
  expect(result.stdout.match(/code: 'ERR_ASSERTION'/g)).toHaveLength(3);
}, 60_000);
