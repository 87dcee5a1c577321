/**
 * Marks `handle()` as taking services from the container, resolved by parameter type. TypeScript
 * only emits a method's parameter types (design:paramtypes) when the method carries a decorator,
 * so a `handle(tracker: TrackingClient)` needs this one line above it. It stores nothing itself.
 * tsyringe's `@inject(token)` is not read on `handle()`'s parameters (only in constructors).
 *
 * @example
 * ```ts
 * @Inject()
 * async handle(tracker: TrackingClient) { … }
 * ```
 */
export function Inject(): MethodDecorator {
  return () => undefined;
}
