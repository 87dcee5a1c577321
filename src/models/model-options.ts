/** A class decorated with `@Model`. */
export type ModelClass<T extends object = object> = abstract new (...args: any[]) => T;

/**
 * A relation the knex resolver can reload: `belongsTo` reads `foreignKey` on this table,
 * `hasOne` / `hasMany` read `foreignKey` on the related table.
 */
export interface ModelRelation {
  type: 'belongsTo' | 'hasOne' | 'hasMany';
  /** The related `@Model` class (a function, so classes may refer to each other). */
  model: () => ModelClass;
  foreignKey: string;
  /** belongsTo: the related key (default its `key`); hasOne/hasMany: this model's key column. */
  localKey?: string;
}

/** What `@Model(...)` declares about an entity class. */
export interface ModelOptions {
  /** The table rows are read from. */
  table: string;
  /** The primary key column. Default `id`. */
  key?: string;
  /**
   * The errand connection (a `database` one) whose database holds the table. Default: the
   * default connection when it is a database one, else the first database connection.
   */
  connection?: string;
  /** The name stored in payloads; default the class name. Set it when a minifier renames classes. */
  name?: string;
  /** Relations a job may hold loaded (a property set on the instance); reloaded on the worker. */
  relations?: Record<string, ModelRelation>;
}

/** A class `@Model` has registered. */
export interface RegisteredModel {
  readonly name: string;
  readonly target: ModelClass;
  readonly table: string;
  readonly key: string;
  readonly connection: string | null;
  readonly relations: Readonly<Record<string, ModelRelation>>;
}
