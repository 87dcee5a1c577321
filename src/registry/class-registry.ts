import { ConfigError } from '../errors/config-error.js';

/** A class registered under the name payloads carry. */
export interface NamedClass {
  readonly name: string;
  readonly target: Function;
}

/**
 * Classes by the name stored in payloads and by class: the allow-lists jobs, models and listeners
 * are decoded through. One name may only ever mean one class.
 */
export class ClassRegistry<T extends NamedClass> {
  private readonly names = new Map<string, T>();
  private readonly classes = new Map<Function, T>();

  /** `clash(name)` is the message when a second class claims a name. */
  constructor(private readonly clash: (name: string) => string) {}

  /** Whether this class is already registered under this name; throws when another class holds the name. */
  has(entry: T): boolean {
    const existing = this.names.get(entry.name);
    if (existing && existing.target !== entry.target) throw new ConfigError(this.clash(entry.name));
    return existing !== undefined;
  }

  register(entry: T): void {
    this.has(entry);
    this.names.set(entry.name, entry);
    this.classes.set(entry.target, entry);
  }

  byName(name: string): T | undefined {
    return this.names.get(name);
  }

  byClass(target: Function): T | undefined {
    return this.classes.get(target);
  }

  /** Every registered class, in the order registered. */
  entries(): T[] {
    return [...this.names.values()];
  }
}
