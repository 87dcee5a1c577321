import { AssertionError } from 'node:assert';

import { container, type DependencyContainer } from 'tsyringe';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { describeListeners } from '../../src/console/commands/event-list-command.js';
import { Inject } from '../../src/decorators/inject.js';
import { Listener } from '../../src/decorators/listener.js';
import { BindingResolutionError } from '../../src/errors/binding-resolution-error.js';
import { ConfigError } from '../../src/errors/config-error.js';
import { PayloadError } from '../../src/errors/payload-error.js';
import { JobQueued } from '../../src/events/job-queued.js';
import { CallQueuedListener } from '../../src/listeners/call-queued-listener.js';
import { Event } from '../../src/listeners/event.js';
import { dispatchEvent, listen } from '../../src/listeners/event-dispatcher.js';
import { listenerRegistry } from '../../src/listeners/listener-registry.js';
import { boot, shutdown } from '../../src/runtime/boot.js';
import { events } from '../../src/runtime/current.js';
import { EventFake } from '../../src/testing/event-fake.js';

/*
 * Events and listeners without a database: queued listeners go to the `null` driver (observed
 * through JobQueued) or run inline through the `sync` one. @Listener wiring is process-wide and
 * permanent, so every test declares its own event classes (event and listener names must be
 * unique in this file) and unwires what it wires with listen().
 */

/** A service listeners get through constructor injection. */
class Greetings {
  constructor(readonly word: string) {}
  greet(name: string): string {
    return `${this.word}, ${name}`;
  }
}

/** Runs fn and returns what it threw, checking it is node's AssertionError. */
function assertionMessage(fn: () => void): string {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(AssertionError);
    return (error as AssertionError).message;
  }
  throw new Error('expected an AssertionError, nothing was thrown');
}

/** Runs fn and returns the error it threw (sync). */
function thrownBy(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, nothing was thrown');
}

/** Records the JobQueued events (pushes) while installed. */
function recordPushes(): { pushes: JobQueued[]; stop: () => void } {
  const pushes: JobQueued[] = [];
  const stop = events.on(JobQueued, (event) => void pushes.push(event));
  return { pushes, stop };
}

let scope: DependencyContainer;
const unwires: Array<() => void> = [];
/** Wires with listen() and unwires after the test. */
function wire<E extends object>(
  event: abstract new (...args: any[]) => E,
  listener: Parameters<typeof listen<E>>[1],
): () => void {
  const unwire = listen(event, listener);
  unwires.push(unwire);
  return unwire;
}

afterEach(() => {
  Event.restore();
  while (unwires.length > 0) unwires.pop()!();
});

