// errand's deploy helpers, published as 'errand/deploy': the renderers behind `errand
// queue:supervisor` and `errand queue:systemd`, for a deploy script or a provisioning tool that
// writes the files from code instead of running the CLI, and the stop-timing rules they apply.

export {
  DEFAULT_NUMPROCS,
  DEFAULT_SUPERVISOR_PROGRAM,
  renderSupervisorConfig,
  type SupervisorConfigOptions,
} from './supervisor-config.js';
export { DEFAULT_SYSTEMD_UNIT, renderSystemdUnit, type SystemdUnitOptions } from './systemd-unit.js';
export { STOP_MARGIN_SECONDS, stopWaitSeconds, workerGraceSeconds } from './worker-args.js';
export {
  ERRAND_CLI,
  type ResolvedWorkerCommand,
  resolveWorkerCommand,
  type WorkerCommandOptions,
} from './worker-command.js';
