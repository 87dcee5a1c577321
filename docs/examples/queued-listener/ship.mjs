import { boot, shutdown } from 'errand';

import { OrderShipped } from './events.mjs';
import './listeners.mjs';

await boot();
await OrderShipped.dispatch(42);
console.log('order 42 shipped');
await shutdown();
