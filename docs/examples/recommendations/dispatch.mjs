import { boot, shutdown } from 'errand';

import { AggregateAnalytics, RecordBehaviour, RefreshRecommendations, ScoreItems } from './jobs.mjs';

await boot();
// Dispatched least urgent first, to show that the worker's queue order, not age, decides.
for (const userId of [1, 2, 3]) await AggregateAnalytics.dispatch(userId);
for (const userId of [1, 2, 3]) await ScoreItems.dispatch(userId);
for (const userId of [1, 2, 3]) await RecordBehaviour.dispatch(userId);
for (const userId of [1, 2, 3]) await RefreshRecommendations.dispatch(userId);
console.log('queued 12 jobs on 4 queues');
await shutdown();
