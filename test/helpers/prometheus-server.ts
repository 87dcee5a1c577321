import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freeLoopbackPort } from './free-port.js';
import { describeWithTool, toolMissingReason } from './required-tool.js';

/** What a command printed and how it ended. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** One element of an instant vector, as the query API answers it. */
export interface VectorSample {
  metric: Record<string, string>;
  value: number;
}

/** A prometheus server of our own, on loopback, with its config and data in a temp directory. */
export interface PrivatePrometheus {
  /** `http://127.0.0.1:<port>`. */
  url: string;
  /** Everything prometheus logged so far (it logs to stderr). */
  log(): string;
  /** `GET /api/v1/query`: an instant vector, or throws naming the query and what the server said. */
  query(expr: string): Promise<VectorSample[]>;
  /** `GET /api/v1/series`: every series matching `match` that had a sample since `start` (unix seconds), as sorted label sets. */
  series(match: string, start: number): Promise<string[]>;
  /** The scrape targets' health (`up`, `down`, `unknown`) by scrape URL. */
  targets(): Promise<Map<string, string>>;
  /** SIGTERMs the server, SIGKILLs it after 10 s, waits for it, removes the temp directory. */
  stop(): Promise<void>;
}

/** Undefined when Debian's `prometheus` and `promtool` run here, else why not. */
export function prometheusMissingReason(): string | undefined {
  return toolMissingReason(['prometheus', 'promtool']);
}

/**
 * A describe block that needs prometheus and promtool. Without them the block fails under CI=true
 * (.ci/run installs Debian's prometheus package); elsewhere it is skipped with one loud line.
 */
export function describeWithPrometheus(title: string, body: () => void): void {
  describeWithTool(title, { name: 'prometheus', reason: prometheusMissingReason(), debianPackage: 'prometheus' }, body);
}

/** Runs `promtool ...args` in `cwd`, feeding it `stdin` when given. */
export function promtool(args: string[], options: { cwd?: string; stdin?: string } = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', args, { cwd: options.cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}

const running = new Set<ChildProcess>();

// A test file that dies before its afterAll must not leave a prometheus behind.
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/**
 * Starts `prometheus` on a free loopback port, scraping `targets` (`host:port`, path /metrics)
 * every `scrapeInterval` (1 s by default), with a fresh data directory; resolves once `/-/ready` answers 200.
 * Debian's system prometheus (on :9090, if its package started one) is never used.
 */
export async function startPrometheus(options: {
  targets: string[];
  scrapeInterval?: string;
  /** Keep the scraped `job` label (errand's job name) instead of renaming it `exported_job`. */
  honorLabels?: boolean;
}): Promise<PrivatePrometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'errand-prometheus-'));
  const config = path.join(dir, 'prometheus.yml');
  const interval = options.scrapeInterval ?? '1s';
  writeFileSync(
    config,
    [
      'global:',
      `  scrape_interval: ${interval}`,
      `  scrape_timeout: ${interval}`,
      `  evaluation_interval: ${interval}`,
      'scrape_configs:',
      '  - job_name: errand',
      `    honor_labels: ${options.honorLabels ?? false}`,
      '    static_configs:',
      `      - targets: [${options.targets.map((t) => JSON.stringify(t)).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    'prometheus',
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  running.add(child);
  let log = '';
  child.stdout!.on('data', (d) => (log += d));
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let gone = false;
  void exited.then(() => (gone = true));

  const stop = async () => {
    if (!gone) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    running.delete(child);
    rmSync(dir, { recursive: true, force: true });
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (gone) {
      await stop();
      throw new Error(`prometheus on 127.0.0.1:${port} exited before it was ready:\n${log}`);
    }
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.status === 200,
      () => false,
    );
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`prometheus on 127.0.0.1:${port} was not ready after 30 s:\n${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const response = await fetch(`${url}${pathAndQuery}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`prometheus ${pathAndQuery} answered ${body.status}: ${body.error}`);
    return body.data;
  };

  return {
    url,
    log: () => log,
    async query(expr) {
      const data = await api<{
        resultType: string;
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      }>(`/api/v1/query?query=${encodeURIComponent(expr)}`);
      if (data.resultType !== 'vector') throw new Error(`${expr} is a ${data.resultType}, not an instant vector.`);
      return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    async series(match, start) {
      const data = await api<Array<Record<string, string>>>(
        `/api/v1/series?match[]=${encodeURIComponent(match)}&start=${start}&end=${Date.now() / 1000 + 60}`,
      );
      return data.map((labels) => JSON.stringify(Object.entries(labels).sort())).sort();
    },
    async targets() {
      const data = await api<{ activeTargets: Array<{ scrapeUrl: string; health: string }> }>('/api/v1/targets');
      return new Map(data.activeTargets.map((t) => [t.scrapeUrl, t.health]));
    },
    stop,
  };
}
