import { ErrandError } from './errand-error.js';

/** A job ran longer than its timeout. */
export class TimeoutExceededError extends ErrandError {
  static forJob(displayName: string, seconds: number): TimeoutExceededError {
    return new TimeoutExceededError(`${displayName} has timed out (after ${seconds}s).`);
  }
}
