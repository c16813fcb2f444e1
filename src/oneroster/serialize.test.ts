import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { pathFor, pickFields, toWire } from './serialize.ts';
import { readEntity } from './reader.ts';
import { FULL_RECORDS } from './sample-records.ts';
import { COLLECTIONS } from './types.ts';

const BASE = 'https://h.example/ims/oneroster/v1p1';

describe('toWire', () => {
  it('adds absolute hrefs from the base URL, in wire order href/sourcedId/type', () => {
    const w = toWire('enrollments', FULL_RECORDS.enrollments, `${BASE}/`);
    assert.deepEqual(Object.keys(w['user'] as object), ['href', 'sourcedId', 'type']);
    assert.deepEqual(w['user'], { href: `${BASE}/users/u1`, sourcedId: 'u1', type: 'user' });
    assert.deepEqual(w['class'], { href: `${BASE}/classes/k1`, sourcedId: 'k1', type: 'class' });
    assert.deepEqual(w['school'], { href: `${BASE}/orgs/s1`, sourcedId: 's1', type: 'org' });
    assert.equal(w['primary'], false);
    const k = toWire('classes', FULL_RECORDS.classes, BASE);
    assert.deepEqual(k['terms'], [{ href: `${BASE}/academicSessions/t1`, sourcedId: 't1', type: 'academicSession' }]);
    assert.deepEqual(k['periods'], ['1', '3']);
    const c = toWire('courses', FULL_RECORDS.courses, BASE);
    assert.equal((c['schoolYear'] as { href: string }).href, `${BASE}/academicSessions/y2025`);
    assert.equal((c['resources'] as Array<{ href: string }>)[0]?.href, `${BASE}/resources/r1`);
  });

  it('encodes ids in hrefs and uses the ref type for the path', () => {
    const rec = { ...FULL_RECORDS.enrollments, user: { sourcedId: 'a/b c', type: 'student' } };
    assert.equal((toWire('enrollments', rec, BASE)['user'] as { href: string }).href, `${BASE}/students/a%2Fb%20c`);
  });

  it('passes references through unchanged without a base URL', () => {
    const rec = { ...FULL_RECORDS.users, orgs: [{ sourcedId: 's1', type: 'org', href: '~/orgs/s1' }] };
    const w = toWire('users', rec);
    assert.equal(w['orgs'], rec.orgs);
    assert.deepEqual(w, rec);
    assert.notEqual(w, rec);
  });

  it('omits undefined, keeps dirty values as they are', () => {
    const dirty = { sourcedId: 'u9', status: 'Active', identifier: null, middleName: undefined, orgs: [{ sourcedId: 5 }, 'x'], enabledUser: 'True' };
    const w = toWire('users', dirty, BASE);
    assert.deepEqual(w, { sourcedId: 'u9', status: 'Active', identifier: null, orgs: [{ sourcedId: 5 }, 'x'], enabledUser: 'True' });
    assert.ok(!('middleName' in w));
  });

  it('round-trips through the reader for every collection', () => {
    for (const c of COLLECTIONS) {
      const wire = JSON.parse(JSON.stringify(toWire(c, FULL_RECORDS[c], BASE)));
      const r = readEntity(c, wire);
      assert.deepEqual(r.issues, [], c);
      // the reader keeps hrefs as sent; without them the record is the original
      const strip = (v: unknown): unknown =>
        Array.isArray(v) ? v.map(strip) : v && typeof v === 'object' && 'sourcedId' in v && 'href' in v
          ? { sourcedId: (v as { sourcedId: string }).sourcedId, type: (v as unknown as { type: string }).type } : v;
      const rec = Object.fromEntries(Object.entries(r.record ?? {}).map(([k, v]) => [k, strip(v)]));
      assert.deepEqual(rec, FULL_RECORDS[c], c);
    }
  });

  it('serialises a 5000-record page quickly', () => {
    const t0 = performance.now();
    for (let i = 0; i < 5000; i++) toWire('users', FULL_RECORDS.users, BASE);
    assert.ok(performance.now() - t0 < 200);
  });
});

describe('pathFor / pickFields', () => {
  it('maps GUIDRef types to endpoints', () => {
    assert.equal(pathFor('academicSession'), 'academicSessions');
    assert.equal(pathFor('gradingPeriod'), 'gradingPeriods');
    assert.equal(pathFor('class'), 'classes');
    assert.equal(pathFor('category'), 'categories');
    assert.equal(pathFor('thing'), 'things');
  });
  it('keeps only the selected fields', () => {
    assert.deepEqual(pickFields({ sourcedId: 'u1', givenName: 'J', role: 'student' }, ['role', 'sourcedId', 'nope']), { sourcedId: 'u1', role: 'student' });
  });
});
