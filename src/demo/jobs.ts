import 'reflect-metadata';

import { Inject } from '../decorators/inject.js';
import { Job } from '../decorators/job.js';
import { Queueable } from '../job/queueable.js';
import { TrackingClient } from './tracking-client.js';

// The demo's jobs. Each takes its timestamp at dispatch (a constructor argument), never at
// execution, so a retried event still reports when it happened.

/** A product page was viewed. */
@Job({ queue: 'events', tries: 5 })
export class ProductView extends Queueable {
  constructor(
    public productId: number,
    public sessionId: string,
    public timestamp: number,
  ) {
    super();
  }

  @Inject()
  async handle(tracker: TrackingClient) {
    await tracker.post(
      'product-view',
      { itemId: this.productId, userId: this.sessionId, timestamp: this.timestamp },
      { signal: this.signal },
    );
  }
}

/** A book went into a cart. */
@Job({ queue: 'events', tries: 5 })
export class AddToCart extends Queueable {
  constructor(
    public bookId: number,
    public sessionId: string,
    public timestamp: number,
  ) {
    super();
  }

  @Inject()
  async handle(tracker: TrackingClient) {
    await tracker.post(
      'add-to-cart',
      { itemId: this.bookId, userId: this.sessionId, timestamp: this.timestamp },
      { signal: this.signal },
    );
  }

  async failed(error: Error) {
    console.log(`    AddToCart for book ${this.bookId} gave up: ${error.message}`);
  }
}

/** An order was paid. */
@Job({ queue: 'events', tries: 5 })
export class Purchase extends Queueable {
  constructor(
    public orderId: string,
    public sessionId: string,
    public total: number,
    public timestamp: number,
  ) {
    super();
  }

  @Inject()
  async handle(tracker: TrackingClient) {
    await tracker.post(
      'purchase',
      { orderId: this.orderId, userId: this.sessionId, total: this.total, timestamp: this.timestamp },
      { signal: this.signal },
    );
  }
}
