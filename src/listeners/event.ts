import { EventFake } from '../testing/event-fake.js';
import { dispatchEvent, interceptEvents } from './event-dispatcher.js';
import type { EventClass } from './listener-options.js';

let fake: EventFake | undefined;

/**
 * An optional base class for application events: `await OrderShipped.dispatch(order)`. Events are
 * plain classes; their model properties are stored as identifiers when a queued listener hears
 * them, the rest as plain data (as a job's).
 */
export abstract class Event {
  /** Creates the event with these arguments and dispatches it to its listeners. */
  static dispatch<C extends new (...args: any[]) => object>(this: C, ...args: ConstructorParameters<C>): Promise<void> {
    return dispatchEvent(new this(...args));
  }

  /**
   * Records dispatched events instead of running listeners: all of them, or only those of the
   * given classes (the others are dispatched as usual). Undo with `Event.restore()`.
   */
  static fake(only?: EventClass[]): EventFake {
    fake = new EventFake(only);
    interceptEvents(fake);
    return fake;
  }

  /** Removes the fake installed by `Event.fake()`. */
  static restore(): void {
    fake = undefined;
    interceptEvents(undefined);
  }
}
