import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Hash53Set } from './hash53-set.ts';

test('Hash53Set agrees with a Set<number> over many values, repeats, 0 and values sharing their low 32 bits', () => {
  const ours = new Hash53Set(4);
  const ref = new Set<number>();
  let x = 12345;
  const next = (): number => {
    // A deterministic mix of values: random 53-bit ones, small ones, and ones equal in their low 32 bits.
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    switch (x % 4) {
      case 0: return x % 50;
      case 1: return 4294967296 * (x % 2097151) + 7;
      default: return 4294967296 * (x % 2097152) + ((x * 2654435761) >>> 0);
    }
  };
  for (let i = 0; i < 200_000; i++) {
    const v = next();
    assert.equal(ours.add(v), !ref.has(v), `add(${v})`);
    ref.add(v);
  }
  assert.equal(ours.size, ref.size);
  for (const v of [0, 1, 7, 4294967296 * 3 + 7, Number.MAX_SAFE_INTEGER]) assert.equal(ours.has(v), ref.has(v), `has(${v})`);
  assert.equal(ours.add(0), !ref.has(0));
});

test('Hash53Set refuses what is not a 53-bit hash', () => {
  const s = new Hash53Set();
  for (const bad of [-1, 1.5, Number.NaN, 2 ** 53]) assert.throws(() => s.add(bad), RangeError);
});
