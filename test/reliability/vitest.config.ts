import { fileURLToPath } from 'node:url';

import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// `npm run test:reliability`: the chaos scenarios of test/reliability/ (worker processes, signals,
// a fault proxy, database restarts). Kept out of `npm test`: they run for minutes.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  // Paths below are the repository's, wherever vitest is started from.
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/reliability/**/*.test.ts'],
    setupFiles: ['test/helpers/setup.ts'],
    globalSetup: ['test/reliability/harness/summary.ts'],
    // The published sizes (RELIABILITY_SCALE=full) run for many minutes per test.
    testTimeout: process.env.RELIABILITY_SCALE === 'full' ? 3_600_000 : 300_000,
    hookTimeout: process.env.RELIABILITY_SCALE === 'full' ? 600_000 : 120_000,
    pool: 'forks',
    // Two files at a time: their windows carry margins for a loaded machine, and CI's time is bounded.
    maxWorkers: 2,
  },
});
