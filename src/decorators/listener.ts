import { injectable } from 'tsyringe';

import { ConfigError } from '../errors/config-error.js';
import { validateJobOptions } from '../job/validate-job-options.js';
import { type EventClass, type ListenerOptions, listenerJobOptions } from '../listeners/listener-options.js';
import { listenerRegistry } from '../listeners/listener-registry.js';
import { numberProblem } from '../runtime/numeric-bounds.js';
import { paramTypesOf } from './param-types.js';

const LISTENER_OPTION_NAMES = [
  'event',
  'queued',
  'connection',
  'queue',
  'delay',
  'tries',
  'backoff',
  'timeout',
  'maxExceptions',
  'deleteWhenMissingModels',
  'name',
  'afterCommit',
];
const NOT_EVENTS = new Set<unknown>([Object, String, Number, Boolean, Array, Function, Promise, undefined]);

/**
 * Marks a class as an event listener. The event it hears is the type of `handle(event: E)`'s
 * first parameter (TypeScript emits it when handle() carries a decorator, such as `@Inject()`), or
 * `event`. Its constructor is injected from the container. With `queued: true` each dispatch of the
 * event pushes one job that runs `handle()` on a worker.
 *
 * @example
 * ```ts
 * @Listener({ queued: true, connection: 'database', queue: 'game-queue' })
 * export class TestListener {
 *   @Inject()
 *   async handle(event: TestEvent) { … }
 * }
 * ```
 */
export function Listener(options: ListenerOptions = {}): <T extends Function>(target: T) => T {
  return (target) => {
    const name = options.name ?? target.name;
    const at = `Listener ${name || '(anonymous)'}`;
    if (!name) throw new ConfigError('@Listener() on an anonymous class needs a `name` option.');
    for (const key of Object.keys(options)) {
      if (!LISTENER_OPTION_NAMES.includes(key)) {
        throw new ConfigError(`${at}: unknown option \`${key}\`; known options: ${LISTENER_OPTION_NAMES.join(', ')}.`);
      }
    }
    const proto = target.prototype as { handle?: unknown };
    if (typeof proto.handle !== 'function') throw new ConfigError(`${at} has no handle(event) method.`);
    const event = options.event ?? paramTypesOf(proto, 'handle')?.[0];
    if (typeof event !== 'function' || NOT_EVENTS.has(event)) {
      throw new ConfigError(
        `${at}: cannot tell which event handle() hears. Type its first parameter with the event class and put a decorator on handle() ` +
          '(@Inject() does), so TypeScript emits the type, or name it: @Listener({ event: OrderShipped }).',
      );
    }
    validateJobOptions(
      name,
      { connection: options.connection, queue: options.queue, ...listenerJobOptions(options) },
      'Listener',
    );
    for (const key of ['queued', 'afterCommit'] as const) {
      if (options[key] !== undefined && typeof options[key] !== 'boolean')
        throw new ConfigError(`${at}: option \`${key}\` must be true or false.`);
    }
    const delayProblem = options.delay === undefined ? undefined : numberProblem(options.delay);
    if (delayProblem) {
      throw new ConfigError(`${at}: option \`delay\` ${delayProblem}.`);
    }
    // Constructor injection: tsyringe needs the class marked injectable to read its parameter types.
    injectable()(target as unknown as new (...args: any[]) => unknown);
    listenerRegistry.addClass({
      name,
      target: target as never,
      event: event as EventClass,
      options: Object.freeze({ ...options }),
    });
    return target;
  };
}
