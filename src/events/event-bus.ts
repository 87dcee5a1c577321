type EventClass<E> = abstract new (...args: any[]) => E;
type Listener<E> = (event: E) => unknown;

/**
 * The in-process emitter for errand's own events (JobProcessing, JobFailed …). Listeners run in
 * registration order and are awaited; a listener that throws is reported, never allowed to
 * break the worker.
 */
export class EventBus {
  private readonly listeners = new Map<Function, Listener<any>[]>();

  constructor(private readonly report: (error: unknown) => void = (error) => console.error(error)) {}

  /** Listens for one event class; returns a function that removes the listener. */
  on<E>(type: EventClass<E>, listener: Listener<E>): () => void {
    const list = this.listeners.get(type) ?? [];
    list.push(listener);
    this.listeners.set(type, list);
    return () => {
      const current = this.listeners.get(type) ?? [];
      this.listeners.set(
        type,
        current.filter((l) => l !== listener),
      );
    };
  }

  /**
   * Sends an event to its class's listeners. Resolves to false when a listener returned `false`
   * (the worker's `Looping` uses this to skip a round).
   */
  async emit(event: object): Promise<boolean> {
    const list = this.listeners.get(event.constructor);
    if (!list || list.length === 0) return true;
    let proceed = true;
    for (const listener of [...list]) {
      try {
        if ((await listener(event)) === false) proceed = false;
      } catch (error) {
        this.report(error);
      }
    }
    return proceed;
  }

  /** Whether anything listens for this event class (lets callers skip building costly events). */
  has(type: Function): boolean {
    return (this.listeners.get(type)?.length ?? 0) > 0;
  }
}
