// Registers errand's storable middleware (`@JobMiddleware`), so a worker can rebuild them from
// any payload's `middleware` key even when its bootstrap never imports them by name.
// FailOnException is not among them: it holds classes or a function, which no payload can carry.
import './rate-limited.js';
import './skip.js';
import './skip-if-batch-cancelled.js';
import './throttles-exceptions.js';
import './without-overlapping.js';
