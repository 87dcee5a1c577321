import { ConfigError } from '../errors/config-error.js';
import { JOB_OPTION_NAMES, type JobOptions } from './job-options.js';
import { validateUniqueOptions } from './validate-unique-options.js';

/**
 * Throws a ConfigError naming the job and the option when a value cannot be used. `where` adds
 * where a value was read (an option the job declares on itself: "its tries property").
 */
export function validateJobOptions(jobName: string, options: Partial<JobOptions>, kind = 'Job', where?: (option: string) => string): void {
  const at = (option: string) => `${kind} ${jobName}: option \`${option}\`${where ? ` (${where(option)})` : ''}`;
  for (const key of Object.keys(options)) {
    if (!JOB_OPTION_NAMES.includes(key as keyof JobOptions)) {
      throw new ConfigError(`Job ${jobName}: unknown option \`${key}\`; known options: ${JOB_OPTION_NAMES.join(', ')}.`);
    }
  }
  const wholeNumber = (key: 'tries' | 'maxExceptions' | 'timeout') => {
    const value = options[key];
    if (value !== undefined && (!Number.isInteger(value) || value < 0)) {
      throw new ConfigError(`${at(key)} must be a whole number ≥ 0, got ${JSON.stringify(value)}.`);
    }
  };
  wholeNumber('tries');
  wholeNumber('maxExceptions');
  wholeNumber('timeout');
  for (const key of ['name', 'connection', 'queue'] as const) {
    const value = options[key];
    if (value !== undefined && (typeof value !== 'string' || value === '')) {
      throw new ConfigError(`${at(key)} must be a non-empty string, got ${JSON.stringify(value)}.`);
    }
  }
  if (options.queue?.includes(',')) throw new ConfigError(`${at('queue')} must not contain a comma.`);
  for (const key of ['failOnTimeout', 'deleteWhenMissingModels', 'encrypted', 'afterCommit'] as const) {
    if (options[key] !== undefined && typeof options[key] !== 'boolean') throw new ConfigError(`${at(key)} must be true or false.`);
  }
  validateUniqueOptions(at, options);
  const { backoff } = options;
  if (backoff !== undefined) {
    const list = Array.isArray(backoff) ? backoff : [backoff];
    if (list.length === 0 || list.some((s) => typeof s !== 'number' || !Number.isFinite(s) || s < 0)) {
      throw new ConfigError(`${at('backoff')} must be seconds ≥ 0 or a non-empty list of them, got ${JSON.stringify(backoff)}.`);
    }
  }
  const { retryUntil } = options;
  if (
    retryUntil !== undefined &&
    !(retryUntil instanceof Date && !Number.isNaN(retryUntil.getTime())) &&
    !(typeof retryUntil === 'number' && retryUntil >= 0) &&
    typeof retryUntil !== 'function'
  ) {
    throw new ConfigError(`${at('retryUntil')} must be a Date, seconds after dispatch, or a function returning one.`);
  }
}