describe('@Listener', () => {
  it("wires the class to handle()'s first parameter type (with @Inject() on handle())", () => {
    class ByTypeShipped extends Event {}
    @Listener()
    class ByTypeListener {
      @Inject()
      handle(_event: ByTypeShipped) {}
    }
    const registered = listenerRegistry.byClass(ByTypeListener);
    expect(registered?.event).toBe(ByTypeShipped);
    expect(registered?.name).toBe('ByTypeListener');
    expect(listenerRegistry.byName('ByTypeListener')?.target).toBe(ByTypeListener);
    expect(listenerRegistry.listenersOf(ByTypeShipped)).toEqual([{ kind: 'class', listener: registered }]);
    expect(listenerRegistry.eventByName('ByTypeShipped')).toBe(ByTypeShipped);
  });

  it('wires the class to options.event without any decorator on handle(), under options.name if given', () => {
    class NamedShipped {}
    @Listener({ event: NamedShipped, name: 'shipping.Notify' })
    class ByOptionListener {
      handle(_event: NamedShipped) {}
    }
    const registered = listenerRegistry.byClass(ByOptionListener);
    expect(registered?.event).toBe(NamedShipped);
    expect(registered?.name).toBe('shipping.Notify');
    expect(listenerRegistry.byName('shipping.Notify')?.target).toBe(ByOptionListener);
  });

  it('options.event wins over the parameter type', () => {
    class ParamEvent {}
    class OptionEvent {}
    @Listener({ event: OptionEvent })
    class OptionWinsListener {
      @Inject()
      handle(_event: ParamEvent) {}
    }
    expect(listenerRegistry.byClass(OptionWinsListener)?.event).toBe(OptionEvent);
    expect(listenerRegistry.listenersOf(ParamEvent)).toEqual([]);
  });

  it('refuses, naming the listener, when it cannot tell which event handle() hears', () => {
    class Untyped {}
    const noDecorator = thrownBy(() => {
      @Listener()
      class NoTypeListener {
        handle(_event: Untyped) {}
      }
      return NoTypeListener;
    });
    expect(noDecorator).toBeInstanceOf(ConfigError);
    expect(noDecorator.message).toBe(
      'Listener NoTypeListener: cannot tell which event handle() hears. Type its first parameter with the event class and put a decorator on handle() ' +
        '(@Inject() does), so TypeScript emits the type, or name it: @Listener({ event: OrderShipped }).',
    );

    const primitive = thrownBy(() => {
      @Listener()
      class StringParamListener {
        @Inject()
        handle(_event: string) {}
      }
      return StringParamListener;
    });
    expect(primitive).toBeInstanceOf(ConfigError);
    expect(primitive.message).toMatch(/^Listener StringParamListener: cannot tell which event handle\(\) hears\./);

    const noParameter = thrownBy(() => {
      @Listener()
      class NoParamListener {
        @Inject()
        handle() {}
      }
      return NoParamListener;
    });
    expect(noParameter).toBeInstanceOf(ConfigError);
    expect(noParameter.message).toMatch(/^Listener NoParamListener: cannot tell which event/);

    expect(() =>
      Listener({ event: 'OrderShipped' as never })(
        class NotAClassEventListener {
          handle() {}
        },
      ),
    ).toThrow('Listener NotAClassEventListener: cannot tell which event handle() hears.');
    expect(listenerRegistry.byName('NoTypeListener')).toBeUndefined();
    expect(listenerRegistry.byName('StringParamListener')).toBeUndefined();
  });

  it('refuses a class without handle(), naming it', () => {
    class HandleLess {}
    const error = thrownBy(() => Listener({ event: HandleLess })(class NoHandleListener {}));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe('Listener NoHandleListener has no handle(event) method.');
  });

  it.each([
    [{ tries: -1 }, 'Listener BadOptionListener: option `tries` must be a whole number from 0 to 2147483647, got -1.'],
    [
      { timeout: 1.5 },
      'Listener BadOptionListener: option `timeout` must be a whole number of seconds from 0 to 2147483647, got 1.5.',
    ],
    [
      { maxExceptions: -2 },
      'Listener BadOptionListener: option `maxExceptions` must be a whole number from 0 to 2147483647, got -2.',
    ],
    [
      { backoff: [1, -2] },
      'Listener BadOptionListener: option `backoff[1]` must be a number of seconds from 0 to 2147483647, got -2.',
    ],
    [{ queue: 'a,b' }, 'Listener BadOptionListener: option `queue` must not contain a comma.'],
    [{ connection: '' }, 'Listener BadOptionListener: option `connection` must be a non-empty string, got "".'],
    [
      { delay: -1 },
      'Listener BadOptionListener: option `delay` must be a number of seconds from 0 to 2147483647, got -1.',
    ],
    [
      { delay: 1e12 },
      'Listener BadOptionListener: option `delay` must be a number of seconds from 0 to 2147483647, got 1000000000000.',
    ],
    [
      { tris: 3 },
      'Listener BadOptionListener: unknown option `tris`; known options: event, queued, connection, queue, delay, tries, backoff, timeout, maxExceptions, deleteWhenMissingModels, name, afterCommit.',
    ],
    [{ afterCommit: 'yes' }, 'Listener BadOptionListener: option `afterCommit` must be true or false.'],
  ])('refuses the options %j with a ConfigError naming the listener', (options, message) => {
    class BadOptionEvent {}
    const error = thrownBy(() =>
      Listener({ event: BadOptionEvent, ...(options as object) })(
        class BadOptionListener {
          handle() {}
        },
      ),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain(message);
    expect(listenerRegistry.byName('BadOptionListener')).toBeUndefined();
  });

  it('refuses an anonymous class without a name, and a second class under a taken name', () => {
    class AnonEvent {}
    const anonymous = (() =>
      class {
        handle() {}
      })();
    expect(() => Listener({ event: AnonEvent })(anonymous)).toThrow(
      '@Listener() on an anonymous class needs a `name` option.',
    );
    expect(listenerRegistry.byClass(Listener({ event: AnonEvent, name: 'NamedAnonymous' })(anonymous))?.name).toBe(
      'NamedAnonymous',
    );

    Listener({ event: AnonEvent, name: 'TakenListenerName' })(
      class First {
        handle() {}
      },
    );
    const error = thrownBy(() =>
      Listener({ event: AnonEvent, name: 'TakenListenerName' })(
        class Second {
          handle() {}
        },
      ),
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'Two listener classes are registered as [TakenListenerName]; give one a distinct name with @Listener({ name }).',
    );
  });

  it('refuses two event classes of the same name (queued listeners find events by name)', () => {
    const first = (() => class DuplicateNamedEvent {})();
    const second = (() => class DuplicateNamedEvent {})();
    wire(first, () => undefined);
    const error = thrownBy(() => listen(second, () => undefined));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toBe(
      'Two event classes are named [DuplicateNamedEvent]; queued listeners find events by name, so rename one.',
    );
  });
});

describe('listen() and dispatching (null default connection)', () => {
  beforeAll(async () => {
    scope = container.createChildContainer();
    scope.registerInstance(Greetings, new Greetings('Hello'));
    await boot(
      { connections: { nothing: { driver: 'null' }, elsewhere: { driver: 'null' } }, default: 'nothing' },
      { container: scope },
    );
  });
  afterAll(() => shutdown());

  it('runs the listeners in registration order: @Listener classes, listen() classes and functions', async () => {
    const calls: string[] = [];
    class OrderPlaced extends Event {
      constructor(readonly orderId: number) {
        super();
      }
    }
    @Listener()
    class FirstOrderListener {
      @Inject()
      handle(event: OrderPlaced) {
        calls.push(`first ${event.orderId}`);
      }
    }
    wire(OrderPlaced, (event) => void calls.push(`fn ${event.orderId}`));
    class PlainOrderListener {
      handle(event: OrderPlaced) {
        calls.push(`plain ${event.orderId}`);
      }
    }
    wire(OrderPlaced, PlainOrderListener);
    wire(OrderPlaced, async (event) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      calls.push(`async fn ${event.orderId}`);
    });
    wire(OrderPlaced, (event) => void calls.push(`last ${event.orderId}`));

    await OrderPlaced.dispatch(7);
    expect(calls).toEqual(['first 7', 'fn 7', 'plain 7', 'async fn 7', 'last 7']);
    await dispatchEvent(new OrderPlaced(8));
    expect(calls.slice(5)).toEqual(['first 8', 'fn 8', 'plain 8', 'async fn 8', 'last 8']);
    expect(FirstOrderListener).toBeDefined();
    // listen() of an undecorated class registers it (its options being { event }).
    expect(listenerRegistry.byClass(PlainOrderListener)?.event).toBe(OrderPlaced);
  });

  it('works for any class instance with dispatchEvent, and for no listeners at all', async () => {
    class PlainThing {
      constructor(readonly n: number) {}
    }
    class Unheard extends Event {}
    const seen: number[] = [];
    wire(PlainThing, (event) => void seen.push(event.n));
    await dispatchEvent(new PlainThing(3));
    await expect(Unheard.dispatch()).resolves.toBeUndefined();
    expect(seen).toEqual([3]);
  });

  it('Event.dispatch passes its arguments to the constructor and gives listeners that instance', async () => {
    class UserRegistered extends Event {
      constructor(
        readonly name: string,
        readonly roles: string[],
      ) {
        super();
      }
    }
    const seen: UserRegistered[] = [];
    wire(UserRegistered, (event) => void seen.push(event));
    await UserRegistered.dispatch('ada', ['admin']);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(UserRegistered);
    expect(seen[0]).toMatchObject({ name: 'ada', roles: ['admin'] });
  });

  it('a listener returning false stops the rest (a class or a function, sync or async)', async () => {
    const calls: string[] = [];
    class Halting extends Event {
      constructor(readonly stopAt: string) {
        super();
      }
    }
    class HaltingClassListener {
      handle(event: Halting) {
        calls.push('class');
        return event.stopAt === 'class' ? false : undefined;
      }
    }
    wire(Halting, HaltingClassListener);
    wire(Halting, async (event) => {
      calls.push('fn');
      return event.stopAt === 'fn' ? false : undefined;
    });
    wire(Halting, (event) => {
      calls.push('zero');
      // only false stops; other falsy values do not
      return event.stopAt === 'fn' ? 0 : null;
    });
    wire(Halting, () => void calls.push('last'));

    await Halting.dispatch('class');
    expect(calls).toEqual(['class']);
    calls.length = 0;
    await Halting.dispatch('fn');
    expect(calls).toEqual(['class', 'fn']);
    calls.length = 0;
    await Halting.dispatch('none');
    expect(calls).toEqual(['class', 'fn', 'zero', 'last']);
  });

  it("a listener's error reaches the caller and the later listeners do not run", async () => {
    const calls: string[] = [];
    class Exploding extends Event {}
    class ExplodingListener {
      handle() {
        calls.push('class');
        throw new RangeError('listener broke');
      }
    }
    wire(Exploding, () => void calls.push('before'));
    const unwireClass = wire(Exploding, ExplodingListener);
    wire(Exploding, () => void calls.push('after'));
    await expect(Exploding.dispatch()).rejects.toThrow(new RangeError('listener broke'));
    expect(calls).toEqual(['before', 'class']);

    unwireClass();
    const failure = new TypeError('async function broke');
    const unwireFn = listen(Exploding, async () => {
      throw failure;
    });
    calls.length = 0;
    await expect(dispatchEvent(new Exploding())).rejects.toBe(failure);
    expect(calls).toEqual(['before', 'after']);
    unwireFn();
  });

  it("resolves listener classes from the runtime's container, injecting their constructors", async () => {
    const greetings: string[] = [];
    class Arrived extends Event {
      constructor(readonly who: string) {
        super();
      }
    }
    @Listener()
    class GreetOnArrival {
      constructor(readonly greeter: Greetings) {}
      @Inject()
      handle(event: Arrived) {
        greetings.push(this.greeter.greet(event.who));
      }
    }
    // An undecorated class given to listen() is made injectable too.
    class WaveOnArrival {
      constructor(private readonly greeter: Greetings) {}
      handle(event: Arrived) {
        greetings.push(this.greeter.greet(`${event.who} (waving)`));
      }
    }
    // TypeScript only emits constructor parameter types for decorated classes; give them by hand here.
    Reflect.defineMetadata('design:paramtypes', [Greetings], WaveOnArrival);
    wire(Arrived, WaveOnArrival);

    await Arrived.dispatch('Grace');
    expect(greetings).toEqual(['Hello, Grace', 'Hello, Grace (waving)']);
    expect(GreetOnArrival).toBeDefined();
  });

  it('a listener whose constructor cannot be resolved fails the dispatch', async () => {
    class NotRegisteredService {
      constructor(readonly required: string) {}
    }
    class NeedsService extends Event {}
    @Listener()
    class NeedsServiceListener {
      constructor(readonly service: NotRegisteredService) {}
      @Inject()
      handle(_event: NeedsService) {}
    }
    expect(NeedsServiceListener).toBeDefined();
    const dispatching = NeedsService.dispatch();
    await expect(dispatching).rejects.toBeInstanceOf(BindingResolutionError);
    await expect(dispatching).rejects.toThrow(
      /^Listener NeedsServiceListener could not be resolved from the container: Cannot inject the dependency "service" at position #0 of "NeedsServiceListener" constructor[\s\S]*TypeInfo not known for "NotRegisteredService"/,
    );
    await expect(dispatching).rejects.not.toThrow(/design:paramtypes/);
  });

  it('a listener whose constructor takes services but has no parameter types fails the dispatch, saying how to keep them', async () => {
    class UntypedCtorEvent extends Event {}
    // No decorator syntax on the class: its constructor's types are not emitted, as esbuild or tsx leave every class.
    class UntypedCtorListener {
      constructor(readonly greetings: Greetings) {}
      handle() {}
    }
    Listener({ event: UntypedCtorEvent })(UntypedCtorListener);
    const dispatching = UntypedCtorEvent.dispatch();
    await expect(dispatching).rejects.toBeInstanceOf(BindingResolutionError);
    await expect(dispatching).rejects.toThrow(
      'Listener UntypedCtorListener could not be resolved from the container: TypeInfo not known for "UntypedCtorListener". ' +
        'Its constructor takes 1 parameter(s) but no parameter types were emitted for it (design:paramtypes): compile with experimentalDecorators and emitDecoratorMetadata',
    );
    await expect(dispatching).rejects.toThrow(/Or register UntypedCtorListener in the container with a factory\.$/);
  });

  it('Event.fake([]) fakes every event, as Laravel does', async () => {
    class AnyEvent extends Event {}
    const fake = Event.fake([]);
    await AnyEvent.dispatch();
    fake.assertDispatchedTimes(AnyEvent, 1);
    Event.restore();
  });

  it('a listener refused for an event-name clash is left unregistered, so it cannot be half-wired', () => {
    const First = class ClashingEvent {};
    const Second = class ClashingEvent {};
    Listener({ event: First })(
      class FirstClashListener {
        handle() {}
      },
    );
    const Refused = class SecondClashListener {
      handle() {}
    };
    expect(() => Listener({ event: Second })(Refused)).toThrow('Two event classes are named [ClashingEvent]');
    expect(listenerRegistry.byClass(Refused)).toBeUndefined();
    expect(listenerRegistry.byName('SecondClashListener')).toBeUndefined();
  });

  it('the function listen() returns unwires that listener only', async () => {
    const calls: string[] = [];
    class Toggled extends Event {}
    class ToggledListener {
      handle() {
        calls.push('class');
      }
    }
    const fn = () => void calls.push('fn');
    const unwireClass = wire(Toggled, ToggledListener);
    const unwireFn = wire(Toggled, fn);
    wire(Toggled, () => void calls.push('kept'));
    await Toggled.dispatch();
    unwireClass();
    await Toggled.dispatch();
    unwireFn();
    unwireFn(); // twice is harmless
    await Toggled.dispatch();
    expect(calls).toEqual(['class', 'fn', 'kept', 'fn', 'kept', 'kept']);
  });

  it('refuses a listener that is neither a class with handle() nor a function, and an event that is not a class', () => {
    class Refusing {}
    const notAListener = thrownBy(() => listen(Refusing, { handle() {} } as never));
    expect(notAListener).toBeInstanceOf(ConfigError);
    expect(notAListener.message).toBe(
      'listen(Refusing, …): the listener must be a class with handle(event) or a function.',
    );
    const notAnEvent = thrownBy(() => listen('Refusing' as never, () => undefined));
    expect(notAnEvent).toBeInstanceOf(ConfigError);
    expect(notAnEvent.message).toBe('listen(event, listener): the event must be a class.');
  });
});

