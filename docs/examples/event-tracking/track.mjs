import { boot, shutdown } from 'errand';

import { TrackEvent } from './jobs.mjs';

await boot();
const now = Math.floor(Date.now() / 1000);
await TrackEvent.dispatch('product-view', 7, 'sess-1', now);
await TrackEvent.dispatch('add-to-cart', 7, 'sess-1', now);
await TrackEvent.dispatch('purchase', 7, 'sess-1', now);
console.log(`queued 3 events at ${now}`);
await shutdown();
