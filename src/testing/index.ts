// errand's test helpers, published as 'errand/testing': the fakes `Queue.fake()`, `Bus.fake()`,
// `Event.fake()` and `withFakeQueueInteractions()` return (for typing them), and the payload round
// trip. Installing a fake stays on the classes in 'errand'; this entry is for what a test imports
// by name. It loads boot as 'errand' does, so a test that imports only from here can still boot.
import '../runtime/boot.js';

export {
  BusFake,
  type BusFakeOptions,
  type DispatchedJob,
  type DispatchedPredicate,
  type PendingBatchFake,
} from './bus-fake.js';
export { EventFake } from './event-fake.js';
export { FakeJobContext } from './fake-queue-interactions.js';
export type { FakeSelection, JobClass as FakeJobClass } from './job-matching.js';
export { type PushedJob, type PushedPredicate, QueueFake, type QueueFakeOptions } from './queue-fake.js';
export { serializeAndRestore } from './serialize-and-restore.js';
