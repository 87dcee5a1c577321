import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import { freeLoopbackPort } from '../../helpers/free-port.js';

/** The engines a private server can be started for (`mysql` is MariaDB, as in the test matrix). */
export type ServerEngine = 'mysql' | 'postgres';

/** How a server is stopped: `fast` as a container stop (SIGTERM/SIGINT), `immediate` as a crash. */
export type StopMode = 'fast' | 'immediate';

/** Where private servers keep their data; the prefix lets a later run find and end strays. */
const PREFIX = 'errand-dbserver-';

/** How long `start()` waits for the server to accept connections. */
const START_TIMEOUT_MS = 60_000;

/** How long a stop waits for the server to exit before it is SIGKILLed. */
const STOP_TIMEOUT_MS = 30_000;

/** Every server this process started and has not destroyed, ended on exit whatever happens. */
const live = new Set<PrivateServer>();
process.once('exit', () => {
  for (const server of live) server.killNow();
});

/** The installed PostgreSQL's bin directory (the newest version), or undefined. */
function postgresBin(): string | undefined {
  if (process.env.PG_BIN) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root)
    .filter((v) => existsSync(path.join(root, v, 'bin/pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? undefined : path.join(root, versions[0], 'bin');
}

function mariadbBinaries(): { server: string; install: string } | undefined {
  const server = ['/usr/sbin/mariadbd', '/usr/sbin/mysqld', '/usr/bin/mariadbd'].find((p) => existsSync(p));
  const install = ['/usr/bin/mariadb-install-db', '/usr/bin/mysql_install_db', '/usr/scripts/mariadb-install-db'].find(
    (p) => existsSync(p),
  );
  return server && install ? { server, install } : undefined;
}

/** Undefined when a private server of this engine can be started here, else why not. */
export function privateServerUnavailable(engine: ServerEngine): string | undefined {
  if (engine === 'postgres') {
    if (!postgresBin())
      return 'no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (install postgresql, or set PG_BIN)';
    if (process.getuid?.() === 0 && !userIds('postgres'))
      return 'running as root and there is no postgres user to run the server as';
    return undefined;
  }
  return mariadbBinaries() ? undefined : 'no mariadbd / mariadb-install-db (install mariadb-server)';
}

/** uid and gid of a system user, or undefined. */
function userIds(name: string): { uid: number; gid: number } | undefined {
  const result = spawnSync('id', ['-u', name], { encoding: 'utf8' });
  const group = spawnSync('id', ['-g', name], { encoding: 'utf8' });
  if (result.status !== 0 || group.status !== 0) return undefined;
  return { uid: Number(result.stdout.trim()), gid: Number(group.stdout.trim()) };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function firstLineNumber(file: string): number | undefined {
  try {
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Ends the servers of earlier runs whose test process died without destroying them (a killed
 * vitest, a crashed fork): their directory names the owning pid, and the server's pid file
 * names the server.
 */
function reapStrays(): void {
  const tmp = os.tmpdir();
  for (const name of readdirSync(tmp)) {
    if (!name.startsWith(PREFIX)) continue;
    const dir = path.join(tmp, name);
    const owner = firstLineNumber(path.join(dir, 'owner.pid'));
    if (owner === undefined || alive(owner)) continue;
    for (const pidFile of [path.join(dir, 'data/postmaster.pid'), path.join(dir, 'server.pid')]) {
      const pid = firstLineNumber(pidFile);
      if (pid !== undefined && alive(pid)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone meanwhile.
        }
      }
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A database server owned by one test: its own data directory (temporary) and port on
 * 127.0.0.1, so it can be stopped and started at will without touching the shared servers
 * other tests use. PostgreSQL runs as the `postgres` user (it refuses root) with trust auth;
 * MariaDB as root with a passwordless root account. Each has a `test` database, at `url`.
 * The server is a child process of the test; `destroy()` (and, failing that, this process's
 * exit, or the next run's `create()`) ends it and removes its directory.
 */
export class PrivateServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log = '';
  /** When the server last began accepting connections (epoch ms), as `start()` saw it. */
  acceptingAt = 0;
  /** When the server last stopped (its process had exited), epoch ms. */
  stoppedAt = 0;
  /** How many times the server was stopped and started again. */
  restarts = 0;

  private constructor(
    readonly engine: ServerEngine,
    readonly port: number,
    private readonly dir: string,
    private readonly user: { uid: number; gid: number } | undefined,
  ) {}

  /** Initialises a data directory, starts the server, and creates the `test` database. */
  static async create(engine: ServerEngine): Promise<PrivateServer> {
    const unavailable = privateServerUnavailable(engine);
    if (unavailable) throw new Error(`Cannot start a private ${engine} server: ${unavailable}.`);
    reapStrays();
    const dir = mkdtempSync(path.join(os.tmpdir(), PREFIX));
    writeFileSync(path.join(dir, 'owner.pid'), `${process.pid}\n`);
    const user = engine === 'postgres' && process.getuid?.() === 0 ? userIds('postgres') : undefined;
    const server = new PrivateServer(engine, await freeLoopbackPort(), dir, user);
    live.add(server);
    try {
      server.initialise();
      await server.start();
      await server.createTestDatabase();
    } catch (error) {
      await server.destroy();
      throw error;
    }
    return server;
  }

  /** The connection URL of the `test` database. */
  get url(): string {
    return this.engine === 'postgres'
      ? `postgres://postgres@127.0.0.1:${this.port}/test`
      : `mysql://root@127.0.0.1:${this.port}/test`;
  }

  /** Whether the server process is running. */
  get running(): boolean {
    return this.child !== undefined;
  }

  /** What the server printed (its log), for a failure message. */
  output(): string {
    return this.log;
  }

  /** Starts the server and resolves once it answers a query; sets `acceptingAt`. */
  async start(): Promise<void> {
    if (this.child) return;
    const child = this.spawnServer();
    this.child = child;
    this.exited = new Promise((resolve) =>
      child.once('exit', () => {
        if (this.child === child) this.child = undefined;
        resolve();
      }),
    );
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      if (!this.child)
        throw new Error(`The private ${this.engine} server exited while starting:\n${this.log.slice(-4000)}`);
      if (await this.answers()) break;
      if (Date.now() > deadline)
        throw new Error(
          `The private ${this.engine} server did not accept connections within ${START_TIMEOUT_MS} ms:\n${this.log.slice(-4000)}`,
        );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    this.acceptingAt = Date.now();
  }

  /**
   * Shuts the server down and resolves once its process has exited: `fast` ends the sessions
   * and stops cleanly (PostgreSQL SIGINT, MariaDB SIGTERM: a container stop), `immediate` gives
   * no notice (PostgreSQL SIGQUIT, MariaDB SIGKILL: a crash; the next start recovers).
   */
  async stop(mode: StopMode = 'fast'): Promise<void> {
    const child = this.child;
    if (!child) return;
    const signal: NodeJS.Signals =
      this.engine === 'postgres' ? (mode === 'fast' ? 'SIGINT' : 'SIGQUIT') : mode === 'fast' ? 'SIGTERM' : 'SIGKILL';
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
    this.stoppedAt = Date.now();
  }

  /** Stops the server, keeps it down for `downMs`, and starts it again; resolves once it accepts connections. */
  async restart(downMs: number, mode: StopMode = 'fast'): Promise<{ stoppedAt: number; acceptingAt: number }> {
    await this.stop(mode);
    await new Promise((resolve) => setTimeout(resolve, downMs));
    await this.start();
    this.restarts++;
    return { stoppedAt: this.stoppedAt, acceptingAt: this.acceptingAt };
  }

  /** Ends the server (immediately) and removes its data directory. Safe to call twice. */
  async destroy(): Promise<void> {
    try {
      await this.stop('immediate');
    } finally {
      live.delete(this);
      rmSync(this.dir, { recursive: true, force: true });
    }
  }

  /** Synchronous last resort (process exit): SIGKILL the server, remove its directory. */
  killNow(): void {
    this.child?.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }

  private initialise(): void {
    const data = path.join(this.dir, 'data');
    if (this.engine === 'postgres') {
      mkdirSync(data, { mode: 0o700 });
      if (this.user) {
        chownSync(this.dir, this.user.uid, this.user.gid);
        chownSync(data, this.user.uid, this.user.gid);
      }
      // No fsync: a test server's durability across power loss is not what is under test.
      this.run(path.join(postgresBin()!, 'initdb'), [
        '-D',
        data,
        '-A',
        'trust',
        '-U',
        'postgres',
        '-E',
        'UTF8',
        '--no-sync',
        '--no-instructions',
      ]);
      return;
    }
    const { install } = mariadbBinaries()!;
    this.run(install, [
      '--no-defaults',
      `--datadir=${data}`,
      ...(process.getuid?.() === 0 ? ['--user=root'] : []),
      '--auth-root-authentication-method=normal',
      '--skip-test-db',
      '--skip-name-resolve',
    ]);
  }

  private run(command: string, args: string[]): void {
    const result = spawnSync(command, args, {
      cwd: this.dir,
      encoding: 'utf8',
      uid: this.user?.uid,
      gid: this.user?.gid,
      timeout: 120_000,
    });
    if (result.status !== 0)
      throw new Error(
        `${path.basename(command)} failed (${result.status ?? result.signal ?? result.error?.message}):\n${result.stdout}\n${result.stderr}`,
      );
  }

  private spawnServer(): ChildProcess {
    const data = path.join(this.dir, 'data');
    const [command, args] =
      this.engine === 'postgres'
        ? [
            path.join(postgresBin()!, 'postgres'),
            [
              '-D',
              data,
              '-p',
              String(this.port),
              '-c',
              'listen_addresses=127.0.0.1',
              '-c',
              'unix_socket_directories=',
              '-c',
              'fsync=off',
              '-c',
              'max_connections=200',
            ],
          ]
        : [
            mariadbBinaries()!.server,
            [
              '--no-defaults',
              `--datadir=${data}`,
              `--port=${this.port}`,
              `--socket=${path.join(this.dir, 'mariadb.sock')}`,
              `--pid-file=${path.join(this.dir, 'server.pid')}`,
              ...(process.getuid?.() === 0 ? ['--user=root'] : []),
              '--bind-address=127.0.0.1',
              '--skip-name-resolve',
              '--innodb-flush-log-at-trx-commit=2',
              '--max-connections=300',
            ],
          ];
    const child = spawn(command, args as string[], {
      cwd: this.dir,
      uid: this.user?.uid,
      gid: this.user?.gid,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', (error) => keep(Buffer.from(`spawn error: ${error.message}\n`)));
    return child;
  }

  /** Whether the server answers a query right now (on the maintenance database until `test` exists). */
  private async answers(): Promise<boolean> {
    const knex = this.admin();
    try {
      await knex.raw('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await knex.destroy().catch(() => undefined);
    }
  }

  private async createTestDatabase(): Promise<void> {
    const knex = this.admin();
    try {
      await knex.raw(this.engine === 'postgres' ? 'create database test' : 'create database if not exists test');
    } finally {
      await knex.destroy();
    }
  }

  private admin() {
    const url =
      this.engine === 'postgres'
        ? `postgres://postgres@127.0.0.1:${this.port}/postgres`
        : `mysql://root@127.0.0.1:${this.port}/`;
    return knexFactory({
      client: this.engine === 'postgres' ? 'pg' : 'mysql2',
      connection: url,
      pool: { min: 0, max: 1 },
      acquireConnectionTimeout: 2000,
      // Refused connections while it starts are expected: no knex warnings about them.
      log: { warn: () => undefined, error: () => undefined, deprecate: () => undefined, debug: () => undefined },
    });
  }
}
