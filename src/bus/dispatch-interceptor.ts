import type { Batch } from './batch.js';

/**
 * A dispatch about to happen, as `Queue.fake()` and `Bus.fake()` see it. `push` is a
 * `dispatch(job)` (its connection and queue resolved), `bulk` one job of `Queue.bulk`, `sync` a
 * `dispatchSync`, `chain` a `Bus.chain(...).dispatch()`, `batch` a `Bus.batch(...).dispatch()`.
 */
export type InterceptedDispatch =
  | {
      readonly kind: 'push' | 'bulk';
      readonly job: object;
      readonly connection: string;
      readonly queue: string;
      readonly delay?: number | Date;
      /** The jobs (or pending batches) chained after it. */
      readonly chain: readonly object[];
    }
  | { readonly kind: 'sync'; readonly job: object; readonly chain: readonly object[] }
  | {
      readonly kind: 'chain';
      readonly jobs: readonly object[];
      readonly connection?: string;
      readonly queue?: string;
      readonly delay?: number | Date;
    }
  | {
      readonly kind: 'batch';
      readonly name: string;
      readonly jobs: ReadonlyArray<object | readonly object[]>;
      readonly connection?: string;
      readonly queue?: string;
      readonly allowFailures: boolean;
    };

/** What a dispatch resolves to when a fake records it: a fake id, or (for a batch) a fake batch. */
type InterceptedResult<D extends InterceptedDispatch> = D extends { kind: 'batch' }
  ? Batch
  : D extends { kind: 'sync' }
    ? unknown
    : string;

/** Where the testing fakes divert dispatches. */
export interface DispatchInterceptor {
  /**
   * Undefined to let the dispatch go through as usual; otherwise a promise of what the dispatch
   * resolves to (a fake id, or a fake batch for `batch`). Decided synchronously.
   */
  intercept(dispatch: InterceptedDispatch): Promise<unknown> | undefined;
}

const interceptors: DispatchInterceptor[] = [];

/**
 * @internal Installs a fake in front of every dispatch; returns the function that removes it.
 * The most recently installed fake is asked first.
 */
export function interceptDispatch(interceptor: DispatchInterceptor): () => void {
  interceptors.unshift(interceptor);
  return () => {
    const at = interceptors.indexOf(interceptor);
    if (at >= 0) interceptors.splice(at, 1);
  };
}

/** @internal What the installed fakes make of a dispatch: undefined when none records it. */
export function interceptedDispatch<D extends InterceptedDispatch>(
  dispatch: D,
): Promise<InterceptedResult<D>> | undefined {
  for (const interceptor of interceptors) {
    const result = interceptor.intercept(dispatch);
    if (result) return result as Promise<InterceptedResult<D>>;
  }
  return undefined;
}
