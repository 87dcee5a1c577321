import 'reflect-metadata';

import { Exclude, plainToClassFromExist, Transform, Type } from 'class-transformer';
import { describe, expect, it } from 'vitest';

import { restoreInstance } from '../../src/payload/restore-instance.js';

class Plain {
  name = 'default';
  count = 0;
  greet(): string {
    return `hi ${this.name}`;
  }
  get shout(): string {
    return this.name.toUpperCase();
  }
}

class Child extends Plain {
  flag = false;
}

class WithDate {
  @Type(() => Date)
  at!: Date;
}

class WithTransform {
  @Transform(({ value }) => String(value).trim())
  label!: string;
}

class Base {
  @Type(() => Date)
  since!: Date;
}
class DecoratedParent extends Base {
  note = '';
}

@Exclude()
class ExcludeAll {
  secret = '';
}

/** Both ways from the same data: errand's fast path and class-transformer itself. */
function both<T extends object>(cls: new () => T, data: Record<string, unknown>): [T, T] {
  const fast = restoreInstance(Object.create(cls.prototype) as T, structuredClone(data));
  const slow = plainToClassFromExist(Object.create(cls.prototype) as T, structuredClone(data));
  return [fast, slow];
}

describe('restoreInstance', () => {
  it('fills an undecorated class with flat data exactly as class-transformer does', () => {
    const [fast, slow] = both(Plain, { name: 'ada', count: 3, extra: null, yes: true });
    expect(fast).toBeInstanceOf(Plain);
    expect({ ...fast }).toEqual({ ...slow });
    expect(fast.greet()).toBe('hi ada');
  });

  it('skips keys its prototype holds as methods or getter-only properties, as class-transformer does', () => {
    const [fast, slow] = both(Plain, { name: 'x', greet: 'overwritten?', shout: 'overwritten?' });
    expect(Object.keys(fast).sort()).toEqual(Object.keys(slow).sort());
    expect(fast.greet()).toBe('hi x');
    expect(fast.shout).toBe('X');
    const [child, childSlow] = both(Child, { name: 'c', flag: true });
    expect({ ...child }).toEqual({ ...childSlow });
  });

  it('hands decorated classes, their subclasses and nested data to class-transformer', () => {
    const [date] = both(WithDate, { at: '2026-01-02T03:04:05.000Z' });
    expect(date.at).toBeInstanceOf(Date);
    const [trimmed] = both(WithTransform, { label: '  padded  ' });
    expect(trimmed.label).toBe('padded');
    const [inherited] = both(DecoratedParent, { since: '2026-01-02T03:04:05.000Z', note: 'n' });
    expect(inherited.since).toBeInstanceOf(Date);
    const [hidden, hiddenSlow] = both(ExcludeAll, { secret: 's' });
    expect({ ...hidden }).toEqual({ ...hiddenSlow });
    expect(hidden.secret).toBeUndefined();
    const [nested, nestedSlow] = both(Plain, { name: 'n', tags: ['a', 'b'], meta: { deep: { x: 1 } } });
    expect(nested).toEqual(nestedSlow);
  });
});
