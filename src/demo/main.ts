import 'reflect-metadata';

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { boot, shutdown } from '../runtime/boot.js';
import { runtime } from '../runtime/current.js';
import { runMigrations } from '../runtime/run-migrations.js';
import { AddToCart, ProductView, Purchase } from './jobs.js';
import { startTrackingServer } from './tracking-server.js';

// `npm start`: dispatch tracking events into SQLite, run `errand queue:work --stop-when-empty`
// against a local tracking API that fails some requests, then summarise what happened.
const configFile = fileURLToPath(new URL('./errand.config.js', import.meta.url));
const cli = fileURLToPath(new URL('../console/cli.js', import.meta.url));

rmSync(fileURLToPath(new URL('./.errand', import.meta.url)), { recursive: true, force: true });
const tracker = await startTrackingServer();
process.env.ERRAND_DEMO_TRACKER = tracker.url;

await boot(undefined, { configFile });
await runMigrations();
const dispatchedAt = Math.floor(Date.now() / 1000);
const sessions = ['sess-ada', 'sess-grace', 'sess-linus'];
const ids: Array<string | null> = [];
for (const [i, session] of sessions.entries()) {
  ids.push(await ProductView.dispatch(10 + i, session, dispatchedAt));
  ids.push(await AddToCart.dispatch(10 + i, session, dispatchedAt));
  ids.push(await Purchase.dispatch(`order-${i + 1}`, session, 25 + i * 10, dispatchedAt));
}
ids.push(await AddToCart.dispatch(13, 'sess-unlucky', dispatchedAt));
console.log(
  `\nDispatched ${ids.length} tracking jobs onto the [events] queue of the SQLite database; tracking API at ${tracker.url}.`,
);
await shutdown();

const status = await new Promise<number | null>((resolve) => {
  const worker = spawn(
    process.execPath,
    [cli, '--config', configFile, 'queue:work', '--queue=events', '--stop-when-empty', '--sleep=0'],
    {
      stdio: 'inherit',
      env: process.env,
    },
  );
  worker.on('close', resolve);
});

await boot(undefined, { configFile });
const failed = await (await runtime()).queues.failer().all();
await shutdown();
await tracker.close();

const sent = tracker.stats.accepted.length;
const retried = tracker.stats.rejected - failed.length;
const stamps = new Set(tracker.stats.accepted.map((e) => e.body.timestamp));
console.log('Summary');
console.log(`  sent     ${sent} events accepted by the tracking API (201)`);
console.log(`  retried  ${retried} attempts answered 500 and were released for another try`);
console.log(
  `  failed   ${failed.length} job(s) used all 5 tries and are in failed_jobs: ${failed.map((f) => JSON.parse(f.payload).displayName).join(', ')}`,
);
console.log(
  `  timestamps: every accepted event carries its dispatch time (${[...stamps].join(', ')}), whatever attempt sent it`,
);
console.log(`  worker exit status: ${status}\n`);
process.exitCode = status === 0 && sent === ids.length - 1 && failed.length === 1 ? 0 : 1;