describe('queued listeners (null default connection)', () => {
  let pushes: JobQueued[];
  let stop: () => void;
  beforeAll(async () => {
    scope = container.createChildContainer();
    scope.registerInstance(Greetings, new Greetings('Hello'));
    await boot(
      { connections: { nothing: { driver: 'null' }, elsewhere: { driver: 'null' } }, default: 'nothing' },
      { container: scope },
    );
    ({ pushes, stop } = recordPushes());
  });
  afterEach(() => void (pushes.length = 0));
  afterAll(async () => {
    stop();
    await shutdown();
  });

  it('pushes one CallQueuedListener job per dispatch instead of running handle()', async () => {
    const handled: unknown[] = [];
    class InvoicePaid extends Event {
      constructor(
        readonly invoiceId: number,
        readonly lines: Array<{ sku: string; qty: number }>,
      ) {
        super();
      }
    }
    @Listener({ queued: true, tries: 3, backoff: [1, 5], timeout: 30, maxExceptions: 2 })
    class SendReceipt {
      @Inject()
      handle(event: InvoicePaid) {
        handled.push(event);
      }
    }
    await InvoicePaid.dispatch(12, [{ sku: 'A-1', qty: 2 }]);
    expect(handled).toEqual([]);
    expect(pushes).toHaveLength(1);
    const [push] = pushes;
    expect(push!.connectionName).toBe('nothing');
    expect(push!.queue).toBe('default');
    expect(push!.delay).toBeUndefined();
    expect(push!.payload).toMatchObject({
      displayName: 'SendReceipt',
      maxTries: 3,
      backoff: '1,5',
      timeout: 30,
      maxExceptions: 2,
      delay: null,
      data: {
        commandName: 'CallQueuedListener',
        command: {
          listener: 'SendReceipt',
          event: 'InvoicePaid',
          data: { invoiceId: 12, lines: [{ sku: 'A-1', qty: 2 }] },
        },
      },
    });
    expect(SendReceipt).toBeDefined();
  });

  it('CallQueuedListener.for() carries the listener name, event name and plain data; displayName() is the listener', () => {
    class Audited {
      constructor(readonly at: string) {}
    }
    @Listener({ queued: true, name: 'audit.Record' })
    class RecordAudit {
      @Inject()
      handle(_event: Audited) {}
    }
    const job = CallQueuedListener.for(listenerRegistry.byClass(RecordAudit)!, new Audited('now'));
    expect(job).toMatchObject({ listener: 'audit.Record', event: 'Audited', data: { at: 'now' } });
    expect(job.models).toBeUndefined();
    expect(job.displayName()).toBe('audit.Record');
  });

  it('honours connection, queue and delay options', async () => {
    class ReportReady extends Event {}
    @Listener({ queued: true, connection: 'elsewhere', queue: 'reports', delay: 30 })
    class MailReport {
      @Inject()
      handle(_event: ReportReady) {}
    }
    await ReportReady.dispatch();
    expect(pushes.map((p) => [p.connectionName, p.queue, p.delay, p.payload.delay, p.payload.displayName])).toEqual([
      ['elsewhere', 'reports', 30, 30, 'MailReport'],
    ]);
    expect(MailReport).toBeDefined();
  });

  it('viaConnection(), viaQueue() and withDelay(event) override the options, per event', async () => {
    class Escalated extends Event {
      constructor(readonly minutes: number) {
        super();
      }
    }
    @Listener({ queued: true, connection: 'nothing', queue: 'low', delay: 5 })
    class PageOnCall {
      @Inject()
      handle(_event: Escalated) {}
      viaConnection() {
        return 'elsewhere';
      }
      viaQueue() {
        return 'urgent';
      }
      withDelay(event: Escalated) {
        return event.minutes * 60;
      }
    }
    await Escalated.dispatch(2);
    await Escalated.dispatch(0);
    expect(pushes.map((p) => [p.connectionName, p.queue, p.payload.delay])).toEqual([
      ['elsewhere', 'urgent', 120],
      ['elsewhere', 'urgent', null], // withDelay 0: no delay
    ]);
    expect(PageOnCall).toBeDefined();
  });

  it('options the listener sets on itself (properties, or methods given the event) override @Listener, as in Laravel', async () => {
    class OwnOptionsRefund extends Event {
      constructor(readonly seconds: number) {
        super();
      }
    }
    const until = new Date('2031-01-01T00:00:00Z');
    @Listener({ queued: true, queue: 'low', tries: 1, backoff: 60, delay: 5 })
    class RefundMail {
      tries = 4;
      maxExceptions = 2;
      timeout = 20;
      failOnTimeout = true;
      queue = 'mail';
      delay = 9;
      @Inject()
      handle(_event: OwnOptionsRefund) {}
      backoff(event: OwnOptionsRefund) {
        return [event.seconds, event.seconds * 2];
      }
      retryUntil() {
        return until;
      }
    }
    await OwnOptionsRefund.dispatch(3);
    expect(pushes.map((p) => [p.queue, p.payload.delay])).toEqual([['mail', 9]]);
    expect(pushes[0]!.payload).toMatchObject({
      maxTries: 4,
      maxExceptions: 2,
      timeout: 20,
      failOnTimeout: true,
      backoff: '3,6',
      retryUntil: Math.floor(until.getTime() / 1000),
    });
    expect(RefundMail).toBeDefined();
  });

  it('refuses a bad option a queued listener sets on itself, naming the listener, the option and where it was read', async () => {
    class Charged extends Event {}
    @Listener({ queued: true })
    class ChargeAudit {
      tries = -1;
      @Inject()
      handle(_event: Charged) {}
    }
    await expect(Charged.dispatch()).rejects.toThrow(
      'Listener ChargeAudit: option `tries` (its tries property) must be a whole number from 0 to 2147483647, got -1.',
    );
    class Sealed extends Event {}
    @Listener({ queued: true })
    class SealedAudit {
      shouldBeEncrypted = true;
      @Inject()
      handle(_event: Sealed) {}
    }
    await expect(Sealed.dispatch()).rejects.toThrow(
      "Listener SealedAudit: its shouldBeEncrypted property is not read by errand: a queued listener's job is not encrypted",
    );
    // A callable service stored under an option's name is a clash, not a method to call.
    class ClientAudited extends Event {}
    let called = 0;
    @Listener({ queued: true })
    class ClientAudit {
      connection = () => ((called += 1), 'database');
      @Inject()
      handle(_event: ClientAudited) {}
    }
    await expect(ClientAudited.dispatch()).rejects.toThrow(
      'Listener ClientAudit: its connection property holds a function; `connection` is an option name',
    );
    expect(called).toBe(0);
    expect(ClientAudit).toBeDefined();
    expect(pushes).toHaveLength(0);
    expect(ChargeAudit).toBeDefined();
    expect(SealedAudit).toBeDefined();
  });

  it('shouldQueue(event) false pushes nothing for that event (sync or async)', async () => {
    class Signup extends Event {
      constructor(readonly plan: string) {
        super();
      }
    }
    const asked: string[] = [];
    @Listener({ queued: true })
    class WelcomePaidUser {
      @Inject()
      handle(_event: Signup) {}
      shouldQueue(event: Signup) {
        asked.push(`sync ${event.plan}`);
        return event.plan === 'paid';
      }
    }
    @Listener({ queued: true })
    class WelcomeFreeUser {
      @Inject()
      handle(_event: Signup) {}
      async shouldQueue(event: Signup) {
        asked.push(`async ${event.plan}`);
        return event.plan === 'free';
      }
    }
    await Signup.dispatch('paid');
    await Signup.dispatch('free');
    await Signup.dispatch('trial');
    expect(pushes.map((p) => p.payload.displayName)).toEqual(['WelcomePaidUser', 'WelcomeFreeUser']);
    expect(asked).toEqual(['sync paid', 'async paid', 'sync free', 'async free', 'sync trial', 'async trial']);
    expect([WelcomePaidUser, WelcomeFreeUser]).toHaveLength(2);
  });

  it('a sync listener returning false stops the queued listeners after it too', async () => {
    class Vetoed extends Event {
      constructor(readonly veto: boolean) {
        super();
      }
    }
    wire(Vetoed, (event) => !event.veto);
    @Listener({ queued: true })
    class AfterVeto {
      @Inject()
      handle(_event: Vetoed) {}
    }
    await Vetoed.dispatch(true);
    expect(pushes).toEqual([]);
    await Vetoed.dispatch(false);
    expect(pushes.map((p) => p.payload.displayName)).toEqual(['AfterVeto']);
    expect(AfterVeto).toBeDefined();
  });

  it('refuses an event holding a function once a queued listener hears it, naming the event and property', async () => {
    class CallbackEvent extends Event {
      constructor(
        readonly id: number,
        readonly onDone: () => void,
        readonly queue: boolean,
      ) {
        super();
      }
    }
    const syncSeen: number[] = [];
    wire(CallbackEvent, (event) => void syncSeen.push(event.id));
    @Listener({ queued: true })
    class QueuedCallbackListener {
      @Inject()
      handle(_event: CallbackEvent) {}
      shouldQueue(event: CallbackEvent) {
        return event.queue;
      }
    }

    // Not queued (shouldQueue false): nothing is serialized, so nothing is refused.
    await expect(CallbackEvent.dispatch(1, () => undefined, false)).resolves.toBeUndefined();

    const refused = await CallbackEvent.dispatch(2, () => undefined, true).then(
      () => undefined,
      (error: unknown) => error as Error,
    );
    expect(refused).toBeInstanceOf(PayloadError);
    expect(refused!.message).toBe(
      'Event CallbackEvent cannot be queued: property onDone holds a function; only data can be queued (register behaviour by name and store the name).',
    );
    expect(syncSeen).toEqual([1, 2]); // the sync listener before it ran
    expect(pushes).toEqual([]);
    expect(QueuedCallbackListener).toBeDefined();
  });

  it('an event holding a function is fine when only sync listeners hear it', async () => {
    class SyncOnlyCallback extends Event {
      constructor(readonly done: () => string) {
        super();
      }
    }
    const results: string[] = [];
    wire(SyncOnlyCallback, (event) => void results.push(event.done()));
    await SyncOnlyCallback.dispatch(() => 'called');
    expect(results).toEqual(['called']);
  });

  it('applies the other job data checks to events (nested functions, bigints)', async () => {
    class NestedData extends Event {
      constructor(readonly meta: Record<string, unknown>) {
        super();
      }
    }
    @Listener({ queued: true })
    class NestedDataListener {
      @Inject()
      handle(_event: NestedData) {}
    }
    await expect(NestedData.dispatch({ nested: { fn: () => 1 } })).rejects.toThrow(
      'Event NestedData cannot be queued: property meta.nested.fn holds a function;',
    );
    await expect(NestedData.dispatch({ big: 10n })).rejects.toThrow(
      'Event NestedData cannot be queued: property meta.big holds a bigint',
    );
    expect(pushes).toEqual([]);
    expect(NestedDataListener).toBeDefined();
  });
});

