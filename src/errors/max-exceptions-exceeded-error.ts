import { ErrandError } from './errand-error.js';

/** A job threw as many exceptions as its `maxExceptions` allows. */
export class MaxExceptionsExceededError extends ErrandError {}
