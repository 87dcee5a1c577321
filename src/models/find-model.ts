import type { ModelKey } from '../contracts/model-resolver.js';
import { ConfigError } from '../errors/config-error.js';
import type { ModelClass } from './model-options.js';
import { modelRegistry } from './model-registry.js';
import { modelResolvers } from './model-resolvers.js';

/** Which relations to load, and from which connection. */
export interface FindModelOptions {
  relations?: string[];
  connection?: string;
}

/**
 * The `@Model` rows with these ids, in the order asked, missing ones left out: the same read a
 * worker does when it restores a job's models.
 */
export async function findModels<T extends object>(
  model: ModelClass<T>,
  ids: readonly ModelKey[],
  options: FindModelOptions = {},
): Promise<T[]> {
  const entry = modelRegistry.byClass(model);
  if (!entry) throw new ConfigError(`${model.name} is not a model: decorate it with @Model({ table }).`);
  const resolver = modelResolvers.forClass(entry.name)!;
  const rows = await resolver.load({
    class: entry.name,
    ids,
    relations: options.relations ?? [],
    connection: options.connection ?? null,
  });
  const byKey = new Map(rows.map((row) => [String((row as Record<string, unknown>)[entry.key]), row as T]));
  return ids.map((id) => byKey.get(String(id))).filter((row): row is T => row !== undefined);
}

/** One `@Model` row by id, or undefined when there is none. */
export async function findModel<T extends object>(
  model: ModelClass<T>,
  id: ModelKey,
  options: FindModelOptions = {},
): Promise<T | undefined> {
  return (await findModels(model, [id], options))[0];
}
