import { describe, expect, it } from 'vitest';

import { knowsApplicationJobs } from '../../src/console/no-jobs-warning.js';
import { Listener } from '../../src/decorators/listener.js';
import { listenerRegistry } from '../../src/listeners/listener-registry.js';
// What boot registers itself: errand's own jobs, which are no sign of the app's.
import '../../src/runtime/boot.js';

describe('whether a worker knows an application job (the no-jobs warning)', () => {
  it('counts a queued @Listener from the registry the worker resolves listeners from, wired to its event or not', () => {
    expect(knowsApplicationJobs()).toBe(false);
    class InvoicePaid {}
    @Listener({ event: InvoicePaid })
    class RecordPayment {
      handle(): void {}
    }
    // A synchronous listener runs at dispatch, never on a worker.
    expect(knowsApplicationJobs()).toBe(false);
    @Listener({ event: InvoicePaid, queued: true })
    class EmailReceipt {
      handle(): void {}
    }
    expect(knowsApplicationJobs()).toBe(true);
    // Unwired (listen()'s returned function, a fake): its queued jobs still run on the worker, by name.
    for (const wiring of [...listenerRegistry.listenersOf(InvoicePaid)]) listenerRegistry.unwire(InvoicePaid, wiring);
    expect(listenerRegistry.byName('EmailReceipt')?.target).toBe(EmailReceipt);
    expect(listenerRegistry.byName('RecordPayment')?.target).toBe(RecordPayment);
    expect(knowsApplicationJobs()).toBe(true);
  });
});
