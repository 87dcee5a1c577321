import { ErrandError } from './errand-error.js';

/**
 * A service `handle()` asks for could not be resolved from the container. The job fails at once:
 * retrying cannot register a missing binding.
 */
export class BindingResolutionError extends ErrandError {}
