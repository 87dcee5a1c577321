import { ConfigError } from '../errors/config-error.js';
import { MAX_COUNT, numberProblem } from '../runtime/numeric-bounds.js';
import { JOB_OPTION_NAMES, type JobOptions } from './job-options.js';
import { validateUniqueOptions } from './validate-unique-options.js';

/**
 * Throws a ConfigError naming the job and the option when a value cannot be used. `where` adds
 * where a value was read (an option the job declares on itself: "its tries property").
 */
export function validateJobOptions(
  jobName: string,
  options: Partial<JobOptions>,
  kind = 'Job',
  where?: (option: string) => string,
): void {
  // `source` is the option a value came from, when `option` names a part of it (`backoff[1]`).
  const at = (option: string, source = option) =>
    `${kind} ${jobName}: option \`${option}\`${where ? ` (${where(source)})` : ''}`;
  for (const key of Object.keys(options)) {
    if (!JOB_OPTION_NAMES.includes(key as keyof JobOptions)) {
      throw new ConfigError(
        `Job ${jobName}: unknown option \`${key}\`; known options: ${JOB_OPTION_NAMES.join(', ')}.`,
      );
    }
  }
  // Bounded by what the jobs table and the payload hold (src/runtime/numeric-bounds.ts).
  const wholeNumber = (key: 'tries' | 'maxExceptions' | 'timeout', bounds: Parameters<typeof numberProblem>[1]) => {
    const problem = options[key] === undefined ? undefined : numberProblem(options[key], { whole: true, ...bounds });
    if (problem) throw new ConfigError(`${at(key)} ${problem}.`);
  };
  wholeNumber('tries', { max: MAX_COUNT, unit: '' });
  wholeNumber('maxExceptions', { max: MAX_COUNT, unit: '' });
  wholeNumber('timeout', {});
  for (const key of ['name', 'connection', 'queue'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new ConfigError(`${at(key)} must be a non-empty string, got ${JSON.stringify(value)}.`);
    }
  }
  if (options.queue?.includes(',')) throw new ConfigError(`${at('queue')} must not contain a comma.`);
  for (const key of ['failOnTimeout', 'deleteWhenMissingModels', 'encrypted', 'afterCommit'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean')
      throw new ConfigError(`${at(key)} must be true or false.`);
  }
  validateUniqueOptions(at, options);
  const { backoff } = options;
  if (backoff !== undefined) {
    const list = Array.isArray(backoff) ? backoff : [backoff];
    if (list.length === 0)
      throw new ConfigError(`${at('backoff')} must be seconds or a non-empty list of them, got [].`);
    for (const [i, step] of list.entries()) {
      const problem = numberProblem(step);
      if (problem)
        throw new ConfigError(`${at(Array.isArray(backoff) ? `backoff[${i}]` : 'backoff', 'backoff')} ${problem}.`);
    }
  }
  const { retryUntil } = options;
  if (
    retryUntil !== undefined &&
    !(retryUntil instanceof Date && !Number.isNaN(retryUntil.getTime())) &&
    typeof retryUntil !== 'number' &&
    typeof retryUntil !== 'function'
  ) {
    throw new ConfigError(`${at('retryUntil')} must be a Date, seconds after dispatch, or a function returning one.`);
  }
  const problem = typeof retryUntil === 'number' ? numberProblem(retryUntil) : undefined;
  if (problem) throw new ConfigError(`${at('retryUntil')} (seconds after dispatch) ${problem}.`);
}
