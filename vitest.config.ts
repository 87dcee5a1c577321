import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// The suites that start worker processes and measure recovery windows (leases, SIGKILL, the
// watchdog, supervisord) run one file at a time, so two of them never compete for the CPU; the
// rest run beside them in a second worker. On a 2-core machine vitest would otherwise use a
// single worker for everything.
const DAEMON_SUITES = ['test/integration/daemon-*.test.ts', 'test/integration/supervisord*.test.ts'];
const NEVER = ['test/bench/**', 'test/reliability/**', 'node_modules/**'];

// esbuild (vitest's default transform) drops decorator metadata; swc keeps it, and tsyringe
// and the job registry need it.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      { extends: true, test: { name: 'daemons', include: DAEMON_SUITES, exclude: NEVER, maxWorkers: 1 } },
      { extends: true, test: { name: 'suites', include: ['test/**/*.test.ts'], exclude: [...NEVER, ...DAEMON_SUITES], maxWorkers: 1 } },
    ],
  },
});
