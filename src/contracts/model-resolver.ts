/** A model's primary key as stored in a payload. */
export type ModelKey = string | number;

/** What a resolver says about one model instance: enough to fetch it again. */
export interface ModelIdentity {
  /** The name the model class is registered under (not a file path: nothing is ever imported by it). */
  readonly class: string;
  readonly id: ModelKey;
  /** Relations loaded on the instance, reloaded with it on the worker. */
  readonly relations: readonly string[];
  /** The connection the model was read from, or null for its default. */
  readonly connection: string | null;
}

/**
 * How a model (or an array of models) held by a job property is stored: `id` is an array for an
 * array of models. Laravel's `ModelIdentifier`, as JSON.
 */
export interface ModelIdentifier {
  readonly class: string;
  readonly id: ModelKey | ModelKey[];
  readonly relations: readonly string[];
  readonly connection: string | null;
  /** True when the property held an array (so one id still restores as an array). */
  readonly collection?: boolean;
}

/** Which models to fetch, and how. */
export interface ModelQuery {
  readonly class: string;
  readonly ids: readonly ModelKey[];
  readonly relations: readonly string[];
  readonly connection: string | null;
}

/**
 * Plugs an ORM into errand: models held by jobs are stored as identifiers and fetched fresh on the
 * worker. errand ships one for `@Model` classes (knex); register your own with
 * `registerModelResolver()`.
 */
export interface ModelResolver {
  /** The identity of `value` when it is a model this resolver knows, else undefined. */
  identify(value: object): ModelIdentity | undefined;
  /** Whether this resolver fetches models of the class registered under `className`. */
  resolves(className: string): boolean;
  /**
   * The models with these ids, fresh from the database, with the relations loaded. Missing rows
   * are left out; the order does not matter (errand restores the stored order).
   */
  load(query: ModelQuery): Promise<object[]>;
}
