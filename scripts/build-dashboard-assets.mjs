// Builds the dashboard's browser assets into dist/dashboard/assets/: app.js (the client script
// with uPlot, minified, no CDN) and app.css (uPlot's styles and the dashboard's). Run by
// `npm run build` after tsc, so the published package carries them and users run no bundler.
import { build } from 'esbuild';

await build({
  entryPoints: { app: 'src/dashboard/client/app.ts' },
  outdir: 'dist/dashboard/assets',
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  legalComments: 'eof',
  logLevel: 'warning',
});
