import type { ModelIdentifier, ModelIdentity, ModelKey } from '../contracts/model-resolver.js';
import { ModelNotFoundError } from '../errors/model-not-found-error.js';
import { PayloadError } from '../errors/payload-error.js';
import { modelResolvers } from '../models/model-resolvers.js';

/** Whether a value is an instance of some class (the only values a resolver is asked about). */
export function isClassInstance(value: unknown): value is object {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) return false;
  const proto = Object.getPrototypeOf(value);
  return proto !== null && proto !== Object.prototype;
}

function identityOf(value: unknown): ModelIdentity | undefined {
  return isClassInstance(value) ? modelResolvers.identify(value) : undefined;
}

function requireKey(identity: ModelIdentity, owner: string, property: string): ModelKey {
  const { id } = identity;
  if ((typeof id === 'number' && Number.isFinite(id)) || (typeof id === 'string' && id !== '')) return id;
  throw new PayloadError(
    `${owner} cannot be queued: property ${property} holds a ${identity.class} without a key (${JSON.stringify(id ?? null)}); save the model first.`,
  );
}

/**
 * The identifiers of the models an object holds in its own properties (a model, or a non-empty
 * array of models of one class), by property name; undefined when it holds none. Nothing else of
 * a model is stored.
 */
export function identifyModels(owner: object, ownerName: string): Record<string, ModelIdentifier> | undefined {
  let found: Record<string, ModelIdentifier> | undefined;
  for (const [property, value] of Object.entries(owner)) {
    let identifier: ModelIdentifier | undefined;
    if (Array.isArray(value) && value.some(isClassInstance)) {
      const identities = value.map(identityOf);
      const first = identities.find((identity) => identity !== undefined);
      if (!first) continue;
      const mixed = identities.findIndex((identity) => identity?.class !== first.class);
      if (mixed >= 0) {
        throw new PayloadError(
          `${ownerName} cannot be queued: property ${property} mixes ${first.class} models with ${identities[mixed]?.class ?? 'something that is not a model'} at [${mixed}]; an array of models must hold one class.`,
        );
      }
      const relations = [...new Set(identities.flatMap((identity) => identity!.relations))];
      identifier = {
        class: first.class,
        id: identities.map((identity, index) => requireKey(identity!, ownerName, `${property}[${index}]`)),
        relations,
        connection: first.connection,
        collection: true,
      };
    } else {
      const identity = identityOf(value);
      if (identity)
        identifier = {
          class: identity.class,
          id: requireKey(identity, ownerName, property),
          relations: [...identity.relations],
          connection: identity.connection,
        };
    }
    if (identifier) (found ??= {})[property] = identifier;
  }
  return found;
}

/**
 * Fetches the models named by `identifiers` fresh and sets them on `target`. An array comes back
 * in its stored order with missing rows dropped; a single missing model leaves its property
 * undefined and is returned as a ModelNotFoundError (the other models are still loaded, so a
 * failed() hook sees them).
 */
export async function loadModels(
  target: object,
  identifiers: Record<string, ModelIdentifier> | undefined,
  ownerName: string,
): Promise<ModelNotFoundError | undefined> {
  if (!identifiers) return undefined;
  let missing: ModelNotFoundError | undefined;
  for (const [property, identifier] of Object.entries(identifiers)) {
    const resolver = modelResolvers.forClass(identifier.class);
    if (!resolver) {
      throw new PayloadError(
        `${ownerName}: property ${property} holds a [${identifier.class}] model, but no @Model class or resolver is registered under that name in this process; import it from the worker's bootstrap.`,
      );
    }
    const ids = Array.isArray(identifier.id) ? identifier.id : [identifier.id];
    const models = await resolver.load({
      class: identifier.class,
      ids,
      relations: identifier.relations,
      connection: identifier.connection,
    });
    const byKey = new Map<string, object>();
    for (const model of models) {
      const identity = resolver.identify(model);
      if (identity) byKey.set(String(identity.id), model);
    }
    const record = target as Record<string, unknown>;
    if (Array.isArray(identifier.id) || identifier.collection) {
      record[property] = ids.map((id) => byKey.get(String(id))).filter((model) => model !== undefined);
    } else {
      const model = byKey.get(String(identifier.id));
      record[property] = model;
      if (!model) missing ??= new ModelNotFoundError(identifier.class, ids, property);
    }
  }
  return missing;
}
