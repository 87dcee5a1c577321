import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// tsyringe and the job registry need decorator metadata. Vitest 4 on Vite 8 compiles TypeScript
// with Oxc, which emits it when tsconfig.json asks (ours does), and the unit suite passes under it
// too (tried with Vitest 4.1.12, Vite 8.3.8); Vite 7 and older compiled with esbuild, which never
// emits it. The suite compiles with swc anyway: it is the recipe docs/typescript.md gives for
// older Vite, so that recipe stays tested, and the suite does not hang on Vite's default.
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
