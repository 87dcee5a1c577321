import 'reflect-metadata';

import { Exclude, Expose, instanceToPlain, Transform, Type } from 'class-transformer';
import { describe, expect, it } from 'vitest';

import { toPlainData } from '../../src/payload/plain-data.js';

class Plain {
  constructor(
    readonly id: number,
    readonly tags: string[],
    readonly meta: { nested: { list: Array<number | null | undefined> }; note?: string },
  ) {}
}

class WithExclude {
  kept = 'kept';
  @Exclude() secret = 'hidden';
}

class WithExpose {
  @Expose({ name: 'renamed' }) original = 'value';
  other = 1;
}

@Exclude()
class ExposeOnly {
  @Expose() shown = 'shown';
  dropped = 'dropped';
}

class WithTransform {
  @Transform(({ value }) => (value as string).toUpperCase(), { toPlainOnly: true }) name = 'ada';
  count = 2;
}

class Inner {
  @Exclude() internal = 'internal';
  visible = 'visible';
}

class WithNestedType {
  // Plain data, but @Type makes class-transformer read it with Inner's decorators.
  @Type(() => Inner) inner = { internal: 'internal', visible: 'visible' };
}

@Exclude()
class ExcludeAll {
  hidden = 'hidden';
}

class Parent {
  @Exclude() inherited = 'inherited';
}

class Child extends Parent {
  own = 'own';
}

describe('toPlainData', () => {
  it('copies plain data as instanceToPlain does, a fresh copy with the same keys', () => {
    const job = new Plain(7, ['a', 'b'], { nested: { list: [1, null] }, note: undefined });
    const plain = toPlainData(job, 'Plain');
    expect(plain).toEqual(instanceToPlain(job));
    expect(Object.keys(plain)).toEqual(['id', 'tags', 'meta']);
    expect(JSON.stringify(plain)).toBe(JSON.stringify(instanceToPlain(job)));
    expect(plain.tags).not.toBe(job.tags);
    expect(plain.meta).not.toBe(job.meta);
  });

  it('closes holes in arrays as instanceToPlain does', () => {
    // eslint-disable-next-line no-sparse-arrays
    const job = new Plain(1, ['a', , 'c'] as string[], { nested: { list: [1, , 3] } });
    expect(JSON.stringify(toPlainData(job, 'Plain'))).toBe(JSON.stringify(instanceToPlain(job)));
    expect(toPlainData(job, 'Plain').tags).toEqual(['a', 'c']);
  });

  it('leaves out the skipped properties', () => {
    expect(toPlainData(new Plain(1, [], { nested: { list: [] } }), 'Plain', { skip: new Set(['meta']) })).toEqual({
      id: 1,
      tags: [],
    });
  });

  it.each([
    ['@Exclude', new WithExclude(), { kept: 'kept' }],
    ['@Expose with a name', new WithExpose(), { renamed: 'value', other: 1 }],
    ['@Exclude on the class with @Expose', new ExposeOnly(), { shown: 'shown' }],
    ['@Transform', new WithTransform(), { name: 'ADA', count: 2 }],
    ['@Type over plain data', new WithNestedType(), { inner: { visible: 'visible' } }],
    ['decorators of a parent class', new Child(), { own: 'own' }],
    ['@Exclude on the class alone', new ExcludeAll(), {}],
  ])('applies class-transformer decorators to plain data: %s', (_, job, expected) => {
    const plain = toPlainData(job, job.constructor.name);
    expect(plain).toEqual(expected);
    expect(plain).toEqual(instanceToPlain(job));
  });
});
