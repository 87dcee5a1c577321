import type { JobOptions } from '../job/job-options.js';

/** An event class (a plain class; its instances are what listeners receive). */
export type EventClass<E extends object = object> = abstract new (...args: any[]) => E;

/** What `@Listener(...)` declares. */
export interface ListenerOptions {
  /** The event heard; default: the type of handle()'s first parameter (needs a decorator on handle(), e.g. @Inject()). */
  event?: EventClass;
  /** Run on a worker instead of inline (Laravel's ShouldQueue). */
  queued?: boolean;
  connection?: string;
  queue?: string;
  /** Seconds before a queued listener may run. */
  delay?: number;
  tries?: number;
  backoff?: number | number[];
  timeout?: number;
  maxExceptions?: number;
  /** The name stored in payloads; default the class name. */
  name?: string;
  /**
   * When a model the event holds no longer exists as the queued listener runs, delete its job
   * quietly instead of failing it (as `@Job({ deleteWhenMissingModels })` does for jobs).
   */
  deleteWhenMissingModels?: boolean;
  /**
   * When the event is dispatched inside a knex transaction (`dispatchEvent(event, { transaction })`),
   * push the listener's job only once it commits, and never if it rolls back.
   */
  afterCommit?: boolean;
}

/** The job options a queued listener's options carry over. */
export function listenerJobOptions(options: ListenerOptions): Partial<JobOptions> {
  const { tries, backoff, timeout, maxExceptions, deleteWhenMissingModels } = options;
  return Object.fromEntries(
    Object.entries({ tries, backoff, timeout, maxExceptions, deleteWhenMissingModels }).filter(
      ([, v]) => v !== undefined,
    ),
  );
}

/** A listener class registered with `@Listener`. */
export interface RegisteredListener {
  readonly name: string;
  readonly target: new (...args: any[]) => ListenerInstance;
  readonly event: EventClass;
  readonly options: Readonly<ListenerOptions>;
}

/** What a listener class may define. */
export interface ListenerInstance {
  handle(event: object, ...rest: unknown[]): unknown;
  failed?(event: object, error: Error): unknown;
  shouldQueue?(event: object): boolean | Promise<boolean>;
  viaConnection?(): string;
  viaQueue?(): string;
  withDelay?(event: object): number;
}
