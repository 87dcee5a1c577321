import { ErrandError } from './errand-error.js';

/** A job was claimed again after using up its tries or passing its `retryUntil`. */
export class MaxAttemptsExceededError extends ErrandError {
  static forJob(displayName: string): MaxAttemptsExceededError {
    return new MaxAttemptsExceededError(`${displayName} has been attempted too many times.`);
  }
}
