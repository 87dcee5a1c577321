import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { beforeEach, describe, expect, it } from 'vitest';

import { CLI, runCli } from '../helpers/run-cli.js';

describe('errand queue:supervisor and queue:systemd', () => {
  let dir: string;

  beforeEach(() => {
    // No config file and no database here: neither command may need one.
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-deploy-'));
  });

  it('prints a supervisord config with the worker arguments after --', async () => {
    const result = await runCli(
      ['queue:supervisor', '--numprocs', '4', '--', '--queue=high,default', '--concurrency=8', '--timeout=120'],
      dir,
    );
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines).toContain(
      `command=${process.execPath} ${CLI} queue:work --queue=high,default --concurrency=8 --timeout=120`,
    );
    expect(lines).toContain(`directory=${dir}`);
    expect(lines).toContain('numprocs=4');
    expect(lines).toContain('stopwaitsecs=135');
    expect(lines).toContain(`stdout_logfile=${path.join(dir, 'errand-worker.log')}`);
    expect(existsSync(path.join(dir, '.errand'))).toBe(false);
  });

  it('embeds the global --config as an absolute path without reading it', async () => {
    const result = await runCli(
      ['--config', 'conf/errand.config.mjs', 'queue:systemd', '--user', 'forge', '--', '--grace=30'],
      dir,
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      `ExecStart=${process.execPath} ${CLI} --config ${path.join(dir, 'conf/errand.config.mjs')} queue:work --grace=30 --name=%p-%i\n`,
    );
    expect(result.stdout).toContain('User=forge\n');
    expect(result.stdout).toContain('TimeoutStopSec=45\n');
  });

  it('writes --output, refuses to overwrite it, and overwrites with --force', async () => {
    const file = path.join(dir, 'errand-worker.conf');
    const first = await runCli(['queue:supervisor', '--output', 'errand-worker.conf', '--', '--timeout=30'], dir);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`Supervisor config written ${file}`);
    expect(readFileSync(file, 'utf8')).toContain('stopwaitsecs=45\n');

    const again = await runCli(['queue:supervisor', '--output', 'errand-worker.conf'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${file} already exists; pass --force to overwrite it.`);
    expect(readFileSync(file, 'utf8')).toContain('stopwaitsecs=45\n');

    const forced = await runCli(['queue:supervisor', '--output', 'errand-worker.conf', '--force'], dir);
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).toContain('stopwaitsecs=75\n');
  });

  it('writes into an --output directory under the unit’s template name', async () => {
    mkdirSync(path.join(dir, 'units'));
    const result = await runCli(['queue:systemd', '--unit', 'mailer', '--output', 'units'], dir);
    expect(result.code).toBe(0);
    expect(readFileSync(path.join(dir, 'units', 'mailer@.service'), 'utf8')).toContain('SyslogIdentifier=%p-%i\n');
    expect(result.stdout).toContain('systemctl enable --now mailer@{1..N}');
  });

  it('uses an app’s own stub from its stubs/ directory', async () => {
    mkdirSync(path.join(dir, 'stubs'));
    writeFileSync(
      path.join(dir, 'stubs', 'supervisor.conf.stub'),
      '[program:{{ program }}]\nstopwaitsecs={{ stopwaitsecs }}\n',
    );
    const result = await runCli(['queue:supervisor'], dir);
    expect(result.stdout).toBe('[program:errand-worker]\nstopwaitsecs=75\n');
  });

  it('names the option at fault', async () => {
    const numprocs = await runCli(['queue:supervisor', '--numprocs', 'lots'], dir);
    expect(numprocs.code).toBe(1);
    expect(numprocs.stderr).toContain('--numprocs must be a whole number ≥ 1, got "lots".');
    expect(numprocs.stdout).toBe('');

    const grace = await runCli(['queue:systemd', '--', '--grace'], dir);
    expect(grace.code).toBe(1);
    expect(grace.stderr).toContain('--grace (for queue:work) needs a value.');

    const unknown = await runCli(['queue:supervisor', '--queue=high'], dir);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("unknown option '--queue=high'");
  });
});
