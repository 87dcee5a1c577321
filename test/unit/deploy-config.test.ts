import { describe, expect, it } from 'vitest';

import { renderConfigStub } from '../../src/deploy/render-config-stub.js';
import { renderSupervisorConfig } from '../../src/deploy/supervisor-config.js';
import { renderSystemdUnit } from '../../src/deploy/systemd-unit.js';
import { hasWorkerArg, stopWaitSeconds, workerArgValue, workerGraceSeconds } from '../../src/deploy/worker-args.js';
import { ConfigError } from '../../src/errors/config-error.js';

const base = { directory: '/srv/app', node: '/usr/bin/node', cli: '/srv/app/node_modules/errand/dist/console/cli.js' };
const lines = (text: string) => text.split('\n');

describe('queue:work arguments', () => {
  it('reads --opt=value and --opt value, the last one winning, and stops at --', () => {
    expect(workerArgValue(['--grace=30'], '--grace')).toBe('30');
    expect(workerArgValue(['--grace', '30', '--queue=a'], '--grace')).toBe('30');
    expect(workerArgValue(['--grace=5', '--grace', '7'], '--grace')).toBe('7');
    expect(workerArgValue(['--gracefully', '--queue=a'], '--grace')).toBeUndefined();
    expect(workerArgValue(['--', '--grace=5'], '--grace')).toBeUndefined();
    expect(hasWorkerArg(['--name', 'w1'], '--name')).toBe(true);
    expect(hasWorkerArg(['--name=w1'], '--name')).toBe(true);
    expect(hasWorkerArg(['--names=w1'], '--name')).toBe(false);
  });

  it('names an option that lacks its value or holds a bad one', () => {
    expect(() => workerArgValue(['--grace'], '--grace')).toThrow('--grace (for queue:work) needs a value.');
    expect(() => workerArgValue(['--timeout', '--once'], '--timeout')).toThrow(
      '--timeout (for queue:work) needs a value.',
    );
    expect(() => workerGraceSeconds(['--grace=soon'])).toThrow(ConfigError);
    expect(() => workerGraceSeconds(['--grace=soon'])).toThrow(
      '--grace (for queue:work) must be a number of seconds from 0 to 2147483647, got "soon".',
    );
    expect(() => workerGraceSeconds(['--timeout=1.5'])).toThrow(
      '--timeout (for queue:work) must be a whole number of seconds from 0 to 2147483647, got "1.5".',
    );
    expect(() => workerGraceSeconds(['--timeout=1e12'])).toThrow(
      '--timeout (for queue:work) must be a whole number of seconds from 0 to 2147483647, got "1e12".',
    );
    expect(() => workerGraceSeconds(['--timeout='])).toThrow('got "".');
  });
});

describe('stopWaitSeconds', () => {
  it('is the grace plus 15, the grace being --grace, else --timeout, else 60', () => {
    expect(stopWaitSeconds([])).toBe(75);
    expect(stopWaitSeconds(['--timeout=120'])).toBe(135);
    expect(stopWaitSeconds(['--timeout', '10', '--grace', '30'])).toBe(45);
    expect(stopWaitSeconds(['--grace=0', '--timeout=300'])).toBe(15);
    expect(stopWaitSeconds(['--grace=2.5'])).toBe(18);
  });

  it('uses 60 when the timeout is 0 (no limit) and no grace is given', () => {
    expect(stopWaitSeconds(['--timeout=0'])).toBe(75);
    expect(workerGraceSeconds(['--timeout', '0'])).toBe(60);
  });
});

describe('renderConfigStub', () => {
  it('drops a line holding only an empty placeholder and keeps the rest', () => {
    expect(renderConfigStub('a={{ a }}\n{{ opt }}\nb={{b}}\n', { a: '1', opt: '', b: '2' })).toBe('a=1\nb=2\n');
    expect(renderConfigStub('a={{ a }}\n  {{ opt }}\n', { a: '1', opt: 'x=3' })).toBe('a=1\n  x=3\n');
    expect(() => renderConfigStub('{{ missing }}\n', {})).toThrow('The stub needs a value for {{ missing }}.');
  });
});

