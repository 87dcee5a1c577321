import { Job, Queueable } from 'errand';

/** One visitor action, posted to the tracking API; its timestamp was fixed at dispatch. */
export const TrackEvent = Job({ name: 'TrackEvent', queue: 'events', tries: 5, backoff: 0 })(
  class TrackEvent extends Queueable {
    constructor(event, itemId, sessionId, timestamp) {
      super();
      this.event = event;
      this.itemId = itemId;
      this.sessionId = sessionId;
      this.timestamp = timestamp;
    }

    async handle() {
      const response = await fetch(`${process.env.TRACKING_URL}/${this.event}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ itemId: this.itemId, userId: this.sessionId, timestamp: this.timestamp }),
        signal: this.signal,
      });
      // A failed post throws: the job is released and tried again, up to its 5 tries.
      if (!response.ok) throw new Error(`Tracking API answered ${response.status} for ${this.event}`);
    }
  },
);
