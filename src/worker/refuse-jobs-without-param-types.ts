import { METADATA_SETTINGS } from '../decorators/param-types.js';
import { ConfigError } from '../errors/config-error.js';
import { jobRegistry } from '../job/job-registry.js';

/**
 * Refuses to start a worker while a registered job's `handle()` takes services it has no types
 * for (recorded by `@Job`): every attempt of such a job would fail, so one error at start, naming
 * every such class, beats a failed row per job. A class registered after the worker started
 * (imported lazily) is caught by the same check when its attempt resolves `handle()`'s services.
 */
export function refuseJobsWithoutParamTypes(): void {
  const faulty = jobRegistry.entries().filter((entry) => entry.paramTypesProblem);
  if (faulty.length === 0) return;
  const named = faulty.map((entry) => {
    const className = entry.target.name || 'anonymous';
    return `${entry.name === className ? `Job ${entry.name}` : `Job ${entry.name} (class ${className})`}: ${entry.paramTypesProblem}`;
  });
  throw new ConfigError(
    `The worker cannot start: ${faulty.length === 1 ? 'a job' : `${faulty.length} jobs`} cannot have ${faulty.length === 1 ? 'its' : 'their'} ` +
      `handle() services resolved. ${named.join('; ')}. Put @Inject() on handle(), and ${METADATA_SETTINGS}`,
  );
}