describe('renderSupervisorConfig', () => {
  it('writes a program section that keeps numprocs workers running', () => {
    const text = renderSupervisorConfig({
      ...base,
      numprocs: 4,
      user: 'forge',
      workerArgs: ['--queue=high,default', '--concurrency=8', '--timeout=120'],
    });
    const l = lines(text);
    expect(l).toContain('[program:errand-worker]');
    expect(l).toContain('process_name=%(program_name)s_%(process_num)02d');
    expect(l).toContain(
      'command=/usr/bin/node /srv/app/node_modules/errand/dist/console/cli.js queue:work --queue=high,default --concurrency=8 --timeout=120',
    );
    expect(l).toContain('directory=/srv/app');
    expect(l).toContain('user=forge');
    expect(l).toContain('numprocs=4');
    for (const setting of [
      'autostart=true',
      'autorestart=true',
      'startsecs=1',
      'stopsignal=TERM',
      'stopasgroup=true',
      'killasgroup=true',
      'redirect_stderr=true',
      'stdout_logfile_maxbytes=50MB',
    ]) {
      expect(l).toContain(setting);
    }
    expect(l).toContain('stopwaitsecs=135');
    expect(l).toContain('stdout_logfile=/srv/app/errand-worker.log');
    expect(text).toMatch(/^;.*stopwaitsecs/m);
  });

  it('uses the defaults, leaves out user= when no user is given, and adds --config before the command', () => {
    const text = renderSupervisorConfig({ ...base, program: 'emails', configFile: '/srv/app/errand.config.mjs' });
    const l = lines(text);
    expect(l).toContain('[program:emails]');
    expect(l).toContain('numprocs=2');
    expect(l).toContain('stopwaitsecs=75');
    expect(l).toContain('stdout_logfile=/srv/app/emails.log');
    expect(text).not.toMatch(/^user=/m);
    expect(text).not.toMatch(/^\s*$\n^\s*$/m);
    expect(l).toContain(
      'command=/usr/bin/node /srv/app/node_modules/errand/dist/console/cli.js --config /srv/app/errand.config.mjs queue:work',
    );
  });

  it('keeps a --config given among the worker arguments instead of adding the global one', () => {
    const text = renderSupervisorConfig({ ...base, configFile: '/a.mjs', workerArgs: ['--config=/b.mjs'] });
    expect(text).toContain('queue:work --config=/b.mjs\n');
    expect(text).not.toContain('/a.mjs');
  });

  it('quotes arguments for shlex and doubles % for supervisord', () => {
    const text = renderSupervisorConfig({
      ...base,
      directory: '/srv/my app',
      log: '/var/log/50%.log',
      workerArgs: ["it's 5%", '--queue=a'],
    });
    expect(text).toContain(`queue:work 'it'"'"'s 5%%' --queue=a\n`);
    expect(text).toContain('directory=/srv/my app\n');
    expect(text).toContain('stdout_logfile=/var/log/50%%.log\n');
  });

  it('leaves %(process_num)d in worker arguments to supervisord: one metrics port per process', () => {
    const text = renderSupervisorConfig({
      ...base,
      workerArgs: ['--metrics-port=94%(process_num)02d', '--note=%(process_num)s 5%'],
    });
    // supervisord expands %(…) before it splits the line, so the quotes are no obstacle.
    expect(text).toContain(`queue:work '--metrics-port=94%(process_num)02d' '--note=%%(process_num)s 5%%'\n`);
  });

  it('names the option at fault', () => {
    expect(() => renderSupervisorConfig({ ...base, numprocs: 0 })).toThrow(
      '--numprocs must be a whole number ≥ 1, got "0".',
    );
    expect(() => renderSupervisorConfig({ ...base, numprocs: 1.5 })).toThrow('--numprocs must be a whole number ≥ 1');
    expect(() => renderSupervisorConfig({ ...base, program: 'a:b' })).toThrow('--program may hold only');
    expect(() => renderSupervisorConfig({ ...base, user: 'ro ot' })).toThrow(
      '--user must be a Unix user name, got "ro ot".',
    );
    expect(() => renderSupervisorConfig({ ...base, directory: 'app' })).toThrow(
      '--directory must be an absolute path, got "app".',
    );
    expect(() => renderSupervisorConfig({ ...base, log: 'w.log' })).toThrow('--log must be an absolute path');
    expect(() => renderSupervisorConfig({ ...base, configFile: 'c.mjs' })).toThrow('--config must be an absolute path');
    expect(() => renderSupervisorConfig({ ...base, workerArgs: ['a\nb'] })).toThrow(
      'a worker argument must fit on one line',
    );
    expect(() => renderSupervisorConfig({ ...base, workerArgs: ['--note=a ;b'] })).toThrow(
      'cannot hold ";" or "#" after a space',
    );
    expect(() => renderSupervisorConfig({ ...base, workerArgs: ['--grace=x'] })).toThrow(ConfigError);
  });

  it('renders an app’s own template', () => {
    expect(renderSupervisorConfig(base, '[program:{{ program }}]\nstopwaitsecs={{ stopwaitsecs }}\n')).toBe(
      '[program:errand-worker]\nstopwaitsecs=75\n',
    );
  });
});

