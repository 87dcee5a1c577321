import { AssertionError } from 'node:assert';
import { inspect } from 'node:util';

import type { EventClass } from '../listeners/listener-options.js';
import { listenerRegistry } from '../listeners/listener-registry.js';

type Predicate<E> = (event: E) => boolean;

function fail(message: string): never {
  throw new AssertionError({ message });
}

/**
 * What `Event.fake()` returns: the events dispatched while it is installed, and assertions about
 * them that throw `AssertionError` (vitest, jest and node:test all report those).
 */
export class EventFake {
  private readonly recorded: object[] = [];

  constructor(private readonly only?: readonly EventClass[]) {}

  /** @internal */
  intercept(event: object): boolean {
    if (this.only && this.only.length > 0 && !this.only.some((type) => event instanceof type)) return false;
    this.recorded.push(event);
    return true;
  }

  /** The recorded events of a class (matching `predicate`, if given), in dispatch order. */
  dispatched<E extends object>(type: EventClass<E>, predicate?: Predicate<E>): E[] {
    return this.recorded.filter((event): event is E => event instanceof type && (!predicate || predicate(event as E)));
  }

  /** At least one event of the class (matching `predicate`) was dispatched. */
  assertDispatched<E extends object>(type: EventClass<E>, predicate?: Predicate<E>): void {
    if (this.dispatched(type, predicate).length > 0) return;
    const all = this.dispatched(type);
    fail(
      predicate && all.length > 0
        ? `The expected [${type.name}] event was not dispatched: ${all.length} were, none matching the predicate: ${inspect(all, { depth: 2 })}.`
        : `The expected [${type.name}] event was not dispatched.${this.summary()}`,
    );
  }

  /** Exactly `times` events of the class were dispatched. */
  assertDispatchedTimes(type: EventClass, times: number): void {
    const count = this.dispatched(type).length;
    if (count !== times) fail(`The expected [${type.name}] event was dispatched ${count} time(s) instead of ${times}.`);
  }

  /** No event of the class (matching `predicate`) was dispatched. */
  assertNotDispatched<E extends object>(type: EventClass<E>, predicate?: Predicate<E>): void {
    const found = this.dispatched(type, predicate);
    if (found.length > 0)
      fail(
        `The unexpected [${type.name}] event was dispatched ${found.length} time(s): ${inspect(found, { depth: 2 })}.`,
      );
  }

  /** Nothing was dispatched at all. */
  assertNothingDispatched(): void {
    if (this.recorded.length > 0) fail(`${this.recorded.length} unexpected event(s) were dispatched:${this.summary()}`);
  }

  /** `listener` (a class or a function given to listen()) is wired to `event`. */
  assertListening(event: EventClass, listener: Function): void {
    const wired = listenerRegistry
      .listenersOf(event)
      .some((w) => (w.kind === 'class' ? w.listener.target === listener : w.fn === listener));
    if (!wired) {
      const names = listenerRegistry
        .listenersOf(event)
        .map((w) => (w.kind === 'class' ? w.listener.name : w.fn.name || 'a function'));
      fail(
        `Event [${event.name}] does not have the [${listener.name || 'given'}] listener attached to it. Its listeners: ${names.join(', ') || '(none)'}.`,
      );
    }
  }

  private summary(): string {
    if (this.recorded.length === 0) return ' No events were dispatched.';
    const counts = new Map<string, number>();
    for (const event of this.recorded)
      counts.set(event.constructor.name, (counts.get(event.constructor.name) ?? 0) + 1);
    return ` Dispatched: ${[...counts].map(([name, n]) => `${name} ×${n}`).join(', ')}.`;
  }
}
