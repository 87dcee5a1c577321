import { plainToClassFromExist } from 'class-transformer';

import type { ModelIdentifier } from '../contracts/model-resolver.js';
import { Job } from '../decorators/job.js';
import type { ModelNotFoundError } from '../errors/model-not-found-error.js';
import { PayloadError } from '../errors/payload-error.js';
import { jobContextOf } from '../job/job-context.js';
import { Queueable } from '../job/queueable.js';
import { identifyModels, loadModels } from '../payload/model-identifiers.js';
import { toPlainData } from '../payload/plain-data.js';
import { runtime } from '../runtime/current.js';
import type { ListenerInstance, RegisteredListener } from './listener-options.js';
import { listenerRegistry } from './listener-registry.js';

/**
 * The job a queued listener travels in (Laravel's CallQueuedListener): the listener's name, the
 * event's class name, its plain data and its models as identifiers. On the worker the event is
 * rebuilt (models read fresh), the listener resolved from the container, and `handle(event)` run;
 * after the last attempt, the listener's `failed(event, error)`. A model of the event that is gone
 * fails the job, naming it, or deletes it quietly when the listener has `deleteWhenMissingModels`.
 */
@Job({ name: 'CallQueuedListener' })
export class CallQueuedListener extends Queueable {
  listener!: string;
  event!: string;
  data!: Record<string, unknown>;
  models?: Record<string, ModelIdentifier>;
  /**
   * The listener's `deleteWhenMissingModels`, copied at dispatch: the event's models are loaded
   * inside this job's handle(), not by the worker's model step, so the job itself decides what a
   * missing one means. Named apart from the job option, which a job's own property would set (and
   * which is then kept out of the job's data).
   */
  deleteWhenEventModelsMissing?: true;

  /** The job for one listener hearing one event; the event's data is checked as a job's is. */
  static for(listener: RegisteredListener, event: object): CallQueuedListener {
    const eventName = event.constructor.name;
    const models = identifyModels(event, `Event ${eventName}`);
    const job = new CallQueuedListener();
    job.listener = listener.name;
    job.event = eventName;
    job.data = toPlainData(event, eventName, { kind: 'Event', skip: new Set(Object.keys(models ?? {})) });
    if (models) job.models = models;
    if (listener.options.deleteWhenMissingModels === true) job.deleteWhenEventModelsMissing = true;
    return job;
  }

  /** The worker's lines and failed_jobs name the listener, not this carrier. */
  displayName(): string {
    return this.listener;
  }

  async handle(): Promise<void> {
    let restored: Awaited<ReturnType<CallQueuedListener['restore']>>;
    try {
      restored = await this.restore();
    } catch (error) {
      // An unknown listener or event will not become known on the next attempt.
      if (error instanceof PayloadError) return this.fail(error);
      throw error;
    }
    const { listener, event, missing } = restored;
    if (missing) return this.deleteWhenEventModelsMissing === true ? this.delete() : this.fail(missing);
    const container = jobContextOf(this)?.container ?? (await runtime()).container;
    const instance = container.resolve(listener.target) as ListenerInstance;
    await instance.handle(event);
  }

  async failed(error: Error): Promise<void> {
    // Nothing to call when the listener or event is unknown here (that is why it failed).
    if (!listenerRegistry.byName(this.listener) || !listenerRegistry.eventByName(this.event)) return;
    const { listener, event } = await this.restore();
    const instance = (await runtime()).container.resolve(listener.target) as ListenerInstance;
    await instance.failed?.(event, error);
  }

  private async restore(): Promise<{
    listener: RegisteredListener;
    event: object;
    missing: ModelNotFoundError | undefined;
  }> {
    const listener = listenerRegistry.byName(this.listener);
    if (!listener) {
      throw new PayloadError(
        `Unknown listener [${this.listener}]: import it (with @Listener) from the bootstrap or the configured listener paths.`,
      );
    }
    const type = listenerRegistry.eventByName(this.event);
    if (!type)
      throw new PayloadError(
        `Unknown event [${this.event}] for listener ${this.listener}: no listener in this process hears it.`,
      );
    const event = plainToClassFromExist(Object.create(type.prototype as object) as object, this.data ?? {});
    const missing = await loadModels(event, this.models, `Event ${this.event}`);
    return { listener, event, missing };
  }
}
