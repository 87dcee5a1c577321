import type { Knex } from 'knex';

import type { ModelIdentity, ModelKey, ModelQuery, ModelResolver } from '../../contracts/model-resolver.js';
import { PayloadError } from '../../errors/payload-error.js';
import type { ModelRelation, RegisteredModel } from '../../models/model-options.js';
import { modelRegistry } from '../../models/model-registry.js';

type Row = Record<string, unknown>;

/** Ids per query: well under every engine's bind-parameter limit (SQLite 32,766). */
const CHUNK = 1000;

/**
 * The resolver for `@Model` classes: one `SELECT … WHERE key IN (…)` per model class and one per
 * relation, on the knex of the model's connection. Rows become instances of the class without
 * running its constructor (as jobs are restored).
 */
export class KnexModelResolver implements ModelResolver {
  /** Rows read through a connection other than their class's, so they are read there again. */
  private readonly readFrom = new WeakMap<object, string>();

  constructor(private readonly knexFor: (connection: string | null, model: RegisteredModel) => Knex | Promise<Knex>) {}

  identify(value: object): ModelIdentity | undefined {
    const entry = modelRegistry.byInstance(value);
    if (!entry) return undefined;
    const record = value as Row;
    return {
      class: entry.name,
      id: record[entry.key] as ModelKey,
      relations: Object.keys(entry.relations).filter((name) => record[name] !== undefined),
      connection: this.readFrom.get(value) ?? entry.connection,
    };
  }

  resolves(className: string): boolean {
    return modelRegistry.byName(className) !== undefined;
  }

  async load(query: ModelQuery): Promise<object[]> {
    const entry = modelRegistry.byName(query.class);
    if (!entry) throw new PayloadError(`Model [${query.class}] is not registered with @Model.`);
    for (const relation of query.relations) {
      if (!Object.hasOwn(entry.relations, relation)) {
        throw new PayloadError(
          `Model [${entry.name}] has no relation [${relation}]; declare it in @Model({ relations }).`,
        );
      }
    }
    const models = await this.select(entry, query.connection ?? entry.connection, entry.key, query.ids);
    for (const relation of query.relations)
      await this.loadRelation(entry, models, relation, entry.relations[relation]!);
    return models;
  }

  private async select(
    entry: RegisteredModel,
    connection: string | null,
    column: string,
    values: readonly unknown[],
  ): Promise<Row[]> {
    const wanted = [...new Set(values.filter((value) => value !== null && value !== undefined))];
    if (wanted.length === 0) return [];
    const knex = await this.knexFor(connection, entry);
    const rows: Row[] = [];
    for (let start = 0; start < wanted.length; start += CHUNK) {
      const chunk = wanted.slice(start, start + CHUNK) as unknown as readonly ModelKey[];
      rows.push(...((await knex(entry.table).whereIn(column, chunk).orderBy(entry.key)) as Row[]));
    }
    return rows.map((row) => {
      const model = Object.assign(Object.create(entry.target.prototype as object) as Row, row);
      if (connection !== entry.connection && connection !== null) this.readFrom.set(model, connection);
      return model;
    });
  }

  private async loadRelation(
    entry: RegisteredModel,
    models: Row[],
    name: string,
    relation: ModelRelation,
  ): Promise<void> {
    const related = modelRegistry.byClass(relation.model());
    if (!related)
      throw new PayloadError(`Relation [${name}] of model [${entry.name}] points at a class without @Model.`);
    if (relation.type === 'belongsTo') {
      const ownerKey = relation.localKey ?? related.key;
      const owners = await this.select(
        related,
        related.connection,
        ownerKey,
        models.map((model) => model[relation.foreignKey]),
      );
      const byKey = new Map(owners.map((owner) => [String(owner[ownerKey]), owner]));
      for (const model of models) model[name] = byKey.get(String(model[relation.foreignKey])) ?? null;
      return;
    }
    const localKey = relation.localKey ?? entry.key;
    const children = await this.select(
      related,
      related.connection,
      relation.foreignKey,
      models.map((model) => model[localKey]),
    );
    const groups = new Map<string, Row[]>();
    for (const child of children) {
      const key = String(child[relation.foreignKey]);
      groups.set(key, [...(groups.get(key) ?? []), child]);
    }
    for (const model of models) {
      const group = groups.get(String(model[localKey])) ?? [];
      model[name] = relation.type === 'hasMany' ? group : (group[0] ?? null);
    }
  }
}
