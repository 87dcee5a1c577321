import { runNow } from './dispatcher.js';
import { PendingDispatch } from './pending-dispatch.js';

/** Pushes a job instance to its queue: `await dispatch(new SendInvoice(id)).onQueue('billing')`. */
export function dispatch<T extends object>(job: T): PendingDispatch<T> {
  return new PendingDispatch(job);
}

/** Runs a job instance now, in this process, through the full payload round trip. */
export function dispatchSync(job: object): Promise<void> {
  return runNow(job, { options: {} });
}

/** @internal A dispatchIf/dispatchUnless that did not pass: resolves to null, pushes nothing. */
export function skippedDispatch<T extends object>(job: T): PendingDispatch<T> {
  return new PendingDispatch(job, true);
}
