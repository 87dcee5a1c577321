import { Job } from '../decorators/job.js';
import { jobContextOf } from '../job/job-context.js';
import { Queueable } from '../job/queueable.js';
import { type BatchSpec, dispatchBatch } from './dispatch-batch.js';

/**
 * The job a batch becomes inside a chain (Laravel's ChainedBatch): when its turn comes it
 * dispatches the batch and hands it the rest of the chain, which goes on once the batch has run
 * (unless the batch was cancelled).
 */
@Job({ name: 'ChainedBatch' })
export class ChainedBatch extends Queueable {
  /** The frozen batch. */
  spec!: BatchSpec;

  /** A ChainedBatch for a frozen batch. */
  static of(spec: BatchSpec): ChainedBatch {
    const job = new ChainedBatch();
    job.spec = spec;
    return job;
  }

  displayName(): string {
    return this.spec.name ? `ChainedBatch (${this.spec.name})` : 'ChainedBatch';
  }

  async handle(): Promise<void> {
    const chain = jobContextOf(this)?.chain;
    const options = { ...this.spec.options };
    if (chain && chain.links.length > 0) {
      options.chain = {
        links: chain.links,
        ...(chain.connection ? { connection: chain.connection } : {}),
        ...(chain.queue ? { queue: chain.queue } : {}),
        ...(chain.catchCallbacks?.length ? { catch: chain.catchCallbacks } : {}),
      };
      // The batch carries the rest of the chain now; this job must not dispatch it too.
      chain.links = [];
    }
    await dispatchBatch({ ...this.spec, options });
  }
}
