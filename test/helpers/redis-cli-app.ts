import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { ErrandConfig, RedisConnectionConfig } from '../../src/config/config-types.js';
import type { WorkerQueue } from '../../src/contracts/worker-queue.js';
import { boot } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { ROOT } from './run-cli.js';

/** An app on disk for the errand CLI: a redis default connection, SQLite beside it, and its jobs. */
export interface RedisCliApp {
  readonly dir: string;
  /** The booted runtime's redis queue, for dispatching and looking from the test. */
  readonly queue: WorkerQueue;
  /** The lines `Note` jobs appended, in the order the worker ran them. */
  notes(): string[];
}

/**
 * Writes a config (`redis` as default, a SQLite `db` connection for failed jobs) and a jobs module
 * defining `Note` (appends its text to notes.txt), `Broken` (always throws, `brokenTries`
 * tries) and any `moreJobs` (module source that may use `dir`, the app's folder), then boots this process on the same config so the test dispatches what the CLI works.
 */
export async function writeRedisCliApp(
  name: string,
  redis: RedisConnectionConfig,
  brokenTries: number,
  moreJobs = '',
): Promise<RedisCliApp> {
  const dir = mkdtempSync(path.join(os.tmpdir(), `errand-${name}-`));
  const notesFile = path.join(dir, 'notes.txt');
  const config: ErrandConfig = {
    default: 'redis',
    bootstrap: './jobs.mjs',
    connections: { redis, db: { driver: 'database', connection: path.join(dir, 'errand.sqlite') } },
  };
  const distIndex = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;
  writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
  writeFileSync(
    path.join(dir, 'jobs.mjs'),
    `import { appendFileSync } from 'node:fs';
import { Job, Queueable } from '${distIndex}';
const dir = ${JSON.stringify(dir)};
export const Note = Job({ name: 'Note' })(class Note extends Queueable {
  async handle() { appendFileSync(${JSON.stringify(notesFile)}, this.text + '\\n'); }
});
export const Broken = Job({ name: 'Broken', tries: ${brokenTries} })(class Broken extends Queueable {
  async handle() { throw new Error('broken on purpose'); }
});
${moreJobs}`,
  );
  await boot(config, { cwd: dir });
  const queue = (await runtime()).queues.worker();
  return {
    dir,
    queue,
    notes: () => (existsSync(notesFile) ? readFileSync(notesFile, 'utf8').trim().split('\n') : []),
  };
}