describe('renderSystemdUnit', () => {
  it('writes a template unit whose instances each run one named worker', () => {
    const text = renderSystemdUnit({ ...base, user: 'forge', workerArgs: ['--queue=high', '--grace=30'] });
    const l = lines(text);
    expect(l).toContain(
      'ExecStart=/usr/bin/node /srv/app/node_modules/errand/dist/console/cli.js queue:work --queue=high --grace=30 --name=%p-%i',
    );
    for (const setting of [
      'WorkingDirectory=/srv/app',
      'User=forge',
      'Restart=always',
      'RestartSec=1',
      'KillSignal=SIGTERM',
      'KillMode=mixed',
      'TimeoutStopSec=45',
      'SyslogIdentifier=%p-%i',
      'Environment=NODE_ENV=production',
      '[Install]',
      'WantedBy=multi-user.target',
    ]) {
      expect(l).toContain(setting);
    }
    expect(text).toContain('errand-worker@.service');
    expect(text).toContain('systemctl enable --now errand-worker@{1..4}');
  });

  it('keeps a --name the arguments give, leaves out User= without a user, and uses --unit', () => {
    const text = renderSystemdUnit({
      ...base,
      unit: 'mail-worker',
      configFile: '/etc/errand.mjs',
      workerArgs: ['--name', 'mailer'],
    });
    expect(text).toContain('cli.js --config /etc/errand.mjs queue:work --name mailer\n');
    expect(text).not.toContain('--name=%p-%i');
    expect(text).not.toMatch(/^User=/m);
    expect(text).toContain('mail-worker@.service');
    expect(lines(text)).toContain('TimeoutStopSec=75');
  });

  it('quotes for ExecStart and escapes % and $', () => {
    const text = renderSystemdUnit({ ...base, directory: '/srv/50%', workerArgs: ['--note=say "hi" $HOME 5%'] });
    expect(text).toContain(`queue:work "--note=say \\"hi\\" $$HOME 5%%" --name=%p-%i\n`);
    expect(text).toContain('WorkingDirectory=/srv/50%%\n');
  });

  it('leaves %i in worker arguments to systemd: instances named by their metrics ports', () => {
    const text = renderSystemdUnit({ ...base, directory: '/srv/%i', workerArgs: ['--metrics-port=%i', '--note=%h'] });
    expect(text).toContain('queue:work --metrics-port=%i --note=%%h --name=%p-%i\n');
    expect(text).toContain('WorkingDirectory=/srv/%%i\n');
  });

  it('names the option at fault', () => {
    expect(() => renderSystemdUnit({ ...base, unit: 'worker@' })).toThrow('--unit may hold only');
    expect(() => renderSystemdUnit({ ...base, node: 'bin/node' })).toThrow('--node must be an absolute path');
    expect(() => renderSystemdUnit({ ...base, workerArgs: ['--timeout', '--once'] })).toThrow(
      '--timeout (for queue:work) needs a value.',
    );
  });
});
