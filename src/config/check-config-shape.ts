import * as z from 'zod';

import { ConfigError } from '../errors/config-error.js';
import { closestName } from './closest-name.js';
import { databaseConnectionSchema, errandConfigSchema } from './config-schema.js';
import { shownValue } from './shown-value.js';

type Path = readonly PropertyKey[];

/**
 * Checks `config` against the schema of errand.config.*: every key known at its level and every
 * value of the right kind. Throws a ConfigError naming the option, the file (`where`) and what it
 * must be; unknown keys are all named at once, each with the closest known key, before anything
 * else, since a typo is usually why other values look wrong.
 */
export function checkConfigShape(config: object, where: string): void {
  const result = errandConfigSchema.safeParse(config);
  if (result.success) return;
  const issues = result.error.issues.flatMap(withinUnion);
  // zod reports an object's own unknown keys after its fields' issues: outer ones first reads better.
  const unknownKeys = issues
    .flatMap((issue) =>
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => ({ depth: issue.path.length, message: unknownKey(config, issue.path, key, where) }))
        : [],
    )
    .sort((a, b) => a.depth - b.depth);
  if (unknownKeys.length > 0) throw new ConfigError(unknownKeys.map((unknown) => unknown.message).join('\n'));
  throw new ConfigError(describeIssue(config, issues[0]!, where));
}

/**
 * A value that has the kind of one of a union's options but is wrong inside it is reported by
 * that option, at its own path: `heartbeat: { interval: 'x' }` is `heartbeat.interval` must be a
 * number, and `bootstrap: ['a', 5]` is `bootstrap[1]`, rather than "false or { interval, lapse }"
 * for the whole value. zod reports the union as failing and each option's issues beneath it.
 */
function withinUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || issue.discriminator !== undefined) return [issue];
  // The option whose issues are all inside the value (or unknown keys of it): the value has its kind.
  const inside = issue.errors.find(
    (option) =>
      option.length > 0 && option.every((inner) => inner.path.length > 0 || inner.code === 'unrecognized_keys'),
  );
  if (inside === undefined) return [issue];
  return inside.flatMap((inner) => withinUnion({ ...inner, path: [...issue.path, ...inner.path] } as z.core.$ZodIssue));
}

/** What knex takes inside a connection's `connection` object, often written one level too high. */
const KNEX_CONNECTION_KEYS = new Set([
  'host',
  'port',
  'user',
  'password',
  'database',
  'ssl',
  'connectionString',
  'filename',
  'socketPath',
  'charset',
  'timezone',
]);

function unknownKey(config: object, objectPath: Path, key: string, where: string): string {
  const object = objectSchemaAt(config, objectPath);
  const known = object ? Object.keys(object.shape) : [];
  const named = `Unknown key \`${formatPath([...objectPath, key])}\`${where}`;
  const misplaced = misplacedKey(config, objectPath, key, object);
  if (misplaced) return `${named}: ${misplaced}`;
  const suggestion = closestName(key, known);
  return `${named}${suggestion ? `: did you mean \`${suggestion}\`?` : '.'} ${object?.description ?? 'It'} takes: ${known.join(', ')}.`;
}

/**
 * Where a key written at the wrong level belongs, said before any look-alike: `port` beside
 * `client` is knex's and belongs in `connection` (not a typo of `pool`), and `connection` at the
 * top is a connection's option (not a typo of `connections`, unless it holds named connections);
 * a connection written at the top belongs in `connections`.
 */
function misplacedKey(
  config: object,
  objectPath: Path,
  key: string,
  object: z.ZodObject | undefined,
): string | undefined {
  const knex = KNEX_CONNECTION_KEYS.has(key);
  if (objectPath.length === 2 && objectPath[0] === 'connections' && object === databaseConnectionSchema && knex) {
    const connection = formatPath([...objectPath, 'connection']);
    return `\`${key}\` is a setting of knex's connection object; put it inside \`connection\`: \`${connection}.${key}\` (or make \`connection\` a URL).`;
  }
  if (objectPath.length !== 0) return undefined;
  if (child(child(config, key), 'driver') !== undefined)
    return `it has a \`driver\`, as a connection does; put it inside \`connections\`: \`${formatPath(['connections', key])}\`.`;
  if (knex)
    return `\`${key}\` is a setting of knex's connection object; put it inside a connection's \`connection\`, e.g. \`connections.database.connection.${key}\`.`;
  if (!Object.hasOwn(databaseConnectionSchema.shape, key)) return undefined;
  const value = child(config, key);
  const namedConnections =
    value !== null &&
    typeof value === 'object' &&
    Object.values(value).length > 0 &&
    Object.values(value).every((entry) => child(entry, 'driver') !== undefined);
  if (key === 'connection' && namedConnections)
    return "did you mean `connections`? It holds named connections, such as { database: { driver: 'database' } }.";
  return `\`${key}\` is an option of a connection; put it inside one, e.g. \`connections.database.${key}\`.`;
}

