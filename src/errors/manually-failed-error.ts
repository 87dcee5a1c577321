import { ErrandError } from './errand-error.js';

/** What `this.fail()` records when it is given a message or nothing instead of an Error. */
export class ManuallyFailedError extends ErrandError {}
