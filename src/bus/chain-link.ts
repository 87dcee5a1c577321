import { ConfigError } from '../errors/config-error.js';
import type { JobOptions } from '../job/job-options.js';
import { effectiveOptions, encodePayload, registeredJobOf, serializePayload } from '../payload/encode-payload.js';
import type { ChainLink, JobPayload } from '../payload/job-payload.js';
import type { Keyring } from '../payload/keyring.js';
import { runtime } from '../runtime/current.js';
import { describe } from './describe-value.js';
import type { DispatchOptions } from './dispatch-options.js';

/** Something a chain can hold besides a job: a pending batch turns itself into a link. */
export interface Chainable {
  toChainLink(): Promise<ChainLink>;
}

const isChainable = (item: object): item is Chainable => typeof (item as Partial<Chainable>).toChainLink === 'function';

/** What encoding a link needs from the runtime. */
export interface LinkEncoding {
  keyring?: Keyring;
  maxPayloadSize: number;
}

/**
 * Freezes a job into a chain link now, with its own connection and queue (a dispatch override or
 * its class option; null leaves it to the chain's), so its data is checked at dispatch.
 */
export function encodeLink(
  job: object,
  encoding: LinkEncoding,
  overrides: { connection?: string; queue?: string; delay?: number; options?: Partial<JobOptions> } = {},
): ChainLink {
  const entry = registeredJobOf(job);
  const options = effectiveOptions(entry, overrides.options ?? {}, job);
  const payload = encodePayload(job, options, { keyring: encoding.keyring, delay: overrides.delay });
  serializePayload(payload, encoding.maxPayloadSize);
  return {
    connection: overrides.connection ?? options.connection ?? null,
    queue: overrides.queue ?? options.queue ?? null,
    delay: overrides.delay ?? null,
    payload,
  };
}

/** A job (or pending batch) as a chain link, encoded with the booted runtime's key and limits. */
export async function linkOf(item: object): Promise<ChainLink> {
  if (isChainable(item)) return item.toChainLink();
  const app = await runtime();
  return encodeLink(item, { keyring: app.config.keyring, maxPayloadSize: app.config.maxPayloadSize });
}

/** The chain keys a dispatch adds to its first job's payload. */
export async function chainKeys(dispatch: DispatchOptions): Promise<Partial<JobPayload>> {
  const chained: ChainLink[] = [];
  for (const item of dispatch.chain ?? []) {
    if (item === null || typeof item !== 'object')
      throw new ConfigError(`A chain holds jobs and batches; got ${describe(item)}.`);
    chained.push(await linkOf(item));
  }
  // A link's connection is used only when the link before it finishes, in a worker: an unknown
  // name is refused now, while the caller can see it, rather than ending the chain there.
  const { queues } = await runtime();
  if (dispatch.chainConnection) queues.configOf(dispatch.chainConnection);
  for (const link of chained) {
    if (link.connection === null) continue;
    try {
      queues.configOf(link.connection);
    } catch (error) {
      throw new ConfigError(`The chained job ${link.payload.displayName}: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }
  return {
    ...(chained.length > 0 ? { chained } : {}),
    ...(dispatch.chainConnection ? { chainConnection: dispatch.chainConnection } : {}),
    ...(dispatch.chainQueue ? { chainQueue: dispatch.chainQueue } : {}),
    ...(dispatch.chainCatch?.length ? { chainCatchCallbacks: dispatch.chainCatch } : {}),
  };
}

/**
 * The payload of the next job of a chain: its own frozen payload carrying the rest of the chain,
 * and where it goes (its own connection and queue, else the chain's).
 */
export function nextInChain(
  current: JobPayload,
  links: readonly ChainLink[],
): { link: ChainLink; payload: JobPayload } | undefined {
  const [link, ...rest] = links;
  if (!link) return undefined;
  const payload: JobPayload = {
    ...link.payload,
    ...(rest.length > 0 ? { chained: rest } : {}),
    ...(current.chainConnection ? { chainConnection: current.chainConnection } : {}),
    ...(current.chainQueue ? { chainQueue: current.chainQueue } : {}),
    ...(current.chainCatchCallbacks?.length ? { chainCatchCallbacks: current.chainCatchCallbacks } : {}),
  };
  if (rest.length === 0) delete payload.chained;
  return { link, payload };
}
