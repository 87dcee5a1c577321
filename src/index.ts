// errand's public API: everything exported here, and nothing else, is public.
import 'reflect-metadata';

/**
 * tsyringe's `@injectable()`, `@singleton()` and `@inject(token)`, the very functions errand's
 * container reads: a service a job's `handle()` or a listener's constructor asks for must be one
 * of these (or be registered in the container). Importing them from errand needs no tsyringe
 * dependency of your own, and cannot pick up a second copy of tsyringe whose marks errand's
 * container would not see.
 */
export { inject, injectable, singleton } from 'tsyringe';
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
export type {
  ConnectionConfig,
  DatabaseClient,
  DatabaseConnectionConfig,
  ErrandConfig,
  FailedConfig,
  GeneratorPaths,
  LocksConfig,
  NullConnectionConfig,
  RateLimitsConfig,
  ResolvedConfig,
  SyncConnectionConfig,
} from './config/config-types.js';
export { defineConfig } from './config/define-config.js';
export { loadConfig } from './config/load-config.js';
export type {
  FailedJobFilter,
  FailedJobRecord,
  FailedJobStore,
  StoredFailedJob,
} from './contracts/failed-job-store.js';
// Unique jobs and WithoutOverlapping: the lock store contract, the stores errand ships, and the middleware.
export type { LockStore } from './contracts/lock-store.js';
export type {
  ModelIdentifier,
  ModelIdentity,
  ModelKey,
  ModelQuery,
  ModelResolver,
} from './contracts/model-resolver.js';
export type { PushRequest, QueueDriver } from './contracts/queue-driver.js';
export type { RateLimitStore } from './contracts/rate-limit-store.js';
export type { ReservedJob } from './contracts/reserved-job.js';
export { Inject } from './decorators/inject.js';
export { Job } from './decorators/job.js';
// Job middleware: the contract and decorator (one name for both), and the middleware errand ships.
export { JobMiddleware, type JobMiddlewareOptions, type NextMiddleware } from './decorators/job-middleware.js';
export { Listener } from './decorators/listener.js';
export { Model } from './decorators/model.js';
export {
  DEFAULT_NUMPROCS,
  DEFAULT_SUPERVISOR_PROGRAM,
  renderSupervisorConfig,
  type SupervisorConfigOptions,
} from './deploy/supervisor-config.js';
export { DEFAULT_SYSTEMD_UNIT, renderSystemdUnit, type SystemdUnitOptions } from './deploy/systemd-unit.js';
export { stopWaitSeconds, workerArgValue, workerGraceSeconds } from './deploy/worker-args.js';
export { ERRAND_CLI, type WorkerCommandOptions } from './deploy/worker-command.js';
export { DatabaseLockStore } from './drivers/database/database-lock-store.js';
export { KnexModelResolver } from './drivers/database/knex-model-resolver.js';
export { AfterCommitError, type AfterCommitFailure } from './errors/after-commit-error.js';
export { BindingResolutionError } from './errors/binding-resolution-error.js';
export { ConfigError } from './errors/config-error.js';
export { DatabaseUnreachableError } from './errors/database-unreachable-error.js';
export { ErrandError } from './errors/errand-error.js';
export { ManuallyFailedError } from './errors/manually-failed-error.js';
export { MaxAttemptsExceededError } from './errors/max-attempts-exceeded-error.js';
export { MissingDatabaseClientError } from './errors/missing-database-client-error.js';
export { MissingTableError } from './errors/missing-table-error.js';
export { ModelNotFoundError } from './errors/model-not-found-error.js';
export { PayloadError } from './errors/payload-error.js';
export { TimeoutExceededError } from './errors/timeout-exceeded-error.js';
export { EventBus } from './events/event-bus.js';
export { JobExceptionOccurred } from './events/job-exception-occurred.js';
export { JobFailed } from './events/job-failed.js';
export { JobProcessed } from './events/job-processed.js';
export { JobProcessing } from './events/job-processing.js';
export { JobQueued } from './events/job-queued.js';
export { JobReleasedAfterException } from './events/job-released-after-exception.js';
export { JobRetryRequested } from './events/job-retry-requested.js';
export { JobTimedOut } from './events/job-timed-out.js';
export { QueueBusy } from './events/queue-busy.js';
export { UniqueJobSkipped } from './events/unique-job-skipped.js';
export { WorkerStopping } from './events/worker-stopping.js';
export { retryFailedJob } from './failed/retry-failed-job.js';
export type { ChainState, JobInfo } from './job/job-context.js';
export type { JobOptions } from './job/job-options.js';
export { Queueable } from './job/queueable.js';
export { CallQueuedListener } from './listeners/call-queued-listener.js';
export { Event } from './listeners/event.js';
export { dispatchEvent, listen } from './listeners/event-dispatcher.js';
export type { EventClass, ListenerInstance, ListenerOptions } from './listeners/listener-options.js';
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
export { OVERLAP_KEEPALIVE_TTL, WithoutOverlapping } from './middleware/without-overlapping.js';
export { findModel, findModels } from './models/find-model.js';
export type { ModelClass, ModelOptions, ModelRelation } from './models/model-options.js';
export { forgetModelResolver, registerModelResolver } from './models/model-resolvers.js';
export {
  CALL_QUEUED_HANDLER,
  type CallbackContext,
  type CallbackRef,
  type ChainLink,
  type JobPayload,
} from './payload/job-payload.js';
export { generateKey, Keyring } from './payload/keyring.js';
export { type BootOptions, boot, shutdown } from './runtime/boot.js';
export { type ErrandRuntime, events } from './runtime/current.js';
export { type MigrationReport, runMigrations } from './runtime/run-migrations.js';
export {
  BusFake,
  type BusFakeOptions,
  type DispatchedJob,
  type DispatchedPredicate,
  type PendingBatchFake,
} from './testing/bus-fake.js';
export { EventFake } from './testing/event-fake.js';
export { FakeJobContext } from './testing/fake-queue-interactions.js';
export type { FakeSelection, JobClass as FakeJobClass } from './testing/job-matching.js';
export { type PushedJob, type PushedPredicate, QueueFake, type QueueFakeOptions } from './testing/queue-fake.js';
export { serializeAndRestore } from './testing/serialize-and-restore.js';
export { createWorker, type WorkerHandle } from './worker/create-worker.js';
export type { WorkerStopReason } from './worker/stop-conditions.js';
export { Worker } from './worker/worker.js';
export { WorkerJob } from './worker/worker-job.js';
export { WORKER_DEFAULTS, type WorkerOptions } from './worker/worker-options.js';
export { attachWorkerOutput, type OutputTarget, terminalOutput } from './worker/worker-output.js';
