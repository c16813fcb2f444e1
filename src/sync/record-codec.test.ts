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
  it("equals contentHash of the same record (no hrefs)", () => {
    const rec = { sourcedId: 'u1', status: 'active', orgs: [{ sourcedId: 's', type: 'org' }] };
    assert.equal(hashCanonical(DEFAULT_CODEC.canonicalJson(rec)), contentHash(rec));
  });
});

describe('hashCanonical ignores GUIDRef hrefs', () => {
  const c = DEFAULT_CODEC.canonicalJson;
  it('same hash when only hrefs differ (host, port, relative ~/ form, absent)', () => {
    const ref = (href?: string) => ({ ...(href !== undefined ? { href } : {}), sourcedId: 'c1', type: 'class' });
    const rec = (href?: string) => ({ sourcedId: 'e1', status: 'active', class: ref(href), user: { href: href?.replace('classes/c1', 'users/u1'), sourcedId: 'u1', type: 'user' } });
    const h1 = hashCanonical(c(rec('http://127.0.0.1:1/ims/oneroster/v1p1/classes/c1')));
    assert.equal(hashCanonical(c(rec('http://127.0.0.1:2/ims/oneroster/v1p1/classes/c1'))), h1);
    assert.equal(hashCanonical(c(rec('~/ims/oneroster/v1p1/classes/c1'))), h1);
    assert.equal(hashCanonical(c(rec(undefined))), hashCanonical(c({ sourcedId: 'e1', status: 'active', class: ref(), user: { sourcedId: 'u1', type: 'user' } })));
  });
  it('still sees a changed sourcedId, and never strips text inside values', () => {
    const a = { sourcedId: 'e1', class: { href: 'h', sourcedId: 'c1', type: 'class' } };
    const b = { sourcedId: 'e1', class: { href: 'h', sourcedId: 'c2', type: 'class' } };
    assert.notEqual(hashCanonical(c(a)), hashCanonical(c(b)));
    const tricky1 = { sourcedId: 'x', title: '{"href":"a",' };
    const tricky2 = { sourcedId: 'x', title: '{' };
    assert.notEqual(hashCanonical(c(tricky1)), hashCanonical(c(tricky2)));
  });
});
