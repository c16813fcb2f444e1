import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rng, streamSeed } from './random.ts';

const draw = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.u32());

describe('Rng', () => {
  it('is deterministic for a (seed, stream) pair', () => {
    assert.deepEqual(draw(new Rng(42, 'a'), 50), draw(new Rng(42, 'a'), 50));
  });

  it('gives different sequences for different seeds and streams', () => {
    const base = draw(new Rng(42, 'a'), 20);
    assert.notDeepEqual(draw(new Rng(43, 'a'), 20), base);
    assert.notDeepEqual(draw(new Rng(42, 'b'), 20), base);
    assert.notEqual(streamSeed(1, 'churn:1'), streamSeed(1, 'churn:2'));
  });

  it('pins the first outputs so that generated districts stay stable across refactors', () => {
    // If this changes, every seeded district changes: update deliberately, never by accident.
    assert.deepEqual(draw(new Rng(1), 3), [1554700745, 212546326, 2687557192]);
  });

  it('keeps int, range and float within bounds and covers them', () => {
    const rng = new Rng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 5000; i++) {
      const v = rng.int(10);
      assert.ok(v >= 0 && v < 10);
      seen.add(v);
      const r = rng.range(-3, 3);
      assert.ok(r >= -3 && r <= 3);
      const f = rng.float();
      assert.ok(f >= 0 && f < 1);
    }
    assert.equal(seen.size, 10);
  });

  it('sample returns exactly k distinct ascending indices', () => {
    const rng = new Rng(9);
    for (const [n, k] of [[100, 5], [10, 10], [10, 0], [1000, 333], [3, 7]] as const) {
      const s = rng.sample(n, k);
      assert.equal(s.length, Math.min(n, k));
      for (let i = 1; i < s.length; i++) assert.ok(s[i]! > s[i - 1]!);
      assert.ok(s.every((x) => x >= 0 && x < n));
    }
  });

  it('count has the requested mean (including fractional means)', () => {
    const rng = new Rng(3);
    let total = 0;
    for (let i = 0; i < 20_000; i++) total += rng.count(0.25);
    assert.ok(Math.abs(total / 20_000 - 0.25) < 0.02, `mean ${total / 20_000}`);
    assert.equal(new Rng(3).count(4), 4);
  });

  it('shuffle is a permutation and weighted respects zero weights', () => {
    const rng = new Rng(5);
    const a = rng.shuffle(Array.from({ length: 50 }, (_, i) => i));
    assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
    for (let i = 0; i < 200; i++) assert.notEqual(rng.weighted(['a', 'b', 'c'], [1, 0, 1]), 'b');
  });
});
