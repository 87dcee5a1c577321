import type { Knex } from 'knex';

import type { ChainLink, JobPayload } from '../payload/job-payload.js';
import { runtime } from '../runtime/errand.js';
import { nextInChain } from './chain-link.js';
import { sendPayload } from './dispatcher.js';
import { currentTransaction } from './transactions.js';

/** What a chain carries from job to job besides its links. */
export type ChainCarry = Pick<JobPayload, 'chainConnection' | 'chainQueue' | 'chainCatchCallbacks'>;

/**
 * Dispatches the first of `links` carrying the rest of the chain: to its own connection and
 * queue, else the chain's, else the defaults. Resolves to its id (null when it waits for a commit), or undefined when the chain is done.
 */
export async function sendChainLink(
  links: readonly ChainLink[],
  carry: ChainCarry,
  timing: { transaction?: Knex.Transaction; afterCommit?: boolean | Knex.Transaction } = {},
): Promise<string | null | undefined> {
  const next = nextInChain(carry as JobPayload, links);
  if (!next) return undefined;
  const app = await runtime();
  const connectionName = next.link.connection ?? carry.chainConnection ?? app.config.default;
  const queue = next.link.queue ?? carry.chainQueue ?? app.queues.connection(connectionName).defaultQueue;
  const afterCommit = timing.afterCommit === true ? currentTransaction() : timing.afterCommit || undefined;
  return sendPayload({ connectionName, queue, payload: next.payload, delay: next.link.delay ?? undefined, transaction: timing.transaction, afterCommit });
}
