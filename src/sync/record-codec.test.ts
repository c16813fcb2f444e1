import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { contentHash } from '../oneroster/canonical.ts';
import { DEFAULT_CODEC, hashCanonical, jsonEqual } from './record-codec.ts';

describe('jsonEqual', () => {
  it('ignores key order and undefined properties', () => {
    assert.equal(jsonEqual({ a: 1, b: { c: [1, { d: 2 }] } }, { b: { c: [1, { d: 2 }] }, a: 1, z: undefined }), true);
  });
  it('sees nulls, extra keys, array order and type differences', () => {
    assert.equal(jsonEqual({ a: 1, b: null }, { a: 1 }), false);
    assert.equal(jsonEqual({ a: 1 }, { a: 1, b: 2 }), false);
    assert.equal(jsonEqual([1, 2], [2, 1]), false);
    assert.equal(jsonEqual({ a: '1' }, { a: 1 }), false);
    assert.equal(jsonEqual({ a: [] }, { a: {} }), false);
  });
});

describe('hashCanonical', () => {
  it('equals contentHash of the same record', () => {
    const rec = { sourcedId: 'u1', status: 'active', orgs: [{ sourcedId: 's', type: 'org' }] };
    assert.equal(hashCanonical(DEFAULT_CODEC.canonicalJson(rec)), contentHash(rec));
  });
});
