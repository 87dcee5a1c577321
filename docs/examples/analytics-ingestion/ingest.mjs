import { boot, Queue, shutdown } from 'errand';

import { RecordPageView } from './jobs.mjs';

// What the tracking endpoint does per request: one dispatch, no other work. Here many requests
// arrive at once, so they go in one bulk INSERT.
await boot();
const count = Number(process.argv[2] ?? 100);
const at = Math.floor(Date.now() / 1000);
await Queue.bulk(Array.from({ length: count }, (_, i) => new RecordPageView(`/page/${i % 10}`, `v${i % 7}`, at)));
console.log(`enqueued ${count} page views`);
await shutdown();
