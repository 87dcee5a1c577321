import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import type { Knex } from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';

import { Bus } from '../../src/bus/bus.js';
import { Job } from '../../src/decorators/job.js';
import { Queueable } from '../../src/job/queueable.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { createWorker } from '../../src/worker/create-worker.js';
import { busLog } from '../fixtures/jobs/bus-jobs.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { describeEachEngine, freshStore, storeConnections } from '../helpers/databases.js';
import { runCli } from '../helpers/run-cli.js';

const state = { healed: false };

@Job({ name: 'HealingJob', tries: 1 })
class HealingJob extends Queueable {
  constructor(public n: number) {
    super();
  }

  async handle() {
    if (!state.healed) throw new Error(`job ${this.n} is not healed yet`);
  }
}

await describeEachEngine('batch commands', (engine) => {
  let knex: Knex;
  let dir: string;
  const work = () => createWorker({ stopWhenEmpty: true, sleep: 0 }).run();
  const count = async (table: string) =>
    Number(((await knex(table).count({ n: '*' })) as Array<{ n: number | string }>)[0]!.n);

  beforeAll(async () => {
    const store = await freshStore(engine, 'batch_commands');
    const config = { default: store.default, connections: storeConnections(store) };
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-batch-cli-'));
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
    await boot(config);
    await runMigrations();
    knex = databaseQueue((await runtime()).queues, 'database').knex;
  });
  afterAll(() => shutdown());

  it('queue:retry-batch pushes the failed jobs back; the batch then completes; queue:prune-batches removes it', async () => {
    state.healed = false;
    busLog.reset();
    const batch = await Bus.batch([new HealingJob(1), new HealingJob(2)])
      .allowFailures()
      .then('record-then')
      .dispatch();
    await work();
    const failed = await batch.fresh();
    expect(failed.failedJobIds).toHaveLength(2);
    expect(await count('failed_jobs')).toBe(2);

    state.healed = true;
    const retried = await runCli(['queue:retry-batch', batch.id], dir);
    expect(retried.stderr).toBe('');
    expect(retried.code).toBe(0);
    for (const uuid of failed.failedJobIds) expect(retried.stdout).toContain(`Retried ${uuid}`);
    expect(await count('failed_jobs')).toBe(0);
    const queue = (await runtime()).queues.worker();
    expect(await queue.size('default')).toBe(2);
    // Looked at through a claim, handed back at once: its first attempt, under a failed job's uuid.
    const [pushed] = await queue.claim('default', 1, 'batch-commands-look');
    await queue.unclaim([pushed!]);
    expect(pushed!.attempts).toBe(1);
    expect(failed.failedJobIds).toContain(JSON.parse(pushed!.payload).uuid);

    await work();
    const done = await batch.fresh();
    expect({ pending: done.pendingJobs, failedIds: done.failedJobIds, finished: done.finished() }).toEqual({
      pending: 0,
      failedIds: [],
      finished: true,
    });
    expect(busLog.callbacks).toEqual(['then:pending=0:failed=2']);

    const unfinished = await Bus.batch([new HealingJob(3)]).dispatch();
    const pruned = await runCli(['queue:prune-batches', '--hours=0'], dir);
    expect(pruned.code).toBe(0);
    expect(pruned.stdout).toContain('1 entry deleted from job_batches.');
    expect(await Bus.findBatch(batch.id)).toBeUndefined();
    expect(await Bus.findBatch(unfinished.id)).toBeDefined();
    const all = await runCli(['queue:prune-batches', '--hours=0', '--unfinished=0'], dir);
    expect(all.stdout).toContain('1 entry deleted');
    expect(await Bus.findBatch(unfinished.id)).toBeUndefined();
  });

  it('names what is wrong: an unknown batch, a bad --hours', async () => {
    const unknown = await runCli(['queue:retry-batch', 'no-such-batch'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('No batch has the id [no-such-batch].');
    const bad = await runCli(['queue:prune-batches', '--hours=-1'], dir);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--hours must be a number of hours from 0 to 596523, got -1.');
  });

  it('make:queue-batches-table writes a knex migration for the configured table', async () => {
    const result = await runCli(['make:queue-batches-table', '--path', 'migrations'], dir);
    expect(result.code).toBe(0);
    const [file] = readdirSync(path.join(dir, 'migrations'));
    expect(file).toMatch(/_create_job_batches_table\.js$/);
    const text = readFileSync(path.join(dir, 'migrations', file!), 'utf8');
    expect(text).toContain("createTable('job_batches'");
    expect(text).toContain("'callbacks_run'");
  });
});
