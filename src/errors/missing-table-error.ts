import { ErrandError } from './errand-error.js';

/** A table errand needs is missing; the message tells the user to run `errand migrate`. */
export class MissingTableError extends ErrandError {}
