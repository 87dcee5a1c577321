import { ErrandError } from './errand-error.js';

/** The configuration names something that does not exist or holds a value errand cannot use. */
export class ConfigError extends ErrandError {}
