// Builds the dashboard's browser assets into dist/dashboard/assets/: app.js (the client script
// with uPlot, minified, no CDN) and app.css (uPlot's styles and the dashboard's). Run by
// `npm run build` after tsc, so the published package carries them and users run no bundler.
//
// A checkout whose node_modules predates the esbuild devDependency still builds the Node code:
// the script says what is missing and stops there, except under CI or `npm pack`, where a
// package without its assets must not be made.
let build;
try {
  ({ build } = await import('esbuild'));
} catch {
  const strict = process.env.CI === 'true' || process.env.npm_lifecycle_event === 'prepack';
  console.error(
    `dashboard assets not built: esbuild is not installed (run \`npm install\`)${strict ? '' : '; the pages will have no script or styles'}`,
  );
  process.exit(strict ? 1 : 0);
}

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
