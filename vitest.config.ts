import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// esbuild (vitest's default transform) drops decorator metadata; swc keeps it, and tsyringe
// and the job registry need it.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/bench/**', 'test/reliability/**', 'node_modules/**'],
    setupFiles: ['test/helpers/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two files at a time: on a 2-core machine vitest would run one (cores - 1), and most of the
    // suite waits on databases, child processes and recovery windows rather than on the CPU.
    maxWorkers: 2,
  },
});
