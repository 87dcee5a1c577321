import type { Knex } from 'knex';

import { dispatch } from '../bus/dispatch.js';
import { afterCommit } from '../bus/transactions.js';
import { Listener } from '../decorators/listener.js';
import { METADATA_SETTINGS, paramTypesOf } from '../decorators/param-types.js';
import { BindingResolutionError } from '../errors/binding-resolution-error.js';
import { ConfigError } from '../errors/config-error.js';
import { instanceOptions } from '../job/instance-options.js';
import type { JobOptions } from '../job/job-options.js';
import { report, runtime, track } from '../runtime/current.js';
import { CallQueuedListener } from './call-queued-listener.js';
import {
  type EventClass,
  type ListenerInstance,
  listenerJobOptions,
  type RegisteredListener,
} from './listener-options.js';
import { listenerRegistry, type Wiring } from './listener-registry.js';
import { listenerRoute } from './listener-route.js';

/** How an event is dispatched. */
export interface DispatchEventOptions {
  /**
   * The application's knex transaction the event happens in: queued listeners with `afterCommit`
   * are pushed once it commits and dropped if it rolls back.
   */
  transaction?: Knex.Transaction;
}

/** Where `Event.fake()` diverts dispatched events. */
export interface EventInterceptor {
  /** True when the event was recorded instead of dispatched. */
  intercept(event: object): boolean;
}

let interceptor: EventInterceptor | undefined;

/** @internal Installs (or removes) the fake. */
export function interceptEvents(next: EventInterceptor | undefined): void {
  interceptor = next;
}

/**
 * Sends an event to its listeners in registration order, and resolves once every synchronous
 * listener has run and every queued one has been pushed. A synchronous listener returning `false`
 * stops the rest; an error thrown by one reaches the caller (as in Laravel).
 */
export async function dispatchEvent(event: object, options: DispatchEventOptions = {}): Promise<void> {
  if (interceptor?.intercept(event)) return;
  for (const wiring of [...listenerRegistry.listenersOf(event.constructor)]) {
    if (wiring.kind === 'function') {
      if ((await wiring.fn(event)) === false) return;
      continue;
    }
    const { listener } = wiring;
    const instance = await resolveListener(listener);
    if (!listener.options.queued) {
      if ((await instance.handle(event)) === false) return;
      continue;
    }
    await queueListener(listener, instance, event, options.transaction);
  }
}

async function resolveListener(listener: RegisteredListener): Promise<ListenerInstance> {
  try {
    return (await runtime()).container.resolve(listener.target) as ListenerInstance;
  } catch (error) {
    const message = (error as Error)?.message ?? String(error);
    throw new BindingResolutionError(
      `Listener ${listener.name} could not be resolved from the container: ${message}${missingTypesHint(listener, message)}`,
      { cause: error },
    );
  }
}

/**
 * When tsyringe could not build the listener itself because its constructor's parameter types
 * were never emitted, says so and how to keep them. This is told here, at the first dispatch,
 * not by @Listener: a listener may be built by a factory registered in the container, which
 * needs no metadata, and registrations may come after the class is decorated.
 */
function missingTypesHint(listener: RegisteredListener, message: string): string {
  const target = listener.target;
  if (!message.includes(`TypeInfo not known for "${target.name}"`) || target.length === 0 || paramTypesOf(target))
    return '';
  return (
    `${message.endsWith('.') ? '' : '.'} Its constructor takes ${target.length} parameter(s) but no parameter types were emitted for it (design:paramtypes): ${METADATA_SETTINGS}` +
    ` Or register ${target.name} in the container with a factory.`
  );
}

async function queueListener(
  listener: RegisteredListener,
  instance: ListenerInstance,
  event: object,
  transaction: Knex.Transaction | undefined,
): Promise<void> {
  if (instance.shouldQueue && !(await instance.shouldQueue(event))) return;
  // What the listener sets on itself (`tries = 3`, `backoff(event)` …) wins over @Listener, as in Laravel.
  const own = instanceOptions(instance, listener.name, 'Listener', LISTENER_INSTANCE_OPTIONS, [event]);
  if ((own.afterCommit ?? listener.options.afterCommit) && transaction && !transaction.isCompleted()) {
    // Built now (the event's data is checked now), pushed on commit, dropped on rollback.
    const push = prepareListenerJob(listener, instance, event, own);
    // On the sync connection the listener runs here and now: not while the commit holds its connection.
    const runsCode = await runsOnSync(push.connection);
    afterCommit(
      transaction,
      {
        what: `Listener ${listener.name}`,
        runsCode,
        committed: async () => void (await push()),
        dropped: () => undefined,
      },
      { track, report },
    );
    return;
  }
  await prepareListenerJob(listener, instance, event, own)();
}

