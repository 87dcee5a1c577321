import { appendFileSync } from 'node:fs';

import { Listener } from 'errand';

import { OrderShipped } from './events.mjs';

/** Mails the customer, on a worker of the notifications connection's mail queue. */
export const SendShipmentMail = Listener({
  event: OrderShipped,
  queued: true,
  connection: 'notifications',
  queue: 'mail',
  tries: 3,
})(
  class SendShipmentMail {
    async handle(event) {
      appendFileSync(process.env.MAIL_LOG ?? 'mail.log', `shipment mail for order ${event.orderId}\n`);
    }
  },
);
