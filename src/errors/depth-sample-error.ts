import { ErrandError } from './errand-error.js';

/**
 * The depth gauges could not sample a connection, the failed-jobs store or the sampler lease: the
 * message names which (and a server's host:port). Given to the config's `report` once per outage,
 * not at every interval; the gauges of what failed are left out meanwhile.
 */
export class DepthSampleError extends ErrandError {}