describe('queued listeners on the sync default connection', () => {
  let pushes: JobQueued[];
  let stop: () => void;
  beforeAll(async () => {
    scope = container.createChildContainer();
    scope.registerInstance(Greetings, new Greetings('Welcome'));
    await boot({ connections: { sync: { driver: 'sync' } }, default: 'sync' }, { container: scope });
    ({ pushes, stop } = recordPushes());
  });
  afterEach(() => void (pushes.length = 0));
  afterAll(async () => {
    stop();
    await shutdown();
  });

  it('runs inline through CallQueuedListener, with the event rebuilt from its data and the constructor injected', async () => {
    const seen: Array<{ event: unknown; greeting: string }> = [];
    class TicketBooked extends Event {
      constructor(
        readonly seat: string,
        readonly tags: string[],
      ) {
        super();
      }
      describe() {
        return `seat ${this.seat}`;
      }
    }
    @Listener({ queued: true, queue: 'tickets' })
    class ConfirmBooking {
      constructor(private readonly greeter: Greetings) {}
      @Inject()
      handle(event: TicketBooked) {
        seen.push({ event, greeting: this.greeter.greet(event.describe()) });
      }
    }
    const original = new TicketBooked('12A', ['window']);
    await dispatchEvent(original);
    expect(seen).toHaveLength(1);
    expect(seen[0]!.event).toBeInstanceOf(TicketBooked);
    expect(seen[0]!.event).not.toBe(original); // it travelled as data
    expect(seen[0]!.event).toMatchObject({ seat: '12A', tags: ['window'] });
    expect(seen[0]!.greeting).toBe('Welcome, seat 12A');
    expect(pushes.map((p) => [p.connectionName, p.queue, p.payload.displayName])).toEqual([
      ['sync', 'tickets', 'ConfirmBooking'],
    ]);
    expect(ConfirmBooking).toBeDefined();
  });

  it('keeps registration order with sync listeners around it', async () => {
    const calls: string[] = [];
    class Ordered extends Event {}
    wire(Ordered, () => void calls.push('sync before'));
    @Listener({ queued: true })
    class QueuedInTheMiddle {
      @Inject()
      handle(_event: Ordered) {
        calls.push('queued');
      }
    }
    wire(Ordered, () => void calls.push('sync after'));
    await Ordered.dispatch();
    expect(calls).toEqual(['sync before', 'queued', 'sync after']);
    expect(QueuedInTheMiddle).toBeDefined();
  });

  it('does not run when shouldQueue(event) is false; viaQueue() picks the queue', async () => {
    const ran: number[] = [];
    class Threshold extends Event {
      constructor(readonly amount: number) {
        super();
      }
    }
    @Listener({ queued: true, queue: 'ignored' })
    class LargeAmountsOnly {
      @Inject()
      handle(event: Threshold) {
        ran.push(event.amount);
      }
      shouldQueue(event: Threshold) {
        return event.amount >= 100;
      }
      viaQueue() {
        return 'large';
      }
    }
    await Threshold.dispatch(5);
    await Threshold.dispatch(500);
    expect(ran).toEqual([500]);
    expect(pushes.map((p) => [p.queue, p.payload.displayName])).toEqual([['large', 'LargeAmountsOnly']]);
    expect(LargeAmountsOnly).toBeDefined();
  });

  it("a queued listener's error runs failed(event, error) and reaches the caller", async () => {
    const failedWith: Array<{ event: unknown; message: string }> = [];
    class PaymentDeclined extends Event {
      constructor(readonly reason: string) {
        super();
      }
    }
    @Listener({ queued: true, tries: 1 })
    class RefundDeclined {
      @Inject()
      handle(event: PaymentDeclined) {
        throw new Error(`refund failed: ${event.reason}`);
      }
      failed(event: PaymentDeclined, error: Error) {
        failedWith.push({ event, message: error.message });
      }
    }
    const after: string[] = [];
    wire(PaymentDeclined, () => void after.push('after'));
    await expect(PaymentDeclined.dispatch('card expired')).rejects.toThrow('refund failed: card expired');
    expect(failedWith).toHaveLength(1);
    expect(failedWith[0]!.event).toBeInstanceOf(PaymentDeclined);
    expect(failedWith[0]!.event).toMatchObject({ reason: 'card expired' });
    expect(failedWith[0]!.message).toBe('refund failed: card expired');
    expect(after).toEqual([]);
    expect(RefundDeclined).toBeDefined();
  });

  it('still refuses an event holding a function before running anything queued', async () => {
    const ran: string[] = [];
    class InlineCallback extends Event {
      constructor(readonly cb: () => void) {
        super();
      }
    }
    @Listener({ queued: true })
    class InlineCallbackListener {
      @Inject()
      handle(_event: InlineCallback) {
        ran.push('queued');
      }
    }
    await expect(InlineCallback.dispatch(() => undefined)).rejects.toThrow(
      'Event InlineCallback cannot be queued: property cb holds a function; only data can be queued',
    );
    expect(ran).toEqual([]);
    expect(InlineCallbackListener).toBeDefined();
  });
});

