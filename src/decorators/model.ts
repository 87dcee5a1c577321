import { ConfigError } from '../errors/config-error.js';
import type { ModelClass, ModelOptions } from '../models/model-options.js';
import { modelRegistry } from '../models/model-registry.js';

const RELATION_TYPES = ['belongsTo', 'hasOne', 'hasMany'];

/**
 * Marks an entity class as a database model: a job or event property holding one is stored as
 * `{ class, id, relations, connection }` and the row is read fresh on the worker.
 *
 * @example
 * ```ts
 * @Model({ table: 'games' })
 * export class Game { id!: number; token!: string; }
 * ```
 */
export function Model(options: ModelOptions): <T extends Function>(target: T) => T {
  return (target) => {
    const name = options?.name ?? target.name;
    const at = `@Model on ${name || 'an anonymous class'}`;
    if (!name) throw new ConfigError(`${at} needs a \`name\` option.`);
    if (typeof options?.table !== 'string' || options.table === '')
      throw new ConfigError(`${at}: \`table\` must name the table.`);
    for (const key of ['key', 'connection'] as const) {
      const value = options[key];
      if (value !== undefined && (typeof value !== 'string' || value === ''))
        throw new ConfigError(`${at}: \`${key}\` must be a non-empty string.`);
    }
    for (const [relation, definition] of Object.entries(options.relations ?? {})) {
      if (
        !RELATION_TYPES.includes(definition?.type) ||
        typeof definition.model !== 'function' ||
        typeof definition.foreignKey !== 'string'
      ) {
        throw new ConfigError(
          `${at}: relation \`${relation}\` needs type (${RELATION_TYPES.join(', ')}), model: () => Class and foreignKey.`,
        );
      }
    }
    modelRegistry.register({
      name,
      target: target as unknown as ModelClass,
      table: options.table,
      key: options.key ?? 'id',
      connection: options.connection ?? null,
      relations: Object.freeze({ ...options.relations }),
    });
    return target;
  };
}
