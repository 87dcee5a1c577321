import { describe, expect, it } from 'vitest';

import { editDistance } from '../../src/runtime/edit-distance.js';

describe('editDistance', () => {
  it.each([
    ['client', 'client', 0],
    ['clinet', 'client', 1], // two neighbours swapped
    ['conections', 'connections', 1],
    ['retryafter', 'retryAfter', 1],
    ['work', 'queue:work', 6],
    ['', 'pool', 4],
    ['port', 'pool', 2],
  ])('from %s to %s is %i', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
    expect(editDistance(b, a)).toBe(distance);
  });
});
