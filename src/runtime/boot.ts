import { type DependencyContainer, container as rootContainer } from 'tsyringe';

import type { ErrandConfig } from '../config/config-types.js';
import { loadConfig } from '../config/load-config.js';
import { importModules } from '../config/module-paths.js';
import { resolveConfig } from '../config/resolve-config.js';
import { defaultDatabaseConnection } from '../config/resolve-table-home.js';
import { modelResolver } from '../drivers/connect.js';
import { ConfigError } from '../errors/config-error.js';
import { runSyncUnique } from '../execution/run-sync-unique.js';
import { modelResolvers } from '../models/model-resolvers.js';
import { configureTracing } from '../tracing/tracing-state.js';
import {
  bootedRuntime,
  type ErrandRuntime,
  registerBooter,
  runShutdownHooks,
  runtime,
  setRuntime,
  settleTracked,
} from './current.js';
import { QueueManager } from './queue-manager.js';
// errand's own registrations, so any process that boots can decode every payload errand writes:
// the job queued listeners travel in, the storable middleware `through()` names, and the job a
// chain's batch step travels in.
import '../listeners/call-queued-listener.js';
import '../middleware/built-in-middleware.js';
import '../bus/chained-batch.js';

/** How `boot()` finds its configuration and services. */
export interface BootOptions {
  /** A config file to read instead of looking for `errand.config.*` in `cwd`. */
  configFile?: string;
  cwd?: string;
  /** The tsyringe container `handle()` parameters are resolved from; default the config's `container`, else the root container. */
  container?: DependencyContainer;
}

let booting: Promise<ErrandRuntime> | undefined;

// @Model classes are read through the connection they name (default: the default connection
// when it is a database one, else the first database connection: a redis default keeps no tables).
modelResolvers.setBuiltIn(
  modelResolver(async (connection, model) => {
    const app = await runtime();
    const { connections, default: defaultName } = app.config;
    const name = connection ?? defaultDatabaseConnection(connections, defaultName) ?? defaultName;
    try {
      return app.queues.worker(name);
    } catch (error) {
      throw new ConfigError(
        `Model ${model.name} is read through connection [${name}]: ${(error as Error).message} Set @Model({ connection }).`,
        { cause: error },
      );
    }
  }),
);

// runtime() called before boot() boots from the working directory's config, joining a boot under way.
registerBooter(() => booting ?? boot());

/**
 * Boots errand: reads `errand.config.*` from the working directory (or uses `config`), and
 * prepares the connections, opened on first use. Booting again replaces the previous runtime.
 */
export async function boot(config?: ErrandConfig, options: BootOptions = {}): Promise<ErrandRuntime> {
  if (bootedRuntime() || booting) await shutdown();
  const attempt = (async () => {
    const resolved = config
      ? resolveConfig(config, { baseDir: options.cwd })
      : await loadConfig({ file: options.configFile, cwd: options.cwd });
    await importModules(resolved.listeners, 'listeners', resolved);
    configureTracing(resolved.tracing);
    const container = options.container ?? resolved.container ?? rootContainer;
    const queues: QueueManager = new QueueManager(resolved, (payload, name) =>
      runSyncUnique(payload, name, container, resolved.keyring, {
        locks: () => queues.locks(),
        report: resolved.report,
      }),
    );
    const booted: ErrandRuntime = { config: resolved, queues, container };
    setRuntime(booted);
    return booted;
  })();
  booting = attempt;
  try {
    return await attempt;
  } finally {
    booting = undefined;
  }
}

/**
 * Waits for dispatches still being pushed, then closes every connection, so a script can exit.
 * Safe to call more than once.
 */
export async function shutdown(): Promise<void> {
  if (booting) await booting.catch(() => undefined);
  // A transaction that just ended hands its deferred push (or a rollback's lock release) over a
  // few promise steps after its caller resumed: let those steps run, so they are in view below.
  // Promise steps, not a timer: fake timers in an application's tests must not hold shutdown up.
  for (let step = 0; step < 10; step++) await Promise.resolve();
  await runShutdownHooks();
  await settleTracked();
  const closing = bootedRuntime();
  setRuntime(undefined);
  await closing?.queues.closeAll();
}
