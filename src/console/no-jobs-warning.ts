import { ChainedBatch } from '../bus/chained-batch.js';
import type { ResolvedConfig } from '../config/config-types.js';
import { CONFIG_FILES } from '../config/load-config.js';
import { configPath, outDirUnknown } from '../config/module-paths.js';
import { compiledEntryFor, typeScriptLayout } from '../config/typescript-layout.js';
import { jobRegistry } from '../job/job-registry.js';
import { CallQueuedListener } from '../listeners/call-queued-listener.js';
import { listenerRegistry } from '../listeners/listener-registry.js';

// errand's own jobs: registered in every process, they are no sign that the app's jobs are.
const BUILT_IN_JOBS = new Set<Function>([CallQueuedListener, ChainedBatch]);

/**
 * Whether this process knows any job a worker could run: an app's @Job class or a queued
 * @Listener. Listeners are counted from the registry the worker resolves them from by name, wired
 * to an event or not (a queued listener's job runs whatever the wiring in the worker's process).
 */
export function knowsApplicationJobs(): boolean {
  if (jobRegistry.entries().some((entry) => !BUILT_IN_JOBS.has(entry.target))) return true;
  return listenerRegistry.classes().some((listener) => listener.options.queued === true);
}

/**
 * What `queue:work` says when, after its bootstrap, this process knows no job class: every job it
 * claims would fail as unknown. One line naming the config file, its `bootstrap` option and what
 * to set it to; undefined when a job class is known. `imported` are the bootstrap files loaded.
 */
export function noJobsWarning(config: ResolvedConfig, imported: readonly string[]): string | undefined {
  if (knowsApplicationJobs()) return undefined;
  const outcome = 'so every job this worker claims will fail as unknown';
  // Where `paths.jobs` (make:job's directory) compiles to; no example when the tsconfig.json cannot be read through.
  const layout = typeScriptLayout(config.baseDir);
  const compiled = compiledEntryFor(config.paths.jobs, layout);
  const example =
    compiled === undefined ? outDirUnknown(layout) : `, e.g. bootstrap: '${configPath(compiled, config)}'`;
  const what = `the compiled file, directory or glob of your @Job classes${example}`;
  if (!config.source) {
    return `No job class is registered: there is no config file (${CONFIG_FILES.join(', ')}) in ${config.baseDir}, hence no \`bootstrap\`, ${outcome}. Create one whose \`bootstrap\` names ${what}.`;
  }
  if (config.bootstrap.length === 0) {
    return `No job class is registered: ${config.source} sets no \`bootstrap\`, ${outcome}. Set \`bootstrap\` to ${what}.`;
  }
  const loaded =
    imported.length === 0
      ? 'loads no module'
      : `loads ${imported.length === 1 ? imported[0] : `${imported.length} modules`}, none declaring a @Job class or queued @Listener`;
  return `No job class is registered: the \`bootstrap\` of ${config.source} ${loaded}, ${outcome}. Point \`bootstrap\` at the compiled modules that declare your @Job classes (a file, a directory or a glob).`;
}
