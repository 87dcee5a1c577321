import { ErrandError } from './errand-error.js';

/** Something needed errand's runtime after `shutdown()` (or before `boot()` could run). */
export class NotBootedError extends ErrandError {}
