import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { canonicalJson, contentHash } from './canonical.ts';

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

describe('contentHash', () => {
  it('is the sha256 hex of the canonical JSON', () => {
    const rec = { b: [1, 2], a: 'x' };
    assert.equal(contentHash(rec), createHash('sha256').update('{"a":"x","b":[1,2]}').digest('hex'));
    assert.match(contentHash(rec), /^[0-9a-f]{64}$/);
    assert.notEqual(contentHash({ a: 'x' }), contentHash({ a: 'y' }));
  });
});
