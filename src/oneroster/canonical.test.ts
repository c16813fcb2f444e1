import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson, contentHash } from './canonical.ts';

/**
 * The original encoder, kept verbatim as the reference: stored content hashes were made with it,
 * so `canonicalJson` must give byte-identical text for every input.
 */
const REF_MAX_DEPTH = 200;
function refEncode(v: unknown, depth: number): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? JSON.stringify(v) : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'undefined':
    case 'function':
    case 'symbol':
      return undefined;
    case 'bigint':
      throw new TypeError('canonicalJson: BigInt values cannot be serialised');
    default:
      break;
  }
  if (v === null) return 'null';
  if (depth > REF_MAX_DEPTH) throw new TypeError('canonicalJson: value is nested too deeply or is cyclic');
  const obj = v as { toJSON?: () => unknown };
  if (typeof obj.toJSON === 'function') return refEncode(obj.toJSON(), depth + 1);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) {
      if (i > 0) out += ',';
      out += refEncode(v[i], depth + 1) ?? 'null';
    }
    return out + ']';
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec).sort();
  let out = '{';
  let first = true;
  for (const k of keys) {
    const e = refEncode(rec[k], depth + 1);
    if (e === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += JSON.stringify(k) + ':' + e;
  }
  return out + '}';
}
function refCanonicalJson(value: unknown): string {
  return refEncode(value, 0) ?? 'null';
}

