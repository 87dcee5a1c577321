import type { Knex } from 'knex';

import { ConfigError } from '../errors/config-error.js';
import type { CallbackRef } from '../payload/job-payload.js';
import { type CallbackHandler, callbackRef } from './callbacks.js';
import { sendChainLink } from './chain-dispatch.js';
import { linkOf } from './chain-link.js';
import { describe } from './describe-value.js';
import { interceptedDispatch } from './dispatch-interceptor.js';
import { validateDelay } from './validate-delay.js';

/**
 * A chain being prepared: `Bus.chain([a, b, c]).onQueue('imports').catch(handler).dispatch()`.
 * Only the first job is pushed; each next one is pushed when the one before it succeeds (not
 * when it is released), and a failure ends the chain and runs the catch callbacks. An entry may
 * be a `Bus.batch(...)`: the chain goes on once that batch has run.
 */
export class PendingChain {
  private connection: string | undefined;
  private queue: string | undefined;
  private delaySeconds: number | Date | undefined;
  private readonly catches: CallbackHandler[] = [];
  private readonly jobs: object[];
  private commit: boolean | Knex.Transaction | undefined;
  private transaction: Knex.Transaction | undefined;

  constructor(jobs: readonly object[]) {
    if (!Array.isArray(jobs)) throw new ConfigError('Bus.chain(jobs): jobs must be an array.');
    this.jobs = [...jobs];
  }

  /** The connection for every job of the chain that names none. */
  onConnection(connection: string): this {
    this.connection = connection;
    return this;
  }

  /** The queue for every job of the chain that names none. */
  onQueue(queue: string): this {
    this.queue = queue;
    return this;
  }

  /** Delays the first job (unless it sets its own delay). */
  delay(delay: number | Date): this {
    this.delaySeconds = delay;
    return this;
  }

  /** Runs when a job of the chain fails for good: a job (queued) or a registered function, given the error. */
  catch(handler: CallbackHandler): this {
    this.catches.push(handler);
    return this;
  }

  /** Pushes the first job only once this transaction (default: the ambient one) commits; dropped on rollback. */
  afterCommit(transaction?: Knex.Transaction): this {
    this.commit = transaction ?? true;
    return this;
  }

  /** Inserts the first job inside the application's own transaction (the outbox pattern). */
  withTransaction(transaction: Knex.Transaction): this {
    this.transaction = transaction;
    return this;
  }

  /** Pushes the first job carrying the rest; resolves to its id (null when it waits for a commit). */
  async dispatch(): Promise<string | null> {
    if (this.jobs.length === 0) throw new ConfigError('Bus.chain([]): a chain needs at least one job.');
    const faked = interceptedDispatch({
      kind: 'chain',
      jobs: [...this.jobs],
      connection: this.connection,
      queue: this.queue,
      delay: this.delaySeconds,
    });
    if (faked) return faked;
    const links = [];
    for (const [i, job] of this.jobs.entries()) {
      if (job === null || typeof job !== 'object')
        throw new ConfigError(`Bus.chain: entry ${i} is ${describe(job)}, not a job or a batch.`);
      links.push(await linkOf(job));
    }
    const chainCatchCallbacks: CallbackRef[] = [];
    for (const handler of this.catches) chainCatchCallbacks.push(await callbackRef(handler, 'Chain .catch()'));
    if (this.delaySeconds !== undefined) links[0]!.delay = toSeconds(this.delaySeconds);
    const carry = {
      ...(this.connection ? { chainConnection: this.connection } : {}),
      ...(this.queue ? { chainQueue: this.queue } : {}),
      ...(chainCatchCallbacks.length ? { chainCatchCallbacks } : {}),
    };
    return (await sendChainLink(links, carry, { transaction: this.transaction, afterCommit: this.commit })) ?? null;
  }
}

function toSeconds(delay: number | Date): number {
  const now = Date.now();
  validateDelay('Bus.chain().delay()', delay, now);
  return delay instanceof Date ? Math.max(0, Math.ceil((delay.getTime() - now) / 1000)) : delay;
}
