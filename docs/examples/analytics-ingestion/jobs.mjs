import { appendFileSync } from 'node:fs';

import { Job, Queueable } from 'errand';

/** One page view, stored by the worker; its time is when the visitor saw the page. */
export const RecordPageView = Job({ name: 'RecordPageView', queue: 'hits', tries: 3 })(
  class RecordPageView extends Queueable {
    constructor(url, visitorId, at) {
      super();
      this.url = url;
      this.visitorId = visitorId;
      this.at = at;
    }
    async handle() {
      appendFileSync(process.env.HITS_LOG ?? 'hits.log', `${this.at} ${this.visitorId} ${this.url}\n`);
    }
  },
);
