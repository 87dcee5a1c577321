import type { ListenerInstance, RegisteredListener } from './listener-options.js';

/** Where a queued listener's job goes, as the listener names it; undefined parts are dispatch's defaults. */
export interface ListenerRoute {
  readonly connection?: string;
  readonly queue?: string;
}

/**
 * The one place a queued listener's connection and queue are decided, for the dispatcher that
 * pushes its job and for `event:list` that shows where it goes: the instance's `viaConnection()`
 * and `viaQueue()` beat its own `connection`/`queue` (`own`, as the dispatcher read them from the
 * instance; without it, the instance's string properties), which beat the `@Listener` options, as
 * Laravel's do. What none names is left to dispatch: the default connection and that connection's
 * configured queue.
 */
export function listenerRoute(
  listener: RegisteredListener,
  instance: Partial<Pick<ListenerInstance, 'viaConnection' | 'viaQueue'>>,
  own: ListenerRoute = stringRouteOf(instance),
): ListenerRoute {
  // An empty name means "the default", as the dispatcher has always read it.
  return {
    connection: (instance.viaConnection?.() ?? own.connection ?? listener.options.connection) || undefined,
    queue: (instance.viaQueue?.() ?? own.queue ?? listener.options.queue) || undefined,
  };
}

function stringRouteOf(instance: object): ListenerRoute {
  const { connection, queue } = instance as { connection?: unknown; queue?: unknown };
  return {
    connection: typeof connection === 'string' ? connection : undefined,
    queue: typeof queue === 'string' ? queue : undefined,
  };
}