describe('Event.fake()', () => {
  beforeAll(async () => {
    scope = container.createChildContainer();
    await boot({ connections: { nothing: { driver: 'null' } }, default: 'nothing' }, { container: scope });
  });
  afterAll(() => shutdown());

  class OrderShipped extends Event {
    constructor(readonly orderId: number) {
      super();
    }
  }
  class OrderCancelled extends Event {
    constructor(readonly orderId: number) {
      super();
    }
  }
  class NeverDispatched extends Event {}

  it('records every event and runs no listener (Event.dispatch and dispatchEvent alike), until restored', async () => {
    const ran: string[] = [];
    wire(OrderShipped, (event) => void ran.push(`shipped ${event.orderId}`));
    wire(OrderCancelled, (event) => void ran.push(`cancelled ${event.orderId}`));
    const fake = Event.fake();
    expect(fake).toBeInstanceOf(EventFake);
    await OrderShipped.dispatch(1);
    await dispatchEvent(new OrderCancelled(2));
    await OrderShipped.dispatch(3);
    expect(ran).toEqual([]);
    expect(fake.dispatched(OrderShipped).map((e) => e.orderId)).toEqual([1, 3]);
    expect(fake.dispatched(OrderShipped, (e) => e.orderId > 1).map((e) => e.orderId)).toEqual([3]);
    expect(fake.dispatched(OrderCancelled)).toEqual([new OrderCancelled(2)]);
    expect(fake.dispatched(NeverDispatched)).toEqual([]);

    Event.restore();
    await OrderShipped.dispatch(4);
    expect(ran).toEqual(['shipped 4']);
    expect(fake.dispatched(OrderShipped)).toHaveLength(2); // nothing more recorded after restore
  });

  it('fakes only the given classes; the others are dispatched as usual', async () => {
    const ran: string[] = [];
    wire(OrderShipped, (event) => void ran.push(`shipped ${event.orderId}`));
    wire(OrderCancelled, (event) => void ran.push(`cancelled ${event.orderId}`));
    const fake = Event.fake([OrderShipped]);
    await OrderShipped.dispatch(1);
    await OrderCancelled.dispatch(2);
    expect(ran).toEqual(['cancelled 2']);
    fake.assertDispatched(OrderShipped);
    fake.assertNotDispatched(OrderCancelled); // it was not recorded: it ran
    expect(fake.dispatched(OrderCancelled)).toEqual([]);
  });

  it('a second Event.fake() replaces the first', async () => {
    const first = Event.fake();
    await OrderShipped.dispatch(1);
    const second = Event.fake();
    await OrderShipped.dispatch(2);
    expect(first.dispatched(OrderShipped).map((e) => e.orderId)).toEqual([1]);
    expect(second.dispatched(OrderShipped).map((e) => e.orderId)).toEqual([2]);
  });

  it('records an event a queued listener could not carry, without refusing it', async () => {
    class FakeWithCallback extends Event {
      constructor(readonly cb: () => void) {
        super();
      }
    }
    @Listener({ queued: true })
    class FakeWithCallbackListener {
      @Inject()
      handle(_event: FakeWithCallback) {}
    }
    const fake = Event.fake();
    await expect(FakeWithCallback.dispatch(() => undefined)).resolves.toBeUndefined();
    fake.assertDispatchedTimes(FakeWithCallback, 1);
    fake.assertListening(FakeWithCallback, FakeWithCallbackListener);
  });

  describe('assertDispatched', () => {
    it('passes when an event of the class (matching the predicate) was dispatched', async () => {
      const fake = Event.fake();
      await OrderShipped.dispatch(5);
      expect(() => fake.assertDispatched(OrderShipped)).not.toThrow();
      expect(() => fake.assertDispatched(OrderShipped, (e) => e.orderId === 5)).not.toThrow();
    });

    it('throws naming the event, and saying nothing was dispatched', () => {
      const fake = Event.fake();
      expect(assertionMessage(() => fake.assertDispatched(OrderShipped))).toBe(
        'The expected [OrderShipped] event was not dispatched. No events were dispatched.',
      );
    });

    it('throws naming the event and listing what was dispatched instead', async () => {
      const fake = Event.fake();
      await OrderCancelled.dispatch(1);
      await OrderCancelled.dispatch(2);
      await NeverDispatched.dispatch();
      expect(assertionMessage(() => fake.assertDispatched(OrderShipped))).toBe(
        'The expected [OrderShipped] event was not dispatched. Dispatched: OrderCancelled ×2, NeverDispatched ×1.',
      );
    });

    it('throws when events of the class were dispatched but none matches the predicate, showing them', async () => {
      const fake = Event.fake();
      await OrderShipped.dispatch(1);
      await OrderShipped.dispatch(2);
      const message = assertionMessage(() => fake.assertDispatched(OrderShipped, (e) => e.orderId === 3));
      expect(message).toMatch(
        /^The expected \[OrderShipped\] event was not dispatched: 2 were, none matching the predicate: /,
      );
      expect(message).toContain('orderId: 1');
      expect(message).toContain('orderId: 2');
    });

    it('with a predicate and no event of the class at all, says what was dispatched', async () => {
      const fake = Event.fake();
      await OrderCancelled.dispatch(1);
      expect(assertionMessage(() => fake.assertDispatched(OrderShipped, () => true))).toBe(
        'The expected [OrderShipped] event was not dispatched. Dispatched: OrderCancelled ×1.',
      );
    });
  });

  describe('assertDispatchedTimes', () => {
    it('passes on the exact count, zero included', async () => {
      const fake = Event.fake();
      await OrderShipped.dispatch(1);
      await OrderShipped.dispatch(2);
      await OrderCancelled.dispatch(3);
      expect(() => fake.assertDispatchedTimes(OrderShipped, 2)).not.toThrow();
      expect(() => fake.assertDispatchedTimes(OrderCancelled, 1)).not.toThrow();
      expect(() => fake.assertDispatchedTimes(NeverDispatched, 0)).not.toThrow();
    });

    it('throws naming the event and both counts', async () => {
      const fake = Event.fake();
      await OrderShipped.dispatch(1);
      expect(assertionMessage(() => fake.assertDispatchedTimes(OrderShipped, 2))).toBe(
        'The expected [OrderShipped] event was dispatched 1 time(s) instead of 2.',
      );
      expect(assertionMessage(() => fake.assertDispatchedTimes(OrderShipped, 0))).toBe(
        'The expected [OrderShipped] event was dispatched 1 time(s) instead of 0.',
      );
      expect(assertionMessage(() => fake.assertDispatchedTimes(OrderCancelled, 1))).toBe(
        'The expected [OrderCancelled] event was dispatched 0 time(s) instead of 1.',
      );
    });
  });

  describe('assertNotDispatched', () => {
    it('passes when no event of the class (or none matching the predicate) was dispatched', async () => {
      const fake = Event.fake();
      await OrderShipped.dispatch(1);
      expect(() => fake.assertNotDispatched(OrderCancelled)).not.toThrow();
      expect(() => fake.assertNotDispatched(OrderShipped, (e) => e.orderId === 2)).not.toThrow();
    });

    it('throws naming the event, how often and what was dispatched', async () => {
      const fake = Event.fake();
      await OrderShipped.dispatch(1);
      await OrderShipped.dispatch(2);
      const message = assertionMessage(() => fake.assertNotDispatched(OrderShipped));
      expect(message).toMatch(/^The unexpected \[OrderShipped\] event was dispatched 2 time\(s\): /);
      expect(message).toContain('orderId: 1');
      const matching = assertionMessage(() => fake.assertNotDispatched(OrderShipped, (e) => e.orderId === 2));
      expect(matching).toMatch(/^The unexpected \[OrderShipped\] event was dispatched 1 time\(s\): /);
      expect(matching).toContain('orderId: 2');
      expect(matching).not.toContain('orderId: 1');
    });
  });

  describe('assertNothingDispatched', () => {
    it('passes when nothing was dispatched', () => {
      const fake = Event.fake();
      expect(() => fake.assertNothingDispatched()).not.toThrow();
    });

    it('throws counting and naming what was dispatched', async () => {
      const fake = Event.fake();
      await OrderShipped.dispatch(1);
      await OrderShipped.dispatch(2);
      await OrderCancelled.dispatch(3);
      expect(assertionMessage(() => fake.assertNothingDispatched())).toBe(
        '3 unexpected event(s) were dispatched: Dispatched: OrderShipped ×2, OrderCancelled ×1.',
      );
    });

    it('ignores the classes a partial fake lets through', async () => {
      const fake = Event.fake([OrderShipped]);
      await OrderCancelled.dispatch(1);
      expect(() => fake.assertNothingDispatched()).not.toThrow();
    });
  });

  describe('assertListening', () => {
    class Refunded extends Event {}
    @Listener()
    class NotifyRefund {
      @Inject()
      handle(_event: Refunded) {}
    }
    class Unrelated {
      handle() {}
    }

    it('passes for a @Listener class, a listen() class and a listen() function', () => {
      const fake = Event.fake();
      class LogRefund {
        handle() {}
      }
      function auditRefund() {}
      wire(Refunded, LogRefund);
      wire(Refunded, auditRefund);
      expect(() => fake.assertListening(Refunded, NotifyRefund)).not.toThrow();
      expect(() => fake.assertListening(Refunded, LogRefund)).not.toThrow();
      expect(() => fake.assertListening(Refunded, auditRefund)).not.toThrow();
    });

    it('throws naming the event, the listener and the listeners it has', () => {
      const fake = Event.fake();
      function auditRefund() {}
      wire(Refunded, auditRefund);
      wire(
        Refunded,
        (
          () => () =>
            undefined
        )(),
      );
      expect(assertionMessage(() => fake.assertListening(Refunded, Unrelated))).toBe(
        'Event [Refunded] does not have the [Unrelated] listener attached to it. Its listeners: NotifyRefund, auditRefund, a function.',
      );
      expect(
        assertionMessage(() =>
          fake.assertListening(
            Refunded,
            (
              () => () =>
                undefined
            )(),
          ),
        ),
      ).toBe(
        'Event [Refunded] does not have the [given] listener attached to it. Its listeners: NotifyRefund, auditRefund, a function.',
      );
    });

    it('throws once a listener is unwired, and says (none) for an event without listeners', () => {
      const fake = Event.fake();
      function onceWired() {}
      const unwire = wire(Refunded, onceWired);
      fake.assertListening(Refunded, onceWired);
      unwire();
      expect(assertionMessage(() => fake.assertListening(Refunded, onceWired))).toBe(
        'Event [Refunded] does not have the [onceWired] listener attached to it. Its listeners: NotifyRefund.',
      );
      expect(assertionMessage(() => fake.assertListening(NeverDispatched, NotifyRefund))).toBe(
        'Event [NeverDispatched] does not have the [NotifyRefund] listener attached to it. Its listeners: (none).',
      );
    });
  });
});

