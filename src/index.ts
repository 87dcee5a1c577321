// errand's public API: everything exported here, and nothing else, is public. The fakes for tests
// are in 'errand/testing' (src/testing/index.ts). Groups follow what an application does; a group's
// comment, standing apart, keeps Biome from sorting one group into another.
import 'reflect-metadata';

// Jobs: the base class, the decorator and its options, what a running job knows, and services
// injected into `handle()`. tsyringe's `@injectable()`, `@singleton()` and `@inject(token)` are the
// very functions errand's container reads: importing them from errand needs no tsyringe dependency
// of your own, and cannot pick up a second copy whose marks errand's container would not see.

export { inject, injectable, singleton } from 'tsyringe';
export { Inject } from './decorators/inject.js';
export { Job } from './decorators/job.js';
export type { ChainState, JobInfo } from './job/job-context.js';
export type { JobOptions } from './job/job-options.js';
export { Queueable } from './job/queueable.js';

// Models a job carries: stored as identifiers, fetched fresh on the worker.

export type {
  ModelIdentifier,
  ModelIdentity,
  ModelKey,
  ModelQuery,
  ModelResolver,
} from './contracts/model-resolver.js';
export { Model } from './decorators/model.js';
export { KnexModelResolver } from './drivers/database/knex-model-resolver.js';
export { findModel, findModels } from './models/find-model.js';
export type { ModelClass, ModelOptions, ModelRelation } from './models/model-options.js';
export { forgetModelResolver, registerModelResolver } from './models/model-resolvers.js';

// Dispatch: one job, many, chains and batches, and the payload they are stored as.

export { Batch } from './bus/batch.js';
export type { BatchOptions } from './bus/batch-options.js';
export { Bus } from './bus/bus.js';
export type { CallbackHandler } from './bus/callbacks.js';
export { ChainedBatch } from './bus/chained-batch.js';
export { dispatch, dispatchSync } from './bus/dispatch.js';
export { PendingBatch } from './bus/pending-batch.js';
export { PendingChain } from './bus/pending-chain.js';
export { PendingDispatch } from './bus/pending-dispatch.js';
export { type BulkOptions, Queue } from './bus/queue.js';
export { uniqueKey } from './bus/unique-lock.js';
export type { CallbackContext, CallbackRef, ChainLink, JobPayload, TraceContext } from './payload/job-payload.js';

// Events: errand's own (the worker's, dispatch's, operators'), application events and listeners.

export { Listener } from './decorators/listener.js';
export { EventBus } from './events/event-bus.js';
export { JobExceptionOccurred } from './events/job-exception-occurred.js';
export { JobFailed } from './events/job-failed.js';
export { JobPopped } from './events/job-popped.js';
export { JobPopping } from './events/job-popping.js';
export { JobProcessed } from './events/job-processed.js';
export { JobProcessing } from './events/job-processing.js';
export { JobQueued } from './events/job-queued.js';
export { JobReleasedAfterException } from './events/job-released-after-exception.js';
export { JobRetryRequested } from './events/job-retry-requested.js';
export { JobTimedOut } from './events/job-timed-out.js';
export { Looping } from './events/looping.js';
export { QueueBusy } from './events/queue-busy.js';
export { UniqueJobSkipped } from './events/unique-job-skipped.js';
export { WorkerPausing } from './events/worker-pausing.js';
export { WorkerQueuePaused } from './events/worker-queue-paused.js';
export { WorkerQueueResumed } from './events/worker-queue-resumed.js';
export { WorkerResuming } from './events/worker-resuming.js';
export { WorkerStarting } from './events/worker-starting.js';
export { WorkerStopping } from './events/worker-stopping.js';
export { CallQueuedListener } from './listeners/call-queued-listener.js';
export { Event } from './listeners/event.js';
export { dispatchEvent, listen } from './listeners/event-dispatcher.js';
export type { EventClass, ListenerInstance, ListenerOptions } from './listeners/listener-options.js';
export { events } from './runtime/current.js';

// Middleware: the decorator and contract (one name for both), the middleware errand ships, and
// the lock stores behind unique jobs and WithoutOverlapping.

