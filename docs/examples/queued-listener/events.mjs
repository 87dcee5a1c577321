import { Event } from 'errand';

/** An order left the warehouse. */
export class OrderShipped extends Event {
  constructor(orderId) {
    super();
    this.orderId = orderId;
  }
}