describe('describeListeners (errand event:list)', () => {
  it('lists each event with listeners, in wiring order; queued ones with connection and queue', () => {
    class CatalogUpdated {}
    class CatalogPurged {}
    class CatalogForgotten {}
    @Listener()
    class ReindexCatalog {
      @Inject()
      handle(_event: CatalogUpdated) {}
    }
    @Listener({ queued: true, event: CatalogUpdated })
    class WarmCatalogCache {
      handle() {}
    }
    @Listener({ queued: true, event: CatalogUpdated, connection: 'elsewhere', queue: 'cache', name: 'catalog.Notify' })
    class NotifyCatalogSubscribers {
      handle() {}
    }
    function logCatalog() {}
    wire(CatalogUpdated, logCatalog);
    wire(
      CatalogUpdated,
      (
        () => () =>
          undefined
      )(),
    );
    wire(CatalogPurged, () => undefined); // an arrow passed inline has no name
    const unwire = wire(CatalogForgotten, logCatalog);
    unwire();

    const rows = describeListeners('primary');
    const names = rows.map((row) => row.event);
    expect(names).not.toContain('CatalogForgotten'); // every listener unwired: not listed
    expect(names.indexOf('CatalogUpdated')).toBeLessThan(names.indexOf('CatalogPurged'));
    expect(rows.find((row) => row.event === 'CatalogUpdated')).toEqual({
      event: 'CatalogUpdated',
      listeners: [
        { name: 'ReindexCatalog', queued: false },
        { name: 'WarmCatalogCache', queued: true, connection: 'primary', queue: 'default' },
        { name: 'catalog.Notify', queued: true, connection: 'elsewhere', queue: 'cache' },
        { name: 'logCatalog (function)', queued: false },
        { name: '(anonymous function)', queued: false },
      ],
    });
    expect(rows.find((row) => row.event === 'CatalogPurged')).toEqual({
      event: 'CatalogPurged',
      listeners: [{ name: '(anonymous function)', queued: false }],
    });
    expect([ReindexCatalog, WarmCatalogCache, NotifyCatalogSubscribers]).toHaveLength(3);
  });

  it("shows where a queued listener's job goes as the dispatcher decides it: viaConnection()/viaQueue() over the options", () => {
    class PriceChanged {}
    @Listener({ queued: true, event: PriceChanged, connection: 'primary', queue: 'options-queue' })
    class RepricePrice {
      viaQueue() {
        return 'repricing';
      }
      handle() {}
    }
    @Listener({ queued: true, event: PriceChanged, connection: 'elsewhere' })
    class AnnouncePrice {
      viaConnection() {
        return 'secondary';
      }
      handle() {}
    }
    @Listener({ queued: true, event: PriceChanged, queue: 'audit' })
    class AuditPrice {
      handle() {}
    }
    const queues: Record<string, string> = { primary: 'primary-main', secondary: 'secondary-main' };
    const built = (listener: { target: new () => object }) => new listener.target();
    const listed = (instanceOf?: (listener: { target: new () => object; name: string }) => object) =>
      describeListeners('primary', (connection) => queues[connection] ?? 'default', instanceOf).find(
        (row) => row.event === 'PriceChanged',
      )!.listeners;
    expect(listed(built)).toEqual([
      { name: 'RepricePrice', queued: true, connection: 'primary', queue: 'repricing' },
      { name: 'AnnouncePrice', queued: true, connection: 'secondary', queue: 'secondary-main' },
      { name: 'AuditPrice', queued: true, connection: 'primary', queue: 'audit' },
    ]);
    // A listener that cannot be built is shown by its options, with the reason.
    const refusing = (listener: { target: new () => object; name: string }) => {
      if (listener.name === 'AnnouncePrice') throw new Error('no binding for Mailer');
      return new listener.target();
    };
    expect(listed(refusing)[1]).toEqual({
      name: 'AnnouncePrice',
      queued: true,
      connection: 'elsewhere',
      queue: 'default',
      unresolved: 'no binding for Mailer',
    });
    expect([RepricePrice, AnnouncePrice, AuditPrice]).toHaveLength(3);
  });
});

describe('@Listener({ deleteWhenMissingModels })', () => {
  it('is carried into the queued listener job and its payload; anything but a boolean is refused, naming the listener', () => {
    class ShelfEmptied {}
    @Listener({ queued: true, event: ShelfEmptied, deleteWhenMissingModels: true })
    class RestockShelf {
      handle() {}
    }
    const job = CallQueuedListener.for(listenerRegistry.byClass(RestockShelf)!, new ShelfEmptied());
    expect(job.deleteWhenEventModelsMissing).toBe(true);
    expect(() =>
      Listener({ queued: true, event: ShelfEmptied, deleteWhenMissingModels: 'yes' as unknown as boolean })(
        class DustShelf {
          handle() {}
        },
      ),
    ).toThrow(/DustShelf.*deleteWhenMissingModels/);
  });
});
