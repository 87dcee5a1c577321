import { ConfigError } from '../errors/config-error.js';
import { numberProblem } from '../runtime/numeric-bounds.js';
import type { JobOptions } from './job-options.js';

type UniqueOptions = Pick<JobOptions, 'unique' | 'uniqueId' | 'uniqueFor' | 'uniqueUntil'>;

/** The values `uniqueUntil` takes. */
export const UNIQUE_UNTIL = ['processing', 'done'] as const;

/** Throws a ConfigError naming the job and the option when a unique option cannot be used. */
export function validateUniqueOptions(at: (option: string) => string, options: UniqueOptions): void {
  const { unique, uniqueId, uniqueFor, uniqueUntil } = options;
  if (unique !== undefined && typeof unique !== 'boolean')
    throw new ConfigError(`${at('unique')} must be true or false.`);
  const problem = uniqueFor === undefined ? undefined : numberProblem(uniqueFor, { whole: true });
  if (problem) throw new ConfigError(`${at('uniqueFor')} ${problem} (0: the lock never expires by itself).`);
  if (uniqueUntil !== undefined && !UNIQUE_UNTIL.includes(uniqueUntil)) {
    throw new ConfigError(`${at('uniqueUntil')} must be 'processing' or 'done', got ${JSON.stringify(uniqueUntil)}.`);
  }
  if (
    uniqueId !== undefined &&
    typeof uniqueId !== 'function' &&
    typeof uniqueId !== 'string' &&
    !(typeof uniqueId === 'number' && Number.isFinite(uniqueId))
  ) {
    throw new ConfigError(
      `${at('uniqueId')} must be a function of the job returning a string or number, or a fixed string or number.`,
    );
  }
}

/**
 * A class that sets `uniqueId`, `uniqueFor` or `uniqueUntil` without `unique: true` is almost
 * certainly a mistake (those options alone do nothing); refused when the class is decorated.
 */
export function validateUniqueCombination(jobName: string, options: UniqueOptions): void {
  if (options.unique !== undefined) return;
  const stray = (['uniqueId', 'uniqueFor', 'uniqueUntil'] as const).find((key) => options[key] !== undefined);
  if (stray) throw new ConfigError(`Job ${jobName}: option \`${stray}\` does nothing without \`unique: true\`.`);
}
