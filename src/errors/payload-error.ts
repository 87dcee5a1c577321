import { ErrandError } from './errand-error.js';

/** A job could not be encoded at dispatch, or a stored payload could not be decoded on the worker. */
export class PayloadError extends ErrandError {}
