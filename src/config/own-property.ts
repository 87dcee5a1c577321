/**
 * The value `record` holds under `key` as its own property, else undefined. Names come from
 * configuration files, command lines and payloads, and may be `constructor`, `__proto__` or
 * `toString`: a plain object answers those from Object.prototype, which would make an unknown
 * name look defined (a connection that is a function, with no driver).
 */
export function ownProperty<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}
