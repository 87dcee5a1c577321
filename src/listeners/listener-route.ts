import type { ListenerInstance, RegisteredListener } from './listener-options.js';

/** Where a queued listener's job goes, as the listener names it; undefined parts are dispatch's defaults. */
export interface ListenerRoute {
  readonly connection?: string;
  readonly queue?: string;
}

/**
 * The one place a queued listener's connection and queue are decided, for the dispatcher that
 * pushes its job and for `event:list` that shows where it goes: the instance's `viaConnection()`
 * and `viaQueue()` beat the `@Listener` options (as Laravel's do). What neither names is left to
 * dispatch: the default connection and that connection's configured queue.
 */
export function listenerRoute(listener: RegisteredListener, instance: Partial<Pick<ListenerInstance, 'viaConnection' | 'viaQueue'>>): ListenerRoute {
  // An empty name means "the default", as the dispatcher has always read it.
  return {
    connection: (instance.viaConnection?.() ?? listener.options.connection) || undefined,
    queue: (instance.viaQueue?.() ?? listener.options.queue) || undefined,
  };
}
