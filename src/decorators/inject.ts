/**
 * Marks `handle()` (or `failed()`) as taking services from the container. TypeScript only emits
 * a method's parameter types (design:paramtypes) when the method carries a decorator, so a
 * `handle(tracker: TrackingClient)` needs this one line above it. It stores nothing itself.
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
