import { type InterceptedDispatch, interceptDispatch } from '../bus/dispatch-interceptor.js';

/** What Queue.fake and Bus.fake share: installing themselves in the dispatch path, and leaving it. */
export abstract class InterceptingFake {
  private remove: (() => void) | undefined;

  /** @internal Starts recording. */
  install(): this {
    this.remove ??= interceptDispatch({ intercept: (dispatch) => this.intercept(dispatch) });
    return this;
  }

  /** @internal Stops recording. */
  uninstall(): void {
    this.remove?.();
    this.remove = undefined;
  }

  /** Records a dispatch and resolves it, or returns undefined to let it through. */
  protected abstract intercept(dispatch: InterceptedDispatch): Promise<unknown> | undefined;
}
