import type { DependencyContainer } from 'tsyringe';
import type { JobMiddleware } from '../contracts/job-middleware.js';
import { BindingResolutionError } from '../errors/binding-resolution-error.js';
import { ConfigError } from '../errors/config-error.js';
import { toError } from '../errors/error-text.js';
import { TimeoutExceededError } from '../errors/timeout-exceeded-error.js';
import { bindJobContext, type ChainState, JobContext, type JobInfo, type JobIntent } from '../job/job-context.js';
import type { Queueable } from '../job/queueable.js';
import { longTimeout } from '../runtime/timer-limit.js';
import { resolveHandleArguments } from './resolve-handle-arguments.js';
import { middlewareFor, runMiddleware } from './run-middleware.js';

/** How one run of `handle()` ended. */
export type AttemptOutcome =
  | { readonly kind: 'completed'; readonly intent: JobIntent | undefined }
  | { readonly kind: 'threw'; readonly error: Error; readonly intent: JobIntent | undefined }
  | { readonly kind: 'timed-out'; readonly error: TimeoutExceededError };

/**
 * Runs `handle()` once with its services from the container. At the timeout `this.signal` aborts
 * and the attempt ends as timed out; `stopSignal` (worker shutdown) aborts the signal too but
 * lets the handler finish.
 */
export async function runAttempt(
  job: Queueable,
  info: JobInfo,
  options: {
    timeout: number;
    container: DependencyContainer;
    stopSignal?: AbortSignal;
    /**
     * Runs first, inside the attempt (so the timeout covers it): fetches the job's models. It may
     * end the attempt through the job's own delete()/fail(); it returns false when handle() must
     * not run.
     */
    prepare?: (job: Queueable) => Promise<boolean>;
    /**
     * The middleware the dispatch added with `through()`, rebuilt from the payload. They run
     * after the job's own `middleware()` (built here, after `prepare`), around handle().
     */
    middleware?: readonly JobMiddleware<any>[];
    /**
     * Runs at the innermost point, after every middleware let the job through and just before
     * handle()'s services are resolved and handle() is called (unique jobs release their lock
     * here for `uniqueUntil: 'processing'`). It does not run when a middleware stopped the job.
     */
    beforeHandle?: (job: Queueable) => Promise<void>;
    /** The rest of the job's chain, which prependToChain/appendToChain change. */
    chain?: ChainState;
  },
): Promise<AttemptOutcome> {
  // The attempt's signal is made only when the job reads it; until then an abort is just remembered.
  let controller: AbortController | undefined;
  let aborted: { reason: unknown } | undefined;
  let settled = false;
  const abort = (reason: unknown) => {
    aborted ??= { reason };
    controller?.abort(reason);
  };
  const onStop = () => abort(options.stopSignal?.reason);
  const signal = () => {
    if (!controller) {
      controller = new AbortController();
      if (aborted) controller.abort(aborted.reason);
      else if (options.stopSignal?.aborted) controller.abort(options.stopSignal.reason);
      else if (!settled) options.stopSignal?.addEventListener('abort', onStop, { once: true });
    }
    return controller.signal;
  };
  const context = new JobContext(info, signal);
  context.chain = options.chain;
  bindJobContext(job, context);
  let cancelTimer: (() => void) | undefined;
  try {
    // The innermost step, which the middleware lead to.
    const callHandle = async () => {
      if (options.beforeHandle) await options.beforeHandle(job);
      // A child container per attempt: services registered ContainerScoped live for this job only.
      // It is not dispose()d: tsyringe would also dispose a singleton first built during the job.
      // Made on first use: a handle() that asks for no services costs no container.
      let scope: DependencyContainer | undefined;
      const scopeOf = () => (scope ??= options.container.createChildContainer());
      context.useContainer(scopeOf);
      let args: unknown[];
      try {
        args = resolveHandleArguments(job, info.displayName, scopeOf);
      } catch (error) {
        // Retrying cannot register a missing binding: the job fails now.
        if (error instanceof BindingResolutionError) return context.fail(error);
        throw error;
      }
      await (job as unknown as { handle: (...a: unknown[]) => unknown }).handle(...args);
    };
    const running = (async () => {
      if (options.prepare && !(await options.prepare(job))) return;
      let pipeline: JobMiddleware<any>[];
      try {
        pipeline = middlewareFor(job, info.displayName, options.middleware);
      } catch (error) {
        // A middleware() returning something else is a bug in the job: retrying cannot fix it.
        if (error instanceof ConfigError) return context.fail(error);
        throw error;
      }
      // No middleware (the common job): straight to handle(), without the pipeline's promises.
      if (pipeline.length === 0) await callHandle();
      else await runMiddleware(job, info.displayName, pipeline, callHandle);
    })();
    if (options.timeout <= 0) {
      await running;
      return { kind: 'completed', intent: context.intent };
    }
    // One promise settled by whichever comes first (a race of two would cost three).
    const winner = await new Promise<'completed' | 'timed-out'>((resolve, reject) => {
      // Stepped: a timeout past Node's timer limit (about 24.8 days) would otherwise fire at once.
      cancelTimer = longTimeout(() => resolve('timed-out'), options.timeout * 1000);
      running.then(() => resolve('completed'), reject);
    });
    if (winner === 'completed') return { kind: 'completed', intent: context.intent };
    const error = TimeoutExceededError.forJob(info.displayName, options.timeout);
    abort(error);
    // The handler may still settle later; its result no longer decides anything.
    running.catch(() => undefined);
    return { kind: 'timed-out', error };
  } catch (thrown) {
    return { kind: 'threw', error: toError(thrown), intent: context.intent };
  } finally {
    settled = true;
    cancelTimer?.();
    if (controller) options.stopSignal?.removeEventListener('abort', onStop);
  }
}
