import { closestName } from '../../config/closest-name.js';
import type { ResolvedConfig } from '../../config/config-types.js';
import { ConfigError } from '../../errors/config-error.js';
import { INSTANCE_OPTION_NAMES } from '../../job/instance-options.js';
import { jobRegistry, type RegisteredJob } from '../../job/job-registry.js';
import { decodeJob, parsePayload } from '../../payload/decode-payload.js';
import { effectiveOptions, encodePayload, serializePayload } from '../../payload/encode-payload.js';
import { restoreInstance } from '../../payload/restore-instance.js';
import type { PushItem } from './parse-push-body.js';
import { PushError } from './push-error.js';

/**
 * errand's own carriers: a queued listener's call and a chain's batch step. Each runs code its
 * data names (a listener, a batch of jobs), so over HTTP they would bypass both the registry's
 * allow-list and `api.jobs`; they are never pushable.
 */
export const INTERNAL_JOBS: readonly string[] = ['CallQueuedListener', 'ChainedBatch'];

/**
 * Data keys a dispatch reads as the job's options, not its data (a `tries` property, a
 * `uniqueId`): from a remote sender they would lift its retries and timeouts or step out of its
 * unique lock, so they are refused. The queue and connection come from the URL.
 */
const OPTION_KEYS: readonly string[] = [...INSTANCE_OPTION_NAMES, 'uniqueId', 'delay'];

/** A pushed job ready to dispatch: its class's entry and the instance rebuilt from its data. */
export interface PushedJob {
  readonly item: PushItem;
  readonly entry: RegisteredJob;
  readonly instance: object;
}

/**
 * Rebuilds the job a push names the way a worker does (the registry by name, an instance made
 * without its constructor and filled by class-transformer), then proves a worker could run it:
 * the payload dispatch would store is encoded, parsed and decoded again, with the same limits and
 * keys. A job that would fail undecoded on the worker is refused here (422) instead.
 */
export function buildPushedJob(item: PushItem, config: ResolvedConfig): PushedJob {
  const entry = INTERNAL_JOBS.includes(item.job) ? undefined : jobRegistry.byName(item.job);
  if (!entry || (config.api.jobs !== undefined && !config.api.jobs.includes(item.job))) {
    throw unknownJob(item, config, entry !== undefined);
  }
  const option = Object.keys(item.data).find((key) => OPTION_KEYS.includes(key));
  if (option !== undefined) {
    throw new PushError(
      422,
      `${item.at}.data.${option} would set the job's \`${option}\` option, which a push cannot: options come from the job class (@Job)${option === 'delay' ? '; send "delay" beside "data"' : ''}.`,
    );
  }
  let instance: object;
  try {
    instance = restoreInstance(Object.create(entry.target.prototype) as object, item.data);
  } catch (error) {
    throw new PushError(
      422,
      `${item.at}: the data of ${entry.name} could not be restored: ${(error as Error).message}`,
    );
  }
  try {
    const options = effectiveOptions(entry, {}, instance);
    const payload = encodePayload(instance, options, { delay: item.delay, keyring: config.keyring });
    const text = serializePayload(payload, config.maxPayloadSize);
    decodeJob(parsePayload(text, config.maxPayloadSize), config.keyring);
  } catch (error) {
    // A class option the application got wrong (an encrypted job without ERRAND_KEY) is the server's fault, not the sender's.
    if (error instanceof ConfigError)
      throw new PushError(500, `${item.at}: ${entry.name} cannot be queued here: ${error.message}`);
    throw new PushError(422, `${item.at}: ${entry.name} would not decode on a worker: ${(error as Error).message}`);
  }
  return { item, entry, instance };
}

function unknownJob(item: PushItem, config: ResolvedConfig, registeredButNotAllowed: boolean): PushError {
  if (registeredButNotAllowed) {
    return new PushError(
      404,
      `${item.at}.job [${item.job}] may not be pushed over HTTP: it is not in api.jobs.`,
      'api.jobs',
    );
  }
  const names = (config.api.jobs ?? jobRegistry.entries().map((entry) => entry.name)).filter(
    (name) => !INTERNAL_JOBS.includes(name),
  );
  const closest = closestName(item.job, names);
  if (INTERNAL_JOBS.includes(item.job)) {
    return new PushError(
      404,
      `${item.at}.job [${item.job}] is errand's own carrier job and is never pushed over HTTP.`,
    );
  }
  const hint = closest
    ? ` Did you mean [${closest}]?`
    : names.length === 0
      ? " No job is registered in this process: import the job classes (the config's `bootstrap`) where the dashboard runs."
      : '';
  return new PushError(
    404,
    `${item.at}.job: unknown job [${item.job}]: no class is registered under that name.${hint}`,
  );
}