function describeIssue(config: object, issue: z.core.$ZodIssue, where: string): string {
  if (issue.code === 'invalid_union' && issue.discriminator !== undefined && issue.inclusive !== false) {
    const driver = valueAt(config, issue.path);
    const expected = (issue.options ?? []).map(String).join(', ');
    const problem =
      driver === undefined
        ? `needs a \`driver\`: one of ${expected}`
        : `has unknown driver [${String(driver)}]; expected one of ${expected}`;
    return `${subject(issue.path.slice(0, -1), where)} ${problem}.`;
  }
  return `${subject(issue.path, where)} must be ${issue.message}, got ${shownValue(valueAt(config, issue.path), issue.path)}.`;
}

/** Who a message is about, worded as resolveConfig words it: a connection by its name. */
function subject(path: Path, where: string): string {
  if (path.length === 0) return `The errand configuration${where}`;
  if (path[0] === 'connections' && path.length >= 2) {
    const connection = `Queue connection [${String(path[1])}]${where}`;
    return path.length === 2 ? connection : `${connection}: ${formatPath(path.slice(2))}`;
  }
  return `\`${formatPath(path)}\`${where}`;
}

/** `connections.database.client`; a name that is not an identifier in brackets: `connections["my db"]`. */
function formatPath(path: Path): string {
  return path
    .map((segment, i) => {
      if (typeof segment === 'number') return `[${segment}]`;
      const name = String(segment);
      return /^[A-Za-z_$][\w$]*$/.test(name) ? `${i > 0 ? '.' : ''}${name}` : `[${JSON.stringify(name)}]`;
    })
    .join('');
}

function valueAt(config: object, path: Path): unknown {
  return path.reduce<unknown>(child, config);
}

/** `value[key]` when it is the value's own: a config's names may be `constructor` or `__proto__`. */
function child(value: unknown, key: PropertyKey): unknown {
  return value !== null && typeof value === 'object' && Object.hasOwn(value, key)
    ? (value as Record<PropertyKey, unknown>)[key]
    : undefined;
}

/**
 * The object schema that describes the value at `path` (to list its keys), following the config's
 * own values through records, optional values and unions: a connection's schema is its driver's.
 */
function objectSchemaAt(config: object, path: Path): z.ZodObject | undefined {
  let schema: z.ZodType | undefined = errandConfigSchema;
  let value: unknown = config;
  for (const segment of [...path, undefined]) {
    schema = unwrap(schema, value);
    if (segment === undefined) break;
    if (schema instanceof z.ZodObject) schema = (schema.shape as Record<PropertyKey, z.ZodType>)[segment];
    else if (schema instanceof z.ZodRecord) schema = schema.valueType as z.ZodType;
    else if (schema instanceof z.ZodArray) schema = schema.element as z.ZodType;
    else return undefined;
    value = child(value, segment);
  }
  return schema instanceof z.ZodObject ? schema : undefined;
}

function unwrap(schema: z.ZodType | undefined, value: unknown): z.ZodType | undefined {
  if (schema instanceof z.ZodOptional) return unwrap(schema.unwrap() as z.ZodType, value);
  if (schema instanceof z.ZodDiscriminatedUnion) {
    const driver = child(value, schema.def.discriminator);
    return schema.options.find(
      (option) =>
        option instanceof z.ZodObject &&
        (option.shape as Record<string, z.ZodType>)[schema.def.discriminator]?.safeParse(driver).success,
    ) as z.ZodType | undefined;
  }
  // `heartbeat: false | {…}`: the keys are the object form's.
  if (schema instanceof z.ZodUnion)
    return schema.options.find((option) => option instanceof z.ZodObject) as z.ZodType | undefined;
  return schema;
}