export type { LockStore } from './contracts/lock-store.js';
export type { RateLimitStore } from './contracts/rate-limit-store.js';
export { JobMiddleware, type JobMiddlewareOptions, type NextMiddleware } from './decorators/job-middleware.js';
export { DatabaseLockStore } from './drivers/database/database-lock-store.js';
export { lockStore } from './locks/current-lock-store.js';
export { forgetLockStore, registerLockStore } from './locks/lock-stores.js';
export { MemoryLockStore } from './locks/memory-lock-store.js';
export type { ErrorClass, ErrorMatcher } from './middleware/error-matcher.js';
export { FailOnException } from './middleware/fail-on-exception.js';
export { Limit } from './middleware/limit.js';
export { RateLimited } from './middleware/rate-limited.js';
export { type LimiterCallback, RateLimiter } from './middleware/rate-limiter.js';
export { Skip, type SkipCondition } from './middleware/skip.js';
export { SkipIfBatchCancelled } from './middleware/skip-if-batch-cancelled.js';
export { ThrottlesExceptions } from './middleware/throttles-exceptions.js';
export { WithoutOverlapping } from './middleware/without-overlapping.js';

// Config and boot: the config file, booting and shutting down, migrations, payload encryption keys.

export type {
  ConnectionConfig,
  DatabaseClient,
  DatabaseConnectionConfig,
  ErrandConfig,
  FailedConfig,
  GeneratorPaths,
  LocksConfig,
  MetricsConfig,
  NullConnectionConfig,
  RateLimitsConfig,
  ResolvedConfig,
  SyncConnectionConfig,
  TracingConfig,
  TracingPropagation,
} from './config/config-types.js';
export { defineConfig } from './config/define-config.js';
export { loadConfig } from './config/load-config.js';
export { generateKey, Keyring } from './payload/keyring.js';
export { type BootOptions, boot, shutdown } from './runtime/boot.js';
export type { ErrandRuntime } from './runtime/current.js';
export { type MigrationReport, runMigrations } from './runtime/run-migrations.js';

// Workers: running one in-process, its output, and failed jobs.

export type {
  FailedJobFilter,
  FailedJobRecord,
  FailedJobStore,
  StoredFailedJob,
} from './contracts/failed-job-store.js';
export { WorkerJob } from './execution/worker-job.js';
export { retryFailedJob } from './failed/retry-failed-job.js';
export { createWorker, type WorkerHandle } from './worker/create-worker.js';
export { attachJsonOutput } from './worker/json-output.js';
export type { WorkerStopReason } from './worker/stop-conditions.js';
export { WORKER_DEFAULTS, type WorkerOptions } from './worker/worker-options.js';
export { attachWorkerOutput, type OutputTarget, terminalOutput } from './worker/worker-output.js';

// Queue drivers: the seam a connection's driver implements (internal, may change in minor
// versions): what dispatching needs, and what workers need.

export type { PushRequest, Queue as QueueContract, StoreTransaction } from './contracts/queue.js';
export type { ReservedJob } from './contracts/reserved-job.js';
export type {
  Controls,
  FinishingWrites,
  LeaseSettings,
  QueueStats,
  WorkerQueue,
  WorkerRegistration,
} from './contracts/worker-queue.js';

// Errors: every error errand throws is an ErrandError.

export { AfterCommitError, type AfterCommitFailure } from './errors/after-commit-error.js';
export { BindingResolutionError } from './errors/binding-resolution-error.js';
export { ConfigError } from './errors/config-error.js';
export { DatabaseUnreachableError } from './errors/database-unreachable-error.js';
export { DepthSampleError } from './errors/depth-sample-error.js';
export { ErrandError } from './errors/errand-error.js';
export { ManuallyFailedError } from './errors/manually-failed-error.js';
export { MaxAttemptsExceededError } from './errors/max-attempts-exceeded-error.js';
export { MissingDatabaseClientError } from './errors/missing-database-client-error.js';
export { MissingTableError } from './errors/missing-table-error.js';
export { ModelNotFoundError } from './errors/model-not-found-error.js';
export { PayloadError } from './errors/payload-error.js';
export { TimeoutExceededError } from './errors/timeout-exceeded-error.js';
