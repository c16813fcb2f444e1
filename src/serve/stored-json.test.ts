import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson } from '../oneroster/canonical.ts';
import { readEntity } from '../oneroster/reader.ts';
import { toWire } from '../oneroster/serialize.ts';
import { COLLECTIONS, type CollectionName } from '../oneroster/types.ts';
import { District } from '../simulate/district.ts';
import { StoredJsonWriter, storedEntity, type StoredRecord } from './stored-json.ts';

const UPSTREAM = 'http://sis.example:8080/ims/oneroster/v1p1';
const BASE = 'http://127.0.0.1:9000/ims/oneroster/v1p1/';
const reference = (c: CollectionName, row: StoredRecord): string => JSON.stringify(toWire(c, storedEntity(row), BASE));

/** What the sync stores for a provider record: the lenient reader's output as canonical JSON. */
function storedTexts(dirtyRate: number): Array<[CollectionName, string]> {
  const district = District.generate({ size: 'tiny', seed: 5, dirtyRate });
  const out: Array<[CollectionName, string]> = [];
  for (const c of COLLECTIONS) {
    for (const r of district.records(c)) {
      const { record } = readEntity(c, JSON.parse(JSON.stringify(toWire(c, r, UPSTREAM))));
      if (record !== undefined) out.push([c, canonicalJson(record)]);
    }
  }
  return out;
}

describe('StoredJsonWriter', () => {
  it('gives the bytes of JSON.stringify(toWire(parsed record with overrides)) on clean and dirty synced records', () => {
    for (const dirty of [0, 0.3]) {
      const w = new StoredJsonWriter(BASE);
      const texts = storedTexts(dirty);
      assert.ok(texts.length > 300, `only ${texts.length} records`);
      for (const [c, json] of texts) {
        for (const row of [
          { json, dateLastModified: '2026-01-02T03:04:05.678Z', status: 'active' },
          { json, dateLastModified: undefined, status: 'tobedeleted' },
        ]) {
          assert.equal(w.record(c, row), reference(c, row), `${c} ${json.slice(0, 80)}`);
        }
      }
      // The point of the class: clean synced records never take the parse path, nor the member walk.
      if (dirty === 0) assert.deepEqual({ walked: w.stats.walked, exact: w.stats.exact }, { walked: 0, exact: 0 }, `clean data: ${JSON.stringify(w.stats)}`);
      assert.ok(w.stats.fast > w.stats.exact, `fast ${w.stats.fast} vs exact ${w.stats.exact}`);
    }
  });

  it('rewrites every top-level GUIDRef href to this server, whatever the stored one was', () => {
    const w = new StoredJsonWriter(BASE);
    const json = canonicalJson({
      sourcedId: 'e1',
      status: 'active',
      dateLastModified: '2020-01-01T00:00:00.000Z',
      role: 'student',
      class: { href: 'https://old.example/x/classes/c1', sourcedId: 'c 1/ü', type: 'class' },
      school: { sourcedId: 's1', type: 'org' },
      user: { href: 'relative/users/u1', sourcedId: "u'(1)*!~", type: 'user' },
    });
    const row = { json, dateLastModified: '2026-05-06T07:08:09.000Z', status: 'tobedeleted' };
    const text = w.record('enrollments', row);
    assert.equal(text, reference('enrollments', row));
    const out = JSON.parse(text) as Record<string, Record<string, string>>;
    assert.equal(out['class']!['href'], `${BASE.slice(0, -1)}/classes/${encodeURIComponent('c 1/ü')}`);
    assert.equal(out['school']!['href'], `${BASE.slice(0, -1)}/orgs/s1`);
    assert.equal(out['user']!['href'], `${BASE.slice(0, -1)}/users/u'(1)*!~`);
    assert.equal(out['dateLastModified'] as unknown, '2026-05-06T07:08:09.000Z');
    assert.equal(out['status'] as unknown, 'tobedeleted');
    assert.deepEqual(w.stats, { fast: 1, walked: 0, exact: 0 }, 'ids needing percent-encoding stay on the fast path (scan)');
  });

  it('falls back to the exact path for escapes, nested lookalikes, odd refs and missing members, with equal bytes', () => {
    const w = new StoredJsonWriter(BASE);
    const cases: Array<[CollectionName, unknown]> = [
      ['users', { sourcedId: 'u"1', status: 'active', givenName: 'Zoë "Q" \\ line\nbreak', orgs: [] }],
      ['users', { sourcedId: 'u2', status: 'active', metadata: { status: 'x', dateLastModified: 'y', orgs: [{ sourcedId: 'o', type: 'org' }] }, orgs: [{ sourcedId: 's1', type: 'org' }] }],
      ['classes', { sourcedId: 'c1', status: 'active', school: { sourcedId: 's1', type: '' }, terms: [{ sourcedId: 't1' }, null] }],
      ['classes', { sourcedId: 'c2', status: 'active', school: null, course: 'not-a-ref', terms: [{ sourcedId: 't1', type: 'term', extra: 1 }] }],
      ['orgs', { sourcedId: 'o1', name: '山田 学校 \ud83d\ude00', type: 'school' }],
      ['orgs', { sourcedId: 'o2', dateLastModified: 20200101, status: 7, parent: { sourcedId: 7, type: 'org' } }],
      ['demographics', {}],
    ];
    for (const [c, rec] of cases) {
      const json = canonicalJson(rec);
      for (const row of [
        { json, dateLastModified: '2026-01-01T00:00:00.000Z', status: 'active' },
        { json, dateLastModified: undefined, status: 'tobedeleted' },
      ]) {
        assert.equal(w.record(c, row), reference(c, row), `${c} ${json}`);
      }
    }
    assert.ok(w.stats.exact >= 8, `escapes and odd shapes must take the exact path (${w.stats.exact})`);
  });

  it('appends dateLastModified and status when the stored record lacks them, as storedEntity does', () => {
    const w = new StoredJsonWriter(BASE);
    const json = canonicalJson({ sourcedId: 'a1', title: 'T', type: 'term' });
    const out = w.record('academicSessions', { json, dateLastModified: '2026-01-01T00:00:00.000Z', status: 'active' });
    assert.equal(out, '{"sourcedId":"a1","title":"T","type":"term","dateLastModified":"2026-01-01T00:00:00.000Z","status":"active"}');
    assert.deepEqual(w.stats, { fast: 1, walked: 0, exact: 0 }, 'missing members do not need the exact path');
  });
});
