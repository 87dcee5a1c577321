import type { ModelIdentifier } from '../contracts/model-resolver.js';
import type { StoredMiddleware } from './middleware-data.js';

/** The unique lock a queued job holds, as its payload records it. */
export interface UniqueLockRef {
  /** The lock key: `errand:unique:{job name}:{unique id}`. */
  key: string;
  /** `'processing'`: released just before handle(); `'done'`: once the job succeeds or fails for good. */
  until: 'processing' | 'done';
}

/** The handler name errand writes into every payload's `job` key (Laravel writes its own). */
export const CALL_QUEUED_HANDLER = 'errand:CallQueuedHandler@call';

/**
 * The stored JSON, with Laravel's keys; documented in docs/payload.md and
 * docs/payload.schema.json so any language can enqueue with an INSERT.
 */
export interface JobPayload {
  uuid: string;
  displayName: string;
  job: string;
  maxTries: number | null;
  maxExceptions: number | null;
  failOnTimeout: boolean;
  /** Comma-separated seconds, as Laravel stores it: "1,5,10". */
  backoff: string | null;
  timeout: number | null;
  /** Unix seconds. */
  retryUntil: number | null;
  data: {
    /** The registered job name. */
    commandName: string;
    /**
     * The job's properties as plain JSON (models replaced by identifiers in `models`), or, for an
     * encrypted job, sealed text holding `{ command, models }`.
     */
    command: Record<string, unknown> | string;
    /** The model identifiers of properties holding models, by property name. */
    models?: Record<string, ModelIdentifier>;
  };
  /** Present (true) when a missing model deletes the job instead of failing it. */
  deleteWhenMissingModels?: boolean;
  /**
   * The middleware the dispatch added with `through()`: registered names and plain data, rebuilt
   * on the worker after the job's own `middleware()`. An encrypted job seals them with its data.
   */
  middleware?: StoredMiddleware[];
  /**
   * Present when the dispatch took a unique lock (`@Job({ unique: true })`): the worker releases
   * it. The lock's owner is this payload's `uuid`.
   */
  unique?: UniqueLockRef;
  /** Unix seconds. */
  createdAt: number;
  /** Seconds the dispatch delayed the job by, or null. */
  delay: number | null;
  /** The batch this job belongs to (`Bus.batch`). */
  batchId?: string;
  /** The jobs still to run after this one succeeds (`Bus.chain`), first next. */
  chained?: ChainLink[];
  /** The connection chained jobs without one of their own are sent through. */
  chainConnection?: string;
  /** The queue chained jobs without one of their own are sent to. */
  chainQueue?: string;
  /** Run when a job of the chain fails for good. */
  chainCatchCallbacks?: CallbackRef[];
  /** Set on a job dispatched as a chain or batch callback: what it was called for. */
  callback?: CallbackContext;
  /**
   * The W3C trace context of the dispatch's span (`send <queue>`), written when tracing is on and
   * the span is valid. Outside `data`, so an encrypted job carries it too; a worker that does not
   * trace ignores it.
   */
  traceContext?: TraceContext;
}

/** W3C Trace Context as a payload carries it (docs/payload.md). */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`. */
  traceparent: string;
  /** Vendor entries, as the `tracestate` header writes them; absent when empty. */
  tracestate?: string;
}

/** One job waiting in a chain: its payload, frozen at dispatch, and where it goes. */
export interface ChainLink {
  /** The job's own connection (dispatch override or class option), else null for the chain's. */
  connection: string | null;
  /** The job's own queue, else null for the chain's. */
  queue: string | null;
  /** Seconds to delay this job by when it is pushed, or null. */
  delay: number | null;
  payload: JobPayload;
}

/**
 * A chain or batch callback. Never a serialized closure: either a job, queued when the callback
 * fires, or the name of a function registered at bootstrap with `Bus.registerCallback`.
 */
export type CallbackRef = { kind: 'job'; link: ChainLink } | { kind: 'function'; name: string };

/** What a callback job was dispatched for, readable in it through `this.failure()` and `this.batch()`. */
export interface CallbackContext {
  /** The batch whose callback this is. */
  batchId?: string;
  /** The error that made the chain or batch fail, when it was a catch callback. */
  error?: { name: string; message: string };
}
