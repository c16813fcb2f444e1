import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toWire } from '../oneroster/serialize.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { CollectionName } from '../oneroster/types.ts';
import { District } from '../simulate/district.ts';
import { PageSerializer } from './page-serializer.ts';
import { tinyDistrict } from './test-district.ts';
import { ByteSink, WireJsonWriter } from './wire-json.ts';

const BASE = 'http://127.0.0.1:8080/ims/oneroster/v1p1/';
const expected = (c: CollectionName, r: object) => JSON.stringify(toWire(c, r, BASE));

test('byte-identical to JSON.stringify(toWire(...)) on a dirty generated district', () => {
  const district = District.generate({ size: 'tiny', seed: 11, dirtyRate: 0.3 });
  const w = new WireJsonWriter(BASE);
  let n = 0;
  for (const c of COLLECTIONS) {
    for (const r of district.records(c)) {
      // twice: the second time hits the identity caches
      assert.equal(w.record(c, r), expected(c, r), `${c} ${r.sourcedId}`);
      assert.equal(w.record(c, r), expected(c, r), `${c} ${r.sourcedId} (cached)`);
      n++;
    }
  }
  assert.ok(n > 200, `only ${n} records`);
});

test('escapes, non-ASCII, odd values and refs', () => {
  const w = new WireJsonWriter(BASE);
  const frozenRef = Object.freeze({ sourcedId: 'o/1 ü', type: 'org' });
  const weird = {
    sourcedId: 'q"uo\\te\n\u0001',
    status: 'active',
    dateLastModified: '2025-01-01T00:00:00.000Z',
    name: 'Zoë 山田 \ud83d\ude00 lone \ud800',
    type: 'school',
    identifier: null,
    metadata: { nested: [1, 'two', { three: true }], when: new Date(0), n: Number.NaN },
    parent: frozenRef,
    children: Object.freeze([frozenRef, { sourcedId: 'x' }, undefined, 'junk', { notARef: 1 }]),
    extra: -0,
    big: 1e21,
    fn: () => 1,
    [Symbol('s')]: 1,
    undef: undefined,
    '2': 'numeric key first',
    'we"ird key': 1,
  };
  for (let i = 0; i < 2; i++) assert.equal(w.record('orgs', weird), expected('orgs', weird));
  // A ref without a type takes the field's implied type.
  const user = { sourcedId: 'u', orgs: [{ sourcedId: 's1' }], agents: Object.freeze([Object.freeze({ sourcedId: 'p', type: '' })]) };
  assert.equal(w.record('users', user), expected('users', user));
  assert.match(w.record('users', user), /"href":"http:\/\/127\.0\.0\.1:8080\/ims\/oneroster\/v1p1\/orgs\/s1"/);
});

test('ByteSink grows and str matches JSON.stringify', () => {
  const sink = new ByteSink(4);
  const samples = ['', 'plain', 'tab\there', '</script>', '\u007f', '\u2028', 'é', 'x'.repeat(10_000)];
  for (const s of samples) {
    sink.off = 0;
    sink.str(s);
    assert.equal(sink.view().toString('utf8'), JSON.stringify(s));
  }
});

test('page bodies parse and buffers are pooled after release', () => {
  const src = tinyDistrict();
  const ser = new PageSerializer();
  const users = [...src.records('users')];
  const a = ser.collectionBody('users', 'users', users, BASE);
  const parsed = JSON.parse(a.body.toString('utf8')) as { users: unknown[] };
  assert.deepEqual(parsed.users, users.map((u) => toWire('users', u, BASE)));
  const firstBuffer = a.body.buffer;
  a.release();
  a.release(); // idempotent
  const b = ser.collectionBody('users', 'users', users.slice(0, 2), BASE, { warnings: [] });
  assert.equal(b.body.buffer, firstBuffer, 'reused the released buffer');
  const c = ser.collectionBody('users', 'users', users.slice(0, 1), BASE, { fields: ['sourcedId'] });
  assert.notEqual(c.body.buffer, firstBuffer, 'a buffer in use is not handed out twice');
  assert.deepEqual(JSON.parse(c.body.toString()), { users: [{ sourcedId: users[0]?.sourcedId }] });
  b.release();
  c.release();
});
