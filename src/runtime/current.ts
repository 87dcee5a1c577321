import type { DependencyContainer } from 'tsyringe';

import type { ResolvedConfig } from '../config/config-types.js';
import { EventBus } from '../events/event-bus.js';
import type { QueueManager } from './queue-manager.js';

// The booted state every part of errand reads. It imports no wiring, so dispatch, the worker,
// locks and middleware can read it without pulling boot (and through it every driver) into an
// import loop; boot.ts fills it and registers how to boot on first use.

/** A booted errand: its configuration, connections and container. */
export interface ErrandRuntime {
  readonly config: ResolvedConfig;
  readonly queues: QueueManager;
  readonly container: DependencyContainer;
}

let current: ErrandRuntime | undefined;
let booter: (() => Promise<ErrandRuntime>) | undefined;
const inFlight = new Set<Promise<unknown>>();

/**
 * errand's own events (JobProcessing, JobFailed …). It exists before boot, so listeners can be
 * registered at any time.
 */
export const events = new EventBus((error) => report(error));

/** The booted runtime; boots from the working directory's config on first use. */
export async function runtime(): Promise<ErrandRuntime> {
  if (current) return current;
  if (!booter) {
    throw new Error(
      "errand cannot boot: its boot module is not loaded. Import from 'errand' (or call boot()) before using the queue.",
    );
  }
  return booter();
}

/** The runtime booted so far, without booting one. */
export function bootedRuntime(): ErrandRuntime | undefined {
  return current;
}

/** Makes `booted` the runtime everything reads (undefined: none, after shutdown). Called by boot.ts. */
export function setRuntime(booted: ErrandRuntime | undefined): void {
  current = booted;
}

/** How `runtime()` boots on first use; boot.ts registers it when it loads. */
export function registerBooter(boot: () => Promise<ErrandRuntime>): void {
  booter = boot;
}

const shutdownHooks = new Set<() => Promise<void>>();

/**
 * Runs `hook` at the start of every shutdown(), before the connections close (the depth sampler
 * lets its lease go there). Returns a function that removes it.
 */
export function onShutdown(hook: () => Promise<void>): () => void {
  const entry = () => hook();
  shutdownHooks.add(entry);
  return () => shutdownHooks.delete(entry);
}

/** Runs every shutdown hook, each failure reported, none stopping the others. Called by shutdown(). */
export async function runShutdownHooks(): Promise<void> {
  const settled = await Promise.allSettled([...shutdownHooks].map((hook) => hook()));
  for (const result of settled) if (result.status === 'rejected') report(result.reason);
}

/** Keeps a push in view until it settles, so shutdown() waits for it. */
export function track<T>(promise: Promise<T>): Promise<T> {
  inFlight.add(promise);
  const forget = () => inFlight.delete(promise);
  promise.then(forget, forget);
  return promise;
}

/** Resolves once every tracked push has settled, including pushes started while waiting. */
export async function settleTracked(): Promise<void> {
  while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
}

/** Reports an error nobody is awaiting, through the configured `report` (default: stderr). */
export function report(error: unknown): void {
  if (current) current.config.report(error);
  else console.error('[errand]', error);
}
