import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fieldDiff } from './field-diff.ts';

describe('fieldDiff', () => {
  it('reports changed, added and removed top-level fields with before/after', () => {
    const d = fieldDiff({ sourcedId: 'u1', givenName: 'Ann', email: 'a@x.org', grades: ['01'] }, { sourcedId: 'u1', givenName: 'Anne', grades: ['01'], phone: '+15551234567' });
    assert.deepEqual(d, {
      email: { before: 'a@x.org', after: null },
      givenName: { before: 'Ann', after: 'Anne' },
      phone: { before: null, after: '+15551234567' },
    });
  });

  it('ignores key order and GUIDRef hrefs, but not sourcedId changes inside refs', () => {
    const before = JSON.stringify({ school: { href: 'http://a/orgs/s1', sourcedId: 's1', type: 'org' }, title: 'T' });
    const sameOtherHost = { title: 'T', school: { type: 'org', sourcedId: 's1', href: 'http://b/orgs/s1' } };
    assert.deepEqual(fieldDiff(before, sameOtherHost), {});
    const moved = { title: 'T', school: { type: 'org', sourcedId: 's2', href: 'http://b/orgs/s2' } };
    assert.deepEqual(Object.keys(fieldDiff(before, moved)), ['school']);
  });

  it('treats array order as significant', () => {
    assert.deepEqual(Object.keys(fieldDiff({ grades: ['01', '02'] }, { grades: ['02', '01'] })), ['grades']);
  });

  it('never records a password value, only that it changed', () => {
    assert.deepEqual(fieldDiff({ password: 'old-secret' }, { password: 'new-secret' }), { password: { before: '[redacted]', after: '[redacted]' } });
    assert.deepEqual(fieldDiff({}, { password: 'x' }), { password: { before: null, after: '[redacted]' } });
    assert.deepEqual(fieldDiff({ password: 'same' }, { password: 'same' }), {});
  });
});
