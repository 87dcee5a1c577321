import { ErrandError } from './errand-error.js';

/** The database behind a queue connection could not be reached (names the connection and host:port). */
export class DatabaseUnreachableError extends ErrandError {}
