import { AssertionError } from 'node:assert';
import { inspect, isDeepStrictEqual } from 'node:util';

import { jobRegistry } from '../job/job-registry.js';

/** A job class, as the fakes' assertions take it. */
export type JobClass<J extends object = object> = abstract new (...args: any[]) => J;

/** Which job classes a fake records: all, only some, or all but some. */
export interface FakeSelection {
  /** Record only jobs of these classes; the others are dispatched as usual. */
  only?: readonly JobClass[];
  /** Record every job except these classes, which are dispatched as usual. */
  except?: readonly JobClass[];
}

/** @internal */
export function fail(message: string): never {
  throw new AssertionError({ message });
}

/** @internal True when a fake with this selection records `job`. */
export function selects(selection: FakeSelection, job: object): boolean {
  if (job === null || typeof job !== 'object' || !jobRegistry.byClass(job.constructor)) return false;
  if (selection.only && selection.only.length > 0 && !selection.only.some((type) => job instanceof type)) return false;
  return !selection.except?.some((type) => job instanceof type);
}

/** @internal An expected chain entry (a class, or an instance compared by value) against an actual one. */
export function entryMatches(expected: object, actual: object): boolean {
  if (typeof expected === 'function') return actual instanceof (expected as JobClass);
  return actual.constructor === expected.constructor && isDeepStrictEqual(actual, expected);
}

/** @internal */
export function chainMatches(expected: readonly object[], actual: readonly object[]): boolean {
  return expected.length === actual.length && expected.every((entry, i) => entryMatches(entry, actual[i]!));
}

/** @internal A chain for a message: `[B, C]`. */
export function describeChain(chain: readonly object[]): string {
  return `[${chain.map((entry) => (typeof entry === 'function' ? (entry as Function).name : entry.constructor.name)).join(', ')}]`;
}

/** @internal Values for a message. */
export function show(value: unknown): string {
  return inspect(value, { depth: 2 });
}

/** @internal ` Pushed: A ×2, B ×1.` over the recorded jobs. */
export function tally(verb: string, jobs: readonly object[]): string {
  if (jobs.length === 0) return ` No jobs were ${verb}.`;
  const counts = new Map<string, number>();
  for (const job of jobs) counts.set(job.constructor.name, (counts.get(job.constructor.name) ?? 0) + 1);
  return ` ${verb[0]!.toUpperCase()}${verb.slice(1)}: ${[...counts].map(([name, n]) => `${name} ×${n}`).join(', ')}.`;
}
