import { ConfigError } from '../errors/config-error.js';
import { ClassRegistry } from '../registry/class-registry.js';
import type { EventClass, RegisteredListener } from './listener-options.js';

/** A listener wired to an event: a `@Listener` class, or a function given to `listen()`. */
export type Wiring =
  | { kind: 'class'; listener: RegisteredListener }
  | { kind: 'function'; fn: (event: any) => unknown };

const byEvent = new Map<Function, Wiring[]>();
const listeners = new ClassRegistry<RegisteredListener>(
  (name) => `Two listener classes are registered as [${name}]; give one a distinct name with @Listener({ name }).`,
);
const eventsByName = new Map<string, EventClass>();

function registerEvent(event: EventClass): void {
  const existing = eventsByName.get(event.name);
  if (existing && existing !== event) {
    throw new ConfigError(
      `Two event classes are named [${event.name}]; queued listeners find events by name, so rename one.`,
    );
  }
  eventsByName.set(event.name, event);
}

/** Events and their listeners, in registration order. */
export const listenerRegistry = {
  /** Registers a listener class (once) and wires it to its event. */
  addClass(listener: RegisteredListener): void {
    if (listeners.has(listener)) return;
    // Wire first: a clash of event names must leave nothing half-registered.
    this.wire(listener.event, { kind: 'class', listener });
    listeners.register(listener);
  },
  wire(event: EventClass, wiring: Wiring): void {
    registerEvent(event);
    byEvent.set(event, [...(byEvent.get(event) ?? []), wiring]);
  },
  unwire(event: EventClass, wiring: Wiring): void {
    byEvent.set(
      event,
      (byEvent.get(event) ?? []).filter((w) => w !== wiring),
    );
  },
  listenersOf(event: Function): readonly Wiring[] {
    return byEvent.get(event) ?? [];
  },
  byName(name: string): RegisteredListener | undefined {
    return listeners.byName(name);
  },
  /** Every `@Listener` class, wired to its event or not: what a worker can resolve by name. */
  classes(): RegisteredListener[] {
    return listeners.entries();
  },
  byClass(target: Function): RegisteredListener | undefined {
    return listeners.byClass(target);
  },
  eventByName(name: string): EventClass | undefined {
    return eventsByName.get(name);
  },
  /** Every event with listeners, in the order first wired. */
  events(): EventClass[] {
    return [...byEvent.entries()].filter(([, list]) => list.length > 0).map(([event]) => event as EventClass);
  },
};
