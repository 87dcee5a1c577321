import { randomUUID } from 'node:crypto';

import { ConfigError } from '../errors/config-error.js';
import type { CallbackRef } from '../payload/job-payload.js';
import { report, runtime } from '../runtime/current.js';
import { linkOf } from './chain-link.js';
import { sendPayload } from './dispatcher.js';

/**
 * A chain or batch callback as given to `.catch()`, `.then()` …: a job instance (queued when the
 * callback fires), the name of a registered function, or a function registered by name.
 */
export type CallbackHandler = object | string | ((...args: any[]) => unknown);

type CallbackFunction = (...args: any[]) => unknown;

const byName = new Map<string, CallbackFunction>();
const nameOf = new Map<CallbackFunction, string>();

/**
 * Registers a function chains and batches may name as a callback. Callbacks are never serialized
 * closures: register them at bootstrap, in a module both the dispatching app and the workers load.
 *
 * @example
 * ```ts
 * Bus.registerCallback('notify-import-done', async (batch) => mailer.send(`Import ${batch.name} done`));
 * await Bus.batch(jobs).then('notify-import-done').dispatch();
 * ```
 */
export function registerCallback(name: string, fn: CallbackFunction): void {
  if (typeof name !== 'string' || name === '')
    throw new ConfigError('Bus.registerCallback(name, fn): the name must be a non-empty string.');
  if (typeof fn !== 'function') throw new ConfigError(`Bus.registerCallback('${name}', fn): fn must be a function.`);
  const existing = byName.get(name);
  if (existing && existing !== fn)
    throw new ConfigError(`A callback named '${name}' is already registered; names must be unique.`);
  byName.set(name, fn);
  nameOf.set(fn, name);
}

/** Removes a registered callback (tests use it). */
export function forgetCallback(name: string): void {
  const fn = byName.get(name);
  byName.delete(name);
  if (fn) nameOf.delete(fn);
}

/** The stored form of a callback, refusing anything that would be a serialized closure. */
export async function callbackRef(handler: CallbackHandler, what: string): Promise<CallbackRef> {
  if (typeof handler === 'string') {
    if (!byName.has(handler)) {
      throw new ConfigError(
        `${what}: no callback is registered as '${handler}'. Register it at bootstrap with Bus.registerCallback('${handler}', fn).`,
      );
    }
    return { kind: 'function', name: handler };
  }
  if (typeof handler === 'function') {
    const name = nameOf.get(handler as CallbackFunction);
    if (name) return { kind: 'function', name };
    throw new ConfigError(
      `${what}: callbacks are never serialized closures. Register the function at bootstrap with Bus.registerCallback('name', fn) and pass it (or its name), or pass a job instance to queue.`,
    );
  }
  if (handler === null || typeof handler !== 'object')
    throw new ConfigError(`${what}: a callback is a job, a registered function or its name.`);
  return { kind: 'job', link: await linkOf(handler) };
}

/** Where and with what a set of callbacks runs. */
export interface CallbackCall {
  /** Arguments for registered functions. */
  args: unknown[];
  batchId?: string;
  error?: Error;
  /** Where callback jobs without a connection or queue of their own go. */
  connection?: string;
  queue?: string;
}

/**
 * Runs callbacks in order: registered functions here (an error is reported, not thrown: one
 * failing callback must not stop the others or fail the job that triggered them), jobs queued.
 */
export async function invokeCallbacks(refs: readonly CallbackRef[] | undefined, call: CallbackCall): Promise<void> {
  for (const ref of refs ?? []) {
    try {
      if (ref.kind === 'function') {
        const fn = byName.get(ref.name);
        if (!fn)
          throw new ConfigError(
            `The callback '${ref.name}' is not registered in this process: register it at bootstrap with Bus.registerCallback.`,
          );
        await fn(...call.args);
        continue;
      }
      const app = await runtime();
      const connectionName = ref.link.connection ?? call.connection ?? app.config.default;
      const queue = ref.link.queue ?? call.queue ?? app.queues.connection(connectionName).defaultQueue;
      const context = {
        ...(call.batchId ? { batchId: call.batchId } : {}),
        ...(call.error ? { error: { name: call.error.name, message: call.error.message } } : {}),
      };
      // A callback may fire many times (progress): each push is its own job, with its own uuid.
      const payload = { ...ref.link.payload, uuid: randomUUID(), callback: context };
      await sendPayload({ connectionName, queue, payload, delay: ref.link.delay ?? undefined });
    } catch (error) {
      report(error);
    }
  }
}
