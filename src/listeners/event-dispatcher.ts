import type { Knex } from 'knex';

import { dispatch } from '../bus/dispatch.js';
import { afterCommit } from '../bus/transactions.js';
import { BindingResolutionError } from '../errors/binding-resolution-error.js';
import { ConfigError } from '../errors/config-error.js';
import { Listener } from '../decorators/listener.js';
import { runtime } from '../runtime/errand.js';
import { CallQueuedListener } from './call-queued-listener.js';
import { listenerJobOptions, type EventClass, type ListenerInstance, type RegisteredListener } from './listener-options.js';
import { listenerRegistry, type Wiring } from './listener-registry.js';

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
    throw new BindingResolutionError(`Listener ${listener.name} could not be resolved from the container: ${(error as Error).message}`, { cause: error });
  }
}

async function queueListener(listener: RegisteredListener, instance: ListenerInstance, event: object, transaction: Knex.Transaction | undefined): Promise<void> {
  if (instance.shouldQueue && !(await instance.shouldQueue(event))) return;
  if (listener.options.afterCommit && transaction && !transaction.isCompleted()) {
    // Built now (the event's data is checked now), pushed on commit, dropped on rollback.
    const push = prepareListenerJob(listener, instance, event);
    afterCommit(transaction, { what: `Listener ${listener.name}`, committed: async () => void (await push()), dropped: () => undefined });
    return;
  }
  await prepareListenerJob(listener, instance, event)();
}

function prepareListenerJob(listener: RegisteredListener, instance: ListenerInstance, event: object): () => Promise<unknown> {
  const job = CallQueuedListener.for(listener, event);
  const connection = instance.viaConnection?.() ?? listener.options.connection;
  const queue = instance.viaQueue?.() ?? listener.options.queue;
  const delay = instance.withDelay?.(event) ?? listener.options.delay;
  return async () => {
    const pending = dispatch(job).options(listenerJobOptions(listener.options));
    if (connection) pending.onConnection(connection);
    if (queue) pending.onQueue(queue);
    if (delay !== undefined && delay > 0) pending.delay(delay);
    return pending;
  };
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
export function listen<E extends object>(event: EventClass<E>, listener: (new (...args: any[]) => { handle(event: E): unknown }) | ((event: E) => unknown)): () => void {
  if (typeof event !== 'function') throw new ConfigError('listen(event, listener): the event must be a class.');
  let wiring: Wiring;
  const isClass = typeof listener === 'function' && typeof (listener.prototype as { handle?: unknown } | undefined)?.handle === 'function';
  if (isClass) {
    const registered = listenerRegistry.byClass(listener);
    if (!registered) {
      Listener({ event })(listener);
      const added = listenerRegistry.byClass(listener)!;
      return () => listenerRegistry.unwire(event, listenerRegistry.listenersOf(event).find((w) => w.kind === 'class' && w.listener === added)!);
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
