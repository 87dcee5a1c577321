import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { describeWithTool, toolMissingReason } from './required-tool.js';

/** What a command printed and how it ended. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One line of `supervisorctl status`. */
export interface ProcessStatus {
  /** `program` or `group:process`. */
  name: string;
  /** RUNNING, STARTING, STOPPED, EXITED, FATAL, BACKOFF… */
  state: string;
  pid: number | undefined;
}

/** A supervisord of our own, in a temp directory, reachable only through its unix socket. */
export interface PrivateSupervisord {
  /** The temp directory holding its config, socket, pid file and logs. */
  dir: string;
  /** Drop `*.conf` program files here, then `ctl(['reread'])` and `ctl(['update'])`. */
  confDir: string;
  /** The supervisord config file. */
  conf: string;
  /** Runs `supervisorctl -c <conf> ...args`. */
  ctl(args: string[]): Promise<CommandResult>;
  /** `supervisorctl status`, parsed. */
  status(): Promise<ProcessStatus[]>;
  /** Shuts supervisord and its programs down, waits until its process is gone, removes `dir`. */
  stop(): Promise<void>;
}

/** Undefined when `supervisord` runs here, else why not. */
export function supervisordMissingReason(): string | undefined {
  return toolMissingReason(['supervisord']);
}

/**
 * A describe block that needs supervisord. Without it the block fails under CI=true (.ci/run
 * installs it); elsewhere it is skipped with one loud line saying how to get it.
 */
export function describeWithSupervisord(title: string, body: () => void): void {
  describeWithTool(
    title,
    { name: 'supervisord', reason: supervisordMissingReason(), debianPackage: 'supervisor' },
    body,
  );
}

function run(command: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: env === undefined ? undefined : { ...process.env, ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Parses `supervisorctl status` output: `name  STATE  pid 123, uptime 0:00:01` per line. */
export function parseStatus(output: string): ProcessStatus[] {
  return output
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean)
    .flatMap((line) => {
      const match = /^(\S+)\s+([A-Z]+)\b(.*)$/.exec(line);
      if (!match) return [];
      const pid = /\bpid (\d+)/.exec(match[3]!);
      return [{ name: match[1]!, state: match[2]!, pid: pid ? Number(pid[1]) : undefined }];
    });
}

/** Whether `pid` is a live process. A zombie is not: in a container, pid 1 may never reap it. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return !existsSync('/proc/self/stat');
  }
}

/** Polls `check` every 100 ms until it holds; throws `what` after `ms`. */
export async function waitUntil(what: string, check: () => boolean | Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const running = new Set<number>();

// A test that fails before its afterAll must not leave a daemon behind: supervisord stops its
// programs on SIGTERM, and process.kill is allowed in an exit handler.
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
});

/**
 * Starts a private supervisord (it daemonizes) and waits until supervisorctl reaches it. `env` is
 * added to the environment supervisord starts with, which its programs inherit.
 */
export async function startSupervisord(options: { env?: NodeJS.ProcessEnv } = {}): Promise<PrivateSupervisord> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-supervisord-'));
  const confDir = path.join(dir, 'conf.d');
  mkdirSync(confDir);
  const conf = path.join(dir, 'supervisord.conf');
  const socket = path.join(dir, 'supervisor.sock');
  const pidfile = path.join(dir, 'supervisord.pid');
  writeFileSync(
    conf,
    [
      '[unix_http_server]',
      `file=${socket}`,
      'chmod=0700',
      '',
      '[supervisord]',
      'nodaemon=false',
      `logfile=${path.join(dir, 'supervisord.log')}`,
      `pidfile=${pidfile}`,
      `childlogdir=${dir}`,
      // Low floors, so a container with small ulimits can still start it.
      'minfds=64',
      'minprocs=16',
      '',
      '[rpcinterface:supervisor]',
      'supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface',
      '',
      '[supervisorctl]',
      `serverurl=unix://${socket}`,
      '',
      '[include]',
      `files=${path.join(confDir, '*.conf')}`,
      '',
    ].join('\n'),
  );

  const started = await run('supervisord', ['-c', conf], options.env);
  if (started.code !== 0)
    throw new Error(`supervisord -c ${conf} exited with ${started.code}: ${started.stderr}${started.stdout}`);
  const ctl = (args: string[]) => run('supervisorctl', ['-c', conf, ...args]);
  // The file exists a moment before the pid is written into it: wait for the number itself.
  const pidIn = () => (existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : 0);
  await waitUntil('supervisord to write its pid file', () => pidIn() > 0);
  const pid = pidIn();
  running.add(pid);
  let lastAnswer = '';
  await waitUntil(
    'supervisorctl to reach supervisord',
    async () => {
      const answer = await ctl(['pid']);
      lastAnswer = `${answer.stdout}${answer.stderr}`.trim();
      return answer.stdout.trim() === String(pid);
    },
    30_000,
  ).catch((error: Error) => {
    // Say why, for a failure seen once under CI load: what supervisorctl answered, whether the
    // daemon lives, and the end of its log.
    const log = existsSync(path.join(dir, 'supervisord.log'))
      ? readFileSync(path.join(dir, 'supervisord.log'), 'utf8').slice(-2000)
      : '(no log)';
    throw new Error(
      `${error.message} supervisorctl said: ${lastAnswer || '(nothing)'}; supervisord pid ${pid} alive: ${alive(pid)}; log:\n${log}`,
    );
  });

  let stopped = false;
  return {
    dir,
    confDir,
    conf,
    ctl,
    status: async () => parseStatus((await ctl(['status'])).stdout),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await ctl(['shutdown']);
      try {
        await waitUntil(`supervisord (pid ${pid}) to exit`, () => !alive(pid), 30_000);
        rmSync(dir, { recursive: true, force: true });
      } catch (error) {
        process.kill(pid, 'SIGKILL');
        throw error;
      } finally {
        running.delete(pid);
      }
    },
  };
}
