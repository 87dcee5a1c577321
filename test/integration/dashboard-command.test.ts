import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { beforeAll, describe, expect, it } from 'vitest';

import type { QueueBody } from '../../src/dashboard/api-types.js';
import { eventually } from '../helpers/eventually.js';
import { rawRequest } from '../helpers/raw-request.js';
import { CLI, runCli } from '../helpers/run-cli.js';

// `errand dashboard` as users run it: the built CLI in its own process, from a config file. SQLite
// only: what is tested is the command (its refusals, its start line, the server it runs), not the
// reads, which test/integration/dashboard-api.test.ts checks on every engine.

describe('errand dashboard', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'errand-dashboard-cli-'));
    const config = { default: 'database', connections: { database: { driver: 'database', connection: 'q.sqlite' } } };
    writeFileSync(path.join(dir, 'errand.config.mjs'), `export default ${JSON.stringify(config)};\n`);
  });

  it('refuses a host others can reach without credentials, naming --user/--password', async () => {
    const result = await runCli(['dashboard', '--host', '0.0.0.0', '--port', '0'], dir);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('--user/--password');
    expect(result.stderr).toContain('0.0.0.0');
    const half = await runCli(['dashboard', '--user', 'ops', '--port', '0'], dir);
    expect(half.code).not.toBe(0);
    expect(half.stderr).toContain('--user/--password');
  });

  it('serves from loopback without a login, under its base path, and stops on SIGTERM', async () => {
    expect((await runCli(['migrate'], dir)).code).toBe(0);
    const child = spawn(process.execPath, [CLI, 'dashboard', '--port', '0', '--base-path', '/ops/jobs'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', NODE_ENV: 'production' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await eventually('the start line', async () => /http:\/\/127\.0\.0\.1:\d+\/ops\/jobs\//.test(stdout));
      expect(stdout).toContain('no login');
      const base = /(http:\/\/127\.0\.0\.1:\d+\/ops\/jobs\/)/.exec(stdout)![1]!;
      const response = await fetch(`${base}api/queues`);
      expect(response.status).toBe(200);
      expect((await response.json()) as QueueBody[]).toEqual([]);
      // A web page whose name was re-pointed at 127.0.0.1 (DNS rebinding) sends its own Host.
      const rebound = await rawRequest(`${base}api/failed/flush`, {
        method: 'POST',
        headers: { host: 'x', origin: 'http://x' },
      });
      expect(rebound.status).toBe(403);
      expect(rebound.body).toContain('--user/--password');
      expect((await rawRequest(`${base}api/queues`, { headers: { host: 'x' } })).status).toBe(403);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });

  it('asks for the credentials it was given, also from the environment', async () => {
    const child = spawn(process.execPath, [CLI, 'dashboard', '--port', '0', '--read-only'], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: '1', ERRAND_DASHBOARD_USER: 'ops', ERRAND_DASHBOARD_PASSWORD: 'pw' },
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await eventually('the start line', async () => stdout.includes('Basic auth as ops; read-only'));
      const base = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(stdout)![1]!;
      expect((await fetch(`${base}api/overview`)).status).toBe(401);
      const authorization = `Basic ${Buffer.from('ops:pw').toString('base64')}`;
      expect((await fetch(`${base}api/overview`, { headers: { authorization } })).status).toBe(200);
      const pause = await fetch(`${base}api/queues/default/pause`, {
        method: 'POST',
        headers: { authorization, 'sec-fetch-site': 'same-origin' },
      });
      expect(pause.status).toBe(403);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
  });
});
