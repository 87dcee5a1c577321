import type { Knex } from 'knex';
import { ownProperty } from '../config/own-property.js';
import { jobRegistry } from '../job/job-registry.js';
import type { ChainLink, JobPayload } from '../payload/job-payload.js';
import { runtime } from '../runtime/current.js';
import { nextInChain } from './chain-link.js';
import type { PayloadTarget } from './dispatch-options.js';
import { sendPayload, transactionTiming } from './dispatcher.js';

/** What a chain carries from job to job besides its links. */
export type ChainCarry = Pick<JobPayload, 'chainConnection' | 'chainQueue' | 'chainCatchCallbacks'>;

/**
 * The first of `links` as a push: its payload carrying the rest of the chain, to its own
 * connection and queue, else the chain's, else the defaults; undefined when the chain is done.
 */
export async function nextChainTarget(
  links: readonly ChainLink[],
  carry: ChainCarry,
): Promise<PayloadTarget | undefined> {
  const next = nextInChain(carry as JobPayload, links);
  if (!next) return undefined;
  const app = await runtime();
  const connectionName = next.link.connection ?? carry.chainConnection ?? app.config.default;
  const queue = next.link.queue ?? carry.chainQueue ?? app.queues.connection(connectionName).defaultQueue;
  return { connectionName, queue, payload: next.payload, delay: next.link.delay ?? undefined };
}

/**
 * Dispatches the first of `links` carrying the rest of the chain. `timing` follows the rules of
 * a dispatch (the job's and the connection's `afterCommit` included). Resolves to its id (null
 * when it waits for a commit), or undefined when the chain is done.
 */
export async function sendChainLink(
  links: readonly ChainLink[],
  carry: ChainCarry,
  timing: { transaction?: Knex.Transaction; afterCommit?: boolean | Knex.Transaction } = {},
): Promise<string | null | undefined> {
  const target = await nextChainTarget(links, carry);
  if (!target) return undefined;
  const app = await runtime();
  const options = jobRegistry.byName(target.payload.data.commandName)?.options ?? {};
  const when = transactionTiming(
    target.payload.displayName,
    { options: {}, ...timing },
    options,
    ownProperty(app.config.connections, target.connectionName),
  );
  return sendPayload({ ...target, ...when });
}