/** Whether a listener job sent to `connection` (default: the default connection) runs inline, on the sync driver. */
async function runsOnSync(connection: string | undefined): Promise<boolean> {
  const app = await runtime();
  try {
    return app.queues.connection(connection ?? app.config.default).runsJobsInline === true;
  } catch {
    // An unknown connection: the dispatch itself names it when it fails.
    return false;
  }
}

/** Dispatches the listener's job when called; `connection` is the one it names, if any. */
type ListenerPush = (() => Promise<unknown>) & { connection?: string };

function prepareListenerJob(
  listener: RegisteredListener,
  instance: ListenerInstance,
  event: object,
  own: Partial<JobOptions>,
): ListenerPush {
  const job = CallQueuedListener.for(listener, event);
  const { connection: _connection, queue: _queue, afterCommit: _afterCommit, ...jobOptions } = own;
  const { connection, queue } = listenerRoute(listener, instance, own);
  const delay = instance.withDelay?.(event) ?? listenerDelay(listener, instance) ?? listener.options.delay;
  const push = async () => {
    const pending = dispatch(job).options({ ...listenerJobOptions(listener.options), ...jobOptions });
    if (connection) pending.onConnection(connection);
    if (queue) pending.onQueue(queue);
    if (delay !== undefined && delay > 0) pending.delay(delay);
    return pending;
  };
  return Object.assign(push, { connection });
}

/** The options a queued listener may set on itself, as Laravel reads them from the listener object. */
const LISTENER_INSTANCE_OPTIONS = [
  'connection',
  'queue',
  'tries',
  'maxExceptions',
  'timeout',
  'failOnTimeout',
  'backoff',
  'retryUntil',
  'afterCommit',
] as const;

/** A listener's own `delay` property (Laravel's `$delay`), checked as the @Listener option is. */
function listenerDelay(listener: RegisteredListener, instance: ListenerInstance): number | undefined {
  const delay = (instance as { delay?: unknown }).delay;
  if (delay === undefined || delay === null) return undefined;
  if (typeof delay === 'function')
    throw new ConfigError(
      `Listener ${listener.name}: its delay() method is not read by errand: return the delay from withDelay(event).`,
    );
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    throw new ConfigError(
      `Listener ${listener.name}: option \`delay\` (its delay property) must be seconds ≥ 0, got ${JSON.stringify(delay) ?? typeof delay}.`,
    );
  }
  return delay;
}

/**
 * Wires a listener to an event explicitly: a listener class (decorated or not; its `@Listener`
 * options apply) or a function. Returns a function that unwires it.
 *
 * @example
 * ```ts
 * listen(OrderShipped, SendShipmentNotification);
 * listen(OrderShipped, (event) => console.log('shipped', event.orderId));
 * ```
 */
export function listen<E extends object>(
  event: EventClass<E>,
  listener: (new (...args: any[]) => { handle(event: E): unknown }) | ((event: E) => unknown),
): () => void {
  if (typeof event !== 'function') throw new ConfigError('listen(event, listener): the event must be a class.');
  let wiring: Wiring;
  const isClass =
    typeof listener === 'function' &&
    typeof (listener.prototype as { handle?: unknown } | undefined)?.handle === 'function';
  if (isClass) {
    const registered = listenerRegistry.byClass(listener);
    if (!registered) {
      Listener({ event })(listener);
      const added = listenerRegistry.byClass(listener)!;
      return () =>
        listenerRegistry.unwire(
          event,
          listenerRegistry.listenersOf(event).find((w) => w.kind === 'class' && w.listener === added)!,
        );
    }
    wiring = { kind: 'class', listener: registered };
  } else if (typeof listener === 'function') {
    wiring = { kind: 'function', fn: listener as (event: unknown) => unknown };
  } else {
    throw new ConfigError(`listen(${event.name}, …): the listener must be a class with handle(event) or a function.`);
  }
  listenerRegistry.wire(event, wiring);
  return () => listenerRegistry.unwire(event, wiring);
}
