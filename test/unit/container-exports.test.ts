import * as tsyringe from 'tsyringe';
import { describe, expect, it } from 'vitest';

import { Event, inject, injectable, Listener, singleton } from '../../src/index.js';
import { dispatchEvent } from '../../src/listeners/event-dispatcher.js';
import { boot, shutdown } from '../../src/runtime/boot.js';

describe("errand's injectable, singleton and inject", () => {
  it("are tsyringe's own functions", () => {
    expect(injectable).toBe(tsyringe.injectable);
    expect(singleton).toBe(tsyringe.singleton);
    expect(inject).toBe(tsyringe.inject);
  });

  it("mark services errand's container builds for a listener's constructor", async () => {
    @injectable()
    class Clock {
      now = () => 42;
    }
    @singleton()
    class Audit {
      readonly lines: string[] = [];
    }
    class Paid extends Event {
      constructor(readonly invoice: number) {
        super();
      }
    }
    @Listener({ event: Paid })
    class RecordPayment {
      constructor(
        private readonly clock: Clock,
        private readonly audit: Audit,
        @inject('currency') private readonly currency: string,
      ) {}

      handle(event: Paid): void {
        this.audit.lines.push(`${event.invoice} paid in ${this.currency} at ${this.clock.now()}`);
      }
    }
    expect(RecordPayment).toBeDefined();
    const container = tsyringe.container.createChildContainer();
    container.register('currency', { useValue: 'EUR' });
    await boot({ default: 'null', connections: { null: { driver: 'null' } } }, { container });
    try {
      await dispatchEvent(new Paid(7));
      expect(container.resolve(Audit).lines).toEqual(['7 paid in EUR at 42']);
    } finally {
      await shutdown();
    }
  });
});
