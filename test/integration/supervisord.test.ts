import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { renderSupervisorConfig } from '../../src/deploy/supervisor-config.js';
import {
  alive,
  describeWithSupervisord,
  type PrivateSupervisord,
  parseStatus,
  startSupervisord,
  waitUntil,
} from '../helpers/supervisord.js';

describe('parseStatus', () => {
  it('reads name, state and pid from supervisorctl status lines', () => {
    const output = [
      'errand-worker:errand-worker_00   RUNNING   pid 4121, uptime 0:00:03',
      'sleeper                          STOPPED   Apr 01 10:00 AM',
      'broken                           FATAL     Exited too quickly (process log may have details)',
      '',
    ].join('\n');
    expect(parseStatus(output)).toEqual([
      { name: 'errand-worker:errand-worker_00', state: 'RUNNING', pid: 4121 },
      { name: 'sleeper', state: 'STOPPED', pid: undefined },
      { name: 'broken', state: 'FATAL', pid: undefined },
    ]);
  });
});

describeWithSupervisord('a private supervisord', () => {
  let supervisord: PrivateSupervisord;

  beforeAll(async () => {
    supervisord = await startSupervisord();
  });
  afterAll(async () => {
    await supervisord?.stop();
  });

  const stateOf = async (name: string) => (await supervisord.status()).find((p) => p.name === name);

  it('starts, reports and stops a program', async () => {
    writeFileSync(
      path.join(supervisord.confDir, 'sleeper.conf'),
      '[program:sleeper]\ncommand=sleep 1000\nautostart=false\nstartsecs=1\nstopsignal=TERM\n',
    );
    expect((await supervisord.ctl(['reread'])).stdout).toContain('sleeper: available');
    await supervisord.ctl(['update']);
    expect((await stateOf('sleeper'))?.state).toBe('STOPPED');

    const start = await supervisord.ctl(['start', 'sleeper']);
    expect(start.stdout).toContain('sleeper: started');
    const running = await stateOf('sleeper');
    expect(running?.state).toBe('RUNNING');
    expect(running?.pid).toBeGreaterThan(0);
    expect(alive(running!.pid!)).toBe(true);

    expect((await supervisord.ctl(['stop', 'sleeper'])).stdout).toContain('sleeper: stopped');
    expect((await stateOf('sleeper'))?.state).toBe('STOPPED');
    await waitUntil('the sleeper to be gone', () => !alive(running!.pid!));
  });

  it('loads the config errand queue:supervisor writes and passes each worker argument intact', async () => {
    // A stand-in for node + cli.js: records its arguments, then waits like a worker.
    const fake = path.join(supervisord.dir, 'fake-worker.sh');
    writeFileSync(fake, `printf '%s\\n' "$@" > "${supervisord.dir}/args-$$.txt"\nexec sleep 1000\n`);
    chmodSync(fake, 0o755);
    const workerArgs = ['--queue=high,default', '--note=two words', "it's 50%", '--timeout=5'];
    const config = renderSupervisorConfig({
      program: 'fake-worker',
      numprocs: 2,
      directory: supervisord.dir,
      node: '/bin/sh',
      cli: fake,
      configFile: '/srv/app/errand.config.mjs',
      workerArgs,
    });
    expect(config).toContain('stopwaitsecs=20');
    writeFileSync(path.join(supervisord.confDir, 'fake-worker.conf'), config);
    await supervisord.ctl(['reread']);
    await supervisord.ctl(['update']);

    await waitUntil('both fake workers to run', async () => {
      const states = (await supervisord.status()).filter((p) => p.name.startsWith('fake-worker:'));
      return states.length === 2 && states.every((p) => p.state === 'RUNNING');
    });
    const names = (await supervisord.status()).map((p) => p.name).filter((n) => n.startsWith('fake-worker:'));
    expect(names.sort()).toEqual(['fake-worker:fake-worker_00', 'fake-worker:fake-worker_01']);

    const recorded = () => readdirSync(supervisord.dir).filter((f) => f.startsWith('args-'));
    await waitUntil('both fake workers to record their arguments', () => recorded().length === 2);
    for (const file of recorded()) {
      const lines = readFileSync(path.join(supervisord.dir, file), 'utf8').trimEnd().split('\n');
      expect(lines).toEqual(['--config', '/srv/app/errand.config.mjs', 'queue:work', ...workerArgs]);
    }

    expect((await supervisord.ctl(['stop', 'fake-worker:*'])).code).toBe(0);
    const stopped = (await supervisord.status()).filter((p) => p.name.startsWith('fake-worker:'));
    expect(stopped.map((p) => p.state)).toEqual(['STOPPED', 'STOPPED']);
  });
});
