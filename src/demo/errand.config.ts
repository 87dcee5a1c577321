import { defineConfig } from '../config/define-config.js';

// The demo's configuration: the default SQLite connection (a file under this directory) and the
// module that registers the demo's jobs in the worker.
export default defineConfig({
  bootstrap: './jobs.js',
});
