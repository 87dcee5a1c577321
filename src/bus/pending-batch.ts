import { ConfigError } from '../errors/config-error.js';
import type { CallbackRef, ChainLink } from '../payload/job-payload.js';
import type { Batch } from './batch.js';
import { encodeBatchJobs } from './batch-jobs.js';
import type { BatchOptions } from './batch-options.js';
import { type CallbackHandler, callbackRef } from './callbacks.js';
import { type Chainable, linkOf } from './chain-link.js';
import { ChainedBatch } from './chained-batch.js';
import { type BatchSpec, dispatchBatch } from './dispatch-batch.js';
import { interceptedDispatch } from './dispatch-interceptor.js';

type Kind = 'before' | 'then' | 'catch' | 'finally' | 'progress';

/**
 * A batch being prepared: `Bus.batch([...]).then(...).catch(...).dispatch()`. Each entry is a
 * job, or an array of jobs that run as a chain inside the batch. Callbacks are jobs (queued when
 * they fire) or functions registered by name with `Bus.registerCallback`; never closures.
 */
export class PendingBatch implements Chainable {
  private batchName = '';
  private allow = false;
  private connection: string | undefined;
  private queue: string | undefined;
  private readonly handlers: Record<Kind, CallbackHandler[]> = {
    before: [],
    then: [],
    catch: [],
    finally: [],
    progress: [],
  };
  private readonly jobs: Array<object | readonly object[]>;

  constructor(jobs: ReadonlyArray<object | readonly object[]>) {
    if (!Array.isArray(jobs))
      throw new ConfigError('Bus.batch(jobs): jobs must be an array of jobs (or arrays of jobs, for chains).');
    this.jobs = [...jobs];
  }

  /** Names the batch (shown by tools; Laravel's `name`). */
  name(name: string): this {
    this.batchName = name;
    return this;
  }

  /** Runs after the batch is stored and before its jobs are pushed. */
  before(handler: CallbackHandler): this {
    return this.on('before', handler);
  }

  /** Runs once, when every job of the batch has succeeded. */
  then(handler: CallbackHandler): this {
    return this.on('then', handler);
  }

  /** Runs once, on the first job that fails for good. */
  catch(handler: CallbackHandler): this {
    return this.on('catch', handler);
  }

  /** Runs once, when every job has run (succeeded or failed for good). */
  finally(handler: CallbackHandler): this {
    return this.on('finally', handler);
  }

  /** Runs after each job succeeds (and, with allowFailures, after each final failure). */
  progress(handler: CallbackHandler): this {
    return this.on('progress', handler);
  }

  /** Keeps the batch going when jobs fail; without it the first failure cancels the batch. */
  allowFailures(allow = true): this {
    this.allow = allow;
    return this;
  }

  /** The connection for jobs (and callback jobs) that name none. */
  onConnection(connection: string): this {
    this.connection = connection;
    return this;
  }

  /** The queue for jobs (and callback jobs) that name none. */
  onQueue(queue: string): this {
    this.queue = queue;
    return this;
  }

  /** Adds more jobs before dispatch. */
  add(jobs: ReadonlyArray<object | readonly object[]>): this {
    this.jobs.push(...jobs);
    return this;
  }

  /** Stores the batch and pushes its jobs; resolves to the batch. */
  async dispatch(): Promise<Batch> {
    const { batchName: name, jobs, connection, queue, allow: allowFailures } = this;
    const faked = interceptedDispatch({ kind: 'batch', name, jobs: [...jobs], connection, queue, allowFailures });
    if (faked) return faked;
    return dispatchBatch(await this.freeze());
  }

  /** @internal The batch as a link of a chain: a ChainedBatch job. */
  async toChainLink(): Promise<ChainLink> {
    return linkOf(ChainedBatch.of(await this.freeze()));
  }

  private on(kind: Kind, handler: CallbackHandler): this {
    this.handlers[kind].push(handler);
    return this;
  }

  private async freeze(): Promise<BatchSpec> {
    const what = `Batch${this.batchName ? ` ${this.batchName}` : ''}`;
    const refs = async (kind: Kind): Promise<CallbackRef[]> => {
      const out: CallbackRef[] = [];
      for (const handler of this.handlers[kind]) out.push(await callbackRef(handler, `${what} .${kind}()`));
      return out;
    };
    const options: BatchOptions = {
      allowFailures: this.allow,
      ...(this.connection ? { connection: this.connection } : {}),
      ...(this.queue ? { queue: this.queue } : {}),
      then: await refs('then'),
      catch: await refs('catch'),
      finally: await refs('finally'),
      progress: await refs('progress'),
    };
    return {
      name: this.batchName,
      options,
      jobs: await encodeBatchJobs(this.jobs, what),
      before: await refs('before'),
    };
  }
}
