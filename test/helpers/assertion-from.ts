import { AssertionError } from 'node:assert';

import { expect } from 'vitest';

/** The AssertionError `fn` throws; fails the test when it throws something else or nothing. */
export function assertionFrom(fn: () => unknown): AssertionError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AssertionError);
    return error as AssertionError;
  }
  throw new Error('expected an AssertionError, none was thrown');
}
