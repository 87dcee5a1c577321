import type { ModelIdentifier } from '../contracts/model-resolver.js';

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
  /** Unix seconds. */
  createdAt: number;
  /** Seconds the dispatch delayed the job by, or null. */
  delay: number | null;
}
