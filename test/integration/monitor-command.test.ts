import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import type { Knex } from 'knex';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { formatAge } from '../../src/console/commands/monitor-command.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { runtime } from '../../src/runtime/current.js';
import { runMigrations } from '../../src/runtime/run-migrations.js';
import { databaseQueue } from '../helpers/database-queue.js';
import { databaseOnly, freshDatabase } from '../helpers/databases.js';
import { CLI, ROOT, runCli } from '../helpers/run-cli.js';

const distIndex = pathToFileURL(path.join(ROOT, 'dist/index.js')).href;

const describeEachSql = databaseOnly("sets up queue:monitor's figures by inserting jobs rows");
await describeEachSql('queue:monitor', (engine) => {
  let knex: Knex;
  let dir: string;

  beforeAll(async () => {
    const connection = await freshDatabase(engine, 'monitor');
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-monitor-'));
    // A bootstrap module listens for QueueBusy the two ways an app can: Queue.on and a @Listener-less listen().
    writeFileSync(
      path.join(dir, 'bootstrap.mjs'),
      `import { appendFileSync } from 'node:fs';
import { Queue, QueueBusy, listen } from '${distIndex}';
Queue.on(QueueBusy, (e) => appendFileSync(${JSON.stringify(path.join(dir, 'busy.txt'))}, \`on:\${e.connectionName}:\${e.queue}:\${e.size}\\n\`));
listen(QueueBusy, (e) => appendFileSync(${JSON.stringify(path.join(dir, 'busy.txt'))}, \`listener:\${e.queue}\\n\`));
`,
    );
    writeFileSync(
      path.join(dir, 'errand.config.mjs'),
      `export default ${JSON.stringify({ default: 'database', connections: { database: connection }, bootstrap: './bootstrap.mjs' })};\n`,
    );
    await boot({ default: 'database', connections: { database: connection } });
    await runMigrations();
    knex = databaseQueue((await runtime()).queues).knex;
    const now = Math.floor(Date.now() / 1000);
    const row = (queue: string, state: 'pending' | 'delayed' | 'reserved', created: number) => ({
      queue,
      payload: '{}',
      attempts: state === 'reserved' ? 1 : 0,
      reserved_at: state === 'reserved' ? now : null,
      reserved_by: state === 'reserved' ? 'w-1' : null,
      available_at: state === 'delayed' ? now + 3600 : now - 10,
      created_at: created,
    });
    await knex('jobs').insert([
      row('events', 'pending', now - 130),
      row('events', 'pending', now - 5),
      row('events', 'pending', now - 1),
      row('events', 'delayed', now),
      row('events', 'delayed', now),
      row('events', 'reserved', now),
      row('quiet', 'delayed', now),
    ]);
  });
  afterAll(() => shutdown());

  it('reports size, pending, delayed, reserved and the oldest pending age per queue, as JSON lines', async () => {
    const result = await runCli(['queue:monitor', 'database:events,quiet,empty', '--json'], dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const rows = result.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(rows.map((r) => [r.queue, r.size, r.pending, r.delayed, r.reserved, r.status])).toEqual([
      ['events', 6, 3, 2, 1, 'OK'],
      ['quiet', 1, 0, 1, 0, 'OK'],
      ['empty', 0, 0, 0, 0, 'OK'],
    ]);
    expect(rows[0].oldestPendingAge).toBeGreaterThanOrEqual(130);
    expect(rows[1].oldestPendingAge).toBeNull();
    expect(existsSync(path.join(dir, 'busy.txt'))).toBe(false);
  });

  it('prints ALERT, fires QueueBusy (to Queue.on and to listeners) and exits 2 for a queue at or over --max', async () => {
    const result = await runCli(['queue:monitor', 'events,quiet', '--max=6'], dir);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(2);
    const alert = result.stdout.split('\n').find((line) => line.includes('events'));
    // The oldest pending job was created 130 s before setup; how much later the CLI looked depends on the
    // machine, so the age is read back and only its lower bound is asserted.
    const [, age] = alert?.match(/\[database\] events\s+6\s+3\s+2\s+1\s+((?:\d+[dhms] ?)+)\s+ALERT/) ?? [];
    expect(age, alert).toBeDefined();
    const unit = { d: 86400, h: 3600, m: 60, s: 1 } as const;
    const seconds = [...(age ?? '').matchAll(/(\d+)([dhms])/g)].reduce(
      (sum, [, n, u]) => sum + Number(n) * unit[u as keyof typeof unit],
      0,
    );
    expect(seconds).toBeGreaterThanOrEqual(130);
    expect(result.stdout.split('\n').find((line) => line.includes('quiet'))).toMatch(/\s+-\s+OK$/);
    expect(readFileSync(path.join(dir, 'busy.txt'), 'utf8')).toBe('on:database:events:6\nlistener:events\n');
  });

  it('exits 0 when every queue is below --max, and 1 (an error, not an alert) when it cannot look', async () => {
    const below = await runCli(['queue:monitor', 'events,quiet', '--max=7'], dir);
    expect(below.stdout).not.toContain('ALERT');
    expect(below.code).toBe(0);
    expect((await runCli(['queue:monitor', 'nope:events'], dir)).code).toBe(1);
  });

  it('names what is wrong: an unknown connection, a bad --max, no queue', async () => {
    expect((await runCli(['queue:monitor', 'nope:events'], dir)).stderr).toContain(
      'Queue connection [nope] is not defined.',
    );
    expect((await runCli(['queue:monitor', 'events', '--max=0'], dir)).stderr).toContain(
      '--max must be a whole number ≥ 1, got 0.',
    );
    expect((await runCli(['queue:monitor', 'events', '--max=1e3'], dir)).stderr).toContain(
      '--max must be a whole number ≥ 1, got 1e3.',
    );
    expect((await runCli(['queue:monitor', ','], dir)).stderr).toContain('queue:monitor: name at least one queue');
  });

  it('--watch redraws until interrupted, then exits by its last look (2: a queue over --max); a queue that stays over --max fires QueueBusy once, not per redraw', async () => {
    const busy = () => readFileSync(path.join(dir, 'busy.txt'), 'utf8').split('\n').filter(Boolean).length;
    const before = busy();
    // `--watch events`: the queue list given where commander reads the optional seconds.
    const child = spawn(
      process.execPath,
      [CLI, 'queue:monitor', '--json', '--max=6', '--watch', ' quiet, database : events'],
      { cwd: dir, env: { ...process.env, NO_COLOR: '1' } },
    );
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const closed = new Promise((resolve) => child.on('close', resolve));
    // Three redraws (2 s apart) of two queues each.
    for (let i = 0; i < 300 && out.split('\n').filter(Boolean).length < 6; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    child.kill('SIGINT');
    const code = await closed;
    expect(code).toBe(2);
    const rows = out
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { queue: string; status: string });
    expect(rows.length).toBeGreaterThanOrEqual(6);
    expect(rows.slice(0, 6).map((r) => `${r.queue}:${r.status}`)).toEqual([
      'quiet:OK',
      'events:ALERT',
      'quiet:OK',
      'events:ALERT',
      'quiet:OK',
      'events:ALERT',
    ]);
    // Once to Queue.on and once to the listener: the crossing, not each redraw.
    expect(busy() - before).toBe(2);
  });
});

it('formats ages for people', () => {
  expect([formatAge(5), formatAge(75), formatAge(7300), formatAge(90000)]).toEqual(['5s', '1m 15s', '2h 1m', '1d 1h']);
});