/** Deterministic PRNG (mulberry32), so a failure reproduces. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CHARS = ['a', 'Z', ' ', '"', '\\', '\n', '\t', '\u0000', '\u001f', '\u007f', 'é', '\u2028', '\u2029', '/',
  '\ud83d\ude00', '\ud800', '\udfff', '\uffff', '<', '中'];
const NUMBERS = [0, -0, 1, -1, 1.5, -2.25, 1e21, 1e-7, 123456789012, NaN, Infinity, -Infinity,
  Number.MAX_SAFE_INTEGER, Number.MIN_VALUE, Number.MAX_VALUE, 0.1 + 0.2];
const KEYS = ['a', 'b', 'B', 'á', '', 'sourcedId', 'type', 'href', '1', '10', '2', '0', '01', '-1', '4294967295',
  '1.5', '__proto__', 'toJSON', 'a\u0000b', 'é', '\ud83d\ude00', '\ud800', ' ', 'z', 'constructor'];

function randomValue(r: () => number, depth: number): unknown {
  const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const randomString = (): string => {
    let s = '';
    const n = Math.floor(r() * 6);
    for (let i = 0; i < n; i++) s += pick(CHARS);
    return s;
  };
  const leaf = depth > 4 || r() < 0.45;
  if (leaf) {
    switch (Math.floor(r() * 10)) {
      case 0: return null;
      case 1: return undefined;
      case 2: return r() < 0.5;
      case 3: case 4: return pick(NUMBERS);
      case 5: return r() * 1e6 - 5e5;
      case 6: return () => 1;
      case 7: return r() < 0.5 ? Symbol('s') : new Date(Math.floor(r() * 2e12));
      default: return randomString();
    }
  }
  switch (Math.floor(r() * 8)) {
    case 0: {
      const arr: unknown[] = [];
      const n = Math.floor(r() * 5);
      for (let i = 0; i < n; i++) arr.push(randomValue(r, depth + 1));
      if (r() < 0.1) arr.length += 2; // holes
      return arr;
    }
    case 1: {
      const inner = randomValue(r, depth + 1);
      return { toJSON: () => inner, ignored: 1 };
    }
    case 2:
      return pick([new String('ab'), new Number(3), new Boolean(false), Object.create(null) as object,
        Object.assign(Object.create({ inherited: 1 }) as object, { own: 2 })]);
    default: {
      // Objects, often reusing one key set in a fresh order so the shape cache both hits and misses.
      const o: Record<string, unknown> = {};
      const n = Math.floor(r() * 7);
      const keys: string[] = [];
      for (let i = 0; i < n; i++) keys.push(r() < 0.7 ? pick(KEYS.slice(5, 8).concat(KEYS.slice(0, 4))) : pick(KEYS));
      if (r() < 0.5) keys.reverse();
      for (const k of keys) {
        // defineProperty, so `__proto__` becomes an own key instead of setting the prototype.
        Object.defineProperty(o, k, { value: randomValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
      }
      return o;
    }
  }
}

function outcome(f: (v: unknown) => string, v: unknown): string {
  try {
    return 'ok:' + f(v);
  } catch (e) {
    return 'throw:' + (e as Error).name + ':' + (e as Error).message;
  }
}

describe('canonicalJson', () => {
  it('sorts keys at every level and has no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: 'x' } }), '{"a":{"c":"x","d":[3,{"y":2,"z":1}]},"b":1}');
  });

  it('is independent of key insertion order', () => {
    const a = { sourcedId: 'u1', orgs: [{ sourcedId: 's1', type: 'org' }], role: 'student' };
    const b = { role: 'student', orgs: [{ type: 'org', sourcedId: 's1' }], sourcedId: 'u1' };
    assert.equal(canonicalJson(a), canonicalJson(b));
    assert.equal(contentHash(a), contentHash(b));
  });

  it('follows JSON.stringify for values', () => {
    const v = { s: 'é"\n\u2028', n: -0, f: 1.5, big: 1e21, t: true, nul: null, u: undefined, nan: NaN, inf: -Infinity,
      arr: [undefined, () => 1, 'x'], d: new Date(Date.UTC(2024, 0, 1)) };
    assert.deepEqual(JSON.parse(canonicalJson(v)), JSON.parse(JSON.stringify(v)));
    assert.equal(canonicalJson(undefined), 'null');
    assert.equal(canonicalJson('x'), '"x"');
    assert.equal(canonicalJson([]), '[]');
    assert.equal(canonicalJson({}), '{}');
  });

  it('orders keys by code unit, not locale', () => {
    assert.equal(canonicalJson({ b: 1, B: 2, á: 3, a: 4 }), '{"B":2,"a":4,"b":1,"á":3}');
  });

  it('rejects cycles and BigInt', () => {
    const o: Record<string, unknown> = {};
    o['self'] = o;
    assert.throws(() => canonicalJson(o), TypeError);
    assert.throws(() => canonicalJson({ n: 1n }), TypeError);
  });
});

describe('canonicalJson matches the original encoder byte for byte', () => {
  it('on 5000 random nested values', () => {
    const r = rng(20240901);
    for (let i = 0; i < 5000; i++) {
      const v = randomValue(r, 0);
      const want = outcome(refCanonicalJson, v);
      assert.equal(outcome(canonicalJson, v), want, `value #${i}`);
      assert.equal(outcome(canonicalJson, v), want, `value #${i}, second time (shape cache hit)`);
    }
  });

  it('on edge values', () => {
    const proto = JSON.parse('{"__proto__":{"x":1},"a":2}') as unknown;
    const sparse = [1, , 3]; // eslint-disable-line no-sparse-arrays
    const values: unknown[] = [undefined, null, '', 'é"\n\u2028\ud800', -0, 1e21, NaN, [], {}, [undefined, undefined],
      { u: undefined }, { u: undefined, a: 1 }, { a: undefined, b: undefined, c: 1 }, { a: () => 1, b: Symbol('x') },
      { 10: 'a', 9: 'b', 1: 'c', x: 'd', '01': 'e' }, proto, sparse, new String('xyz'), new Date(0),
      { toJSON: 'not a function', a: 1 }, { d: new Date(Date.UTC(2024, 0, 1)) }, [[[[]]], [{}]], 1n, { n: 1n }];
    for (const v of values) assert.equal(outcome(canonicalJson, v), outcome(refCanonicalJson, v));
  });

  it('at the depth limit and on cycles', () => {
    for (const depth of [199, 200, 201, 202]) {
      let v: unknown = 'x';
      for (let i = 0; i < depth; i++) v = i % 2 ? [v] : { k: v };
      assert.equal(outcome(canonicalJson, v), outcome(refCanonicalJson, v), `depth ${depth}`);
    }
    const cyc: unknown[] = [];
    cyc.push({ c: cyc });
    assert.equal(outcome(canonicalJson, cyc), outcome(refCanonicalJson, cyc));
  });

  it('when more shapes share a first key than the cache holds', () => {
    // 40 shapes all starting with `sourcedId`, each seen twice, interleaved: evictions must not mix them up.
    const recs: Record<string, unknown>[] = [];
    for (let i = 0; i < 40; i++) {
      const o: Record<string, unknown> = { sourcedId: `s${i}` };
      for (let j = 0; j <= i % 7; j++) o[`f${(i * 7 + j) % 23}`] = j;
      if (i % 3 === 0) o['extra'] = undefined;
      recs.push(o);
    }
    for (const o of [...recs, ...recs.slice().reverse()]) assert.equal(canonicalJson(o), refCanonicalJson(o));
  });

  it('on objects with over 64 keys (never cached)', () => {
    const big: Record<string, number> = {};
    for (let i = 99; i >= 0; i--) big[`k${i}`] = i;
    assert.equal(canonicalJson(big), refCanonicalJson(big));
    assert.equal(canonicalJson(big), refCanonicalJson(big));
  });
});

describe('contentHash', () => {
  it('is the sha256 hex of the canonical JSON', () => {
    const rec = { b: [1, 2], a: 'x' };
    assert.equal(contentHash(rec), createHash('sha256').update('{"a":"x","b":[1,2]}').digest('hex'));
    assert.match(contentHash(rec), /^[0-9a-f]{64}$/);
    assert.notEqual(contentHash({ a: 'x' }), contentHash({ a: 'y' }));
  });
});
