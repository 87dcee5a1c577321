import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

import { describe, it } from 'vitest';

import { redisSelected, skipUnselected } from './databases.js';
import { freeLoopbackPort } from './free-port.js';

/** What a command printed and how it ended. */
export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * A redis-server of a test's own: on a free loopback port, in its own temp directory, as a child
 * of the test process, so a test may reconfigure, restart or kill it without touching the shared
 * server on 6379.
 */
export interface PrivateRedis {
  readonly host: '127.0.0.1';
  readonly port: number;
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  /** Its working directory: RDB and AOF files, nodes.conf, redis.log. */
  readonly dir: string;
  /** The pid of the running server (changes on restart). */
  readonly pid: number;
  /** Runs `redis-cli -h 127.0.0.1 -p <port> ...args`. */
  cli(args: readonly string[], input?: string): Promise<CliResult>;
  /**
   * Stops the server and starts it again on the same port and directory; resolves to when its
   * process had exited and when it answered PING again (epoch ms). By default it is stopped with
   * SIGTERM (it writes what its persistence settings say) and started at once; `crash` stops it
   * with SIGKILL (no goodbye: only what its append-only file already held survives), and `downMs`
   * keeps it down that long.
   */
  restart(options?: { crash?: boolean; downMs?: number }): Promise<{ stoppedAt: number; acceptingAt: number }>;
  /** Stops the server and removes its directory; safe to call twice. */
  stop(): Promise<void>;
}

/** Undefined when redis-server and redis-cli run here, else why not. */
export function redisServerMissingReason(): string | undefined {
  for (const command of ['redis-server', 'redis-cli']) {
    const probe = spawnSync(command, ['--version'], { encoding: 'utf8' });
    if (probe.error) return `${command} is not on PATH (${probe.error.message})`;
    if (probe.status !== 0) return `${command} --version exited with ${probe.status}: ${probe.stderr.trim()}`;
  }
  return undefined;
}

let warned = false;

/**
 * A describe block that starts redis-server processes of its own, run when TEST_DB is unset or
 * names `redis`. Without redis-server the block fails under CI=true (.ci/run installs it);
 * elsewhere it is skipped with one loud line.
 */
export function describeWithRedisServer(title: string, body: () => void): void {
  if (!redisSelected()) {
    skipUnselected(title, body);
    return;
  }
  const reason = redisServerMissingReason();
  if (!reason) {
    describe(title, body);
    return;
  }
  if (process.env.CI === 'true') {
    describe(title, () => {
      it('finds redis-server', () => {
        throw new Error(`CI=true and ${reason}. .ci/run installs Debian's redis-server package.`);
      });
    });
    return;
  }
  if (!warned) {
    console.warn(
      `\n!!! ${reason}; the suites that start their own Redis are SKIPPED. Install it (apt-get install redis-server); CI=true makes this a failure.\n`,
    );
    warned = true;
  }
  // Skipped on purpose, with the reason printed above: no redis-server on this machine.
  describe.skip(`${title} (redis-server missing: reason printed above)`, body);
}

/** Runs `command`, feeding `input` on stdin when given. */
export function runCommand(command: string, args: readonly string[], input?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    if (input !== undefined) child.stdin?.end(input);
  });
}

/** Polls `check` every `everyMs` until it holds; throws naming `what` after `ms` (a deadline, not a timing assertion). */
export async function waitFor(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
  everyMs = 100,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${ms} ms waiting for ${what}.`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

const running = new Set<ChildProcess>();

// A test file that dies before its afterAll must not leave servers behind: process.kill is
// allowed in an exit handler, and redis-server exits on SIGKILL without touching its directory.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Whether `port` can be bound on 127.0.0.1 right now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port the kernel says is free; with `busOffset`, `port + busOffset` is free too (a cluster node's bus). */
async function freePortWithBus(busOffset?: number): Promise<number> {
  for (;;) {
    const port = await freeLoopbackPort();
    if (busOffset === undefined) return port;
    if (port + busOffset <= 65_535 && (await portFree(port + busOffset))) return port;
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/**
 * Starts a private redis-server and waits until it answers PING. `args` are extra redis-server
 * options (`['--appendonly', 'yes']`, `['--cluster-enabled', 'yes']`); by default it persists
 * nothing (`--save ''`, no AOF). `cluster` also makes sure the port 10000 above (the cluster bus)
 * is free. A port taken between choosing it and binding it is retried with another.
 */
export async function startPrivateRedis(
  options: { args?: readonly string[]; cluster?: boolean } = {},
): Promise<PrivateRedis> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-redis-'));
  const log = path.join(dir, 'redis.log');
  const tail = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(-2000) : '(no log)');
  let child: ChildProcess | undefined;
  let port = 0;

  const spawnServer = () => {
    const out = openSync(log, 'a');
    try {
      child = spawn(
        'redis-server',
        [
          '--port',
          String(port),
          '--bind',
          '127.0.0.1',
          '--dir',
          dir,
          '--save',
          '',
          '--appendonly',
          'no',
          ...(options.args ?? []),
        ],
        { stdio: ['ignore', out, out] },
      );
    } finally {
      closeSync(out);
    }
    running.add(child);
    // A forgotten stop() must not keep the test process alive; the exit handler still kills it.
    child.unref();
    return child;
  };
  const cli = (args: readonly string[], input?: string) =>
    runCommand('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], input);
  const answers = async (server: ChildProcess) => {
    if (server.exitCode !== null || server.signalCode !== null) throw new Error(`redis-server on port ${port} exited`);
    return (await cli(['ping'])).stdout.trim() === 'PONG';
  };
  const kill = async (signal: NodeJS.Signals = 'SIGTERM') => {
    const server = child;
    if (!server) return;
    server.kill(signal);
    const gone = exited(server);
    const late = setTimeout(() => server.kill('SIGKILL'), 10_000);
    await gone;
    clearTimeout(late);
    running.delete(server);
  };

  try {
    for (let attempt = 1; ; attempt++) {
      port = await freePortWithBus(options.cluster ? 10_000 : undefined);
      const server = spawnServer();
      try {
        await waitFor(`redis-server on 127.0.0.1:${port} to answer PING`, () => answers(server));
        break;
      } catch (error) {
        await kill();
        const taken = tail().includes('Address already in use');
        if (!taken || attempt === 5) throw new Error(`${(error as Error).message} Its log:\n${tail()}`);
      }
    }
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }

  let stopped = false;
  return {
    host: '127.0.0.1',
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    get pid() {
      return child?.pid ?? 0;
    },
    cli,
    async restart({ crash = false, downMs = 0 } = {}) {
      await kill(crash ? 'SIGKILL' : 'SIGTERM');
      const stoppedAt = Date.now();
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      const server = spawnServer();
      // Polled often: the caller measures how soon clients come back from this moment.
      await waitFor(
        `redis-server on 127.0.0.1:${port} to answer PING after a restart`,
        () => answers(server),
        20_000,
        20,
      ).catch((error: Error) => {
        throw new Error(`${error.message} Its log:\n${tail()}`);
      });
      return { stoppedAt, acceptingAt: Date.now() };
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      try {
        await kill();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}
