import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFilter, FilterError } from '../oneroster/filter-grammar.ts';
import type { AnyEntity, Enrollment } from '../oneroster/types.ts';
import { ArraySource } from './array-source.ts';
import type { Scope } from './dataset.ts';
import { MemoryDataset } from './memory-dataset.ts';
import { tinyDistrict } from './test-district.ts';

const ids = (records: readonly AnyEntity[]): string[] => records.map((r) => r.sourcedId);
const q = (extra: Partial<Parameters<MemoryDataset['query']>[2]> = {}) => ({ offset: 0, limit: 100, orderBy: 'asc' as const, ...extra });
const withFilter = (text: string) => ({ filter: parseFilter(text), filterText: text });

test('stable sourcedId order, offset/limit, total', () => {
  const ds = new MemoryDataset(tinyDistrict());
  const all = ds.query('classes', { kind: 'all' }, q());
  assert.deepEqual(ids(all.records), ['c1', 'c2', 'c3']);
  const page = ds.query('classes', { kind: 'all' }, q({ offset: 2, limit: 1 }));
  assert.deepEqual(ids(page.records), ['c3']);
  assert.equal(page.total, 3);
  assert.deepEqual(ids(ds.query('classes', { kind: 'all' }, q({ offset: 5 })).records), []);
});

test('duplicate sourcedIds keep source order', () => {
  const mk = (id: string, tag: string) => ({ sourcedId: id, status: 'active', dateLastModified: '2025-01-01T00:00:00.000Z', name: tag, type: 'school' }) as unknown as AnyEntity;
  const ds = new MemoryDataset(new ArraySource({ orgs: [mk('b', '1'), mk('a', '2'), mk('b', '3'), mk('a', '4')] }));
  const names = ds.query('orgs', { kind: 'all' }, q()).records.map((r) => (r as unknown as { name: string }).name);
  assert.deepEqual(names, ['2', '4', '1', '3']);
});

test('sort and orderBy on any top-level field with sourcedId tiebreak', () => {
  const ds = new MemoryDataset(tinyDistrict());
  assert.deepEqual(ids(ds.query('users', { kind: 'all' }, q({ sort: 'role' })).records), ['gu1', 'st1', 'st2', 'st3', 'st4', 'te1', 'te2']);
  assert.deepEqual(ids(ds.query('users', { kind: 'all' }, q({ sort: 'role', orderBy: 'desc' })).records), ['te1', 'te2', 'st1', 'st2', 'st3', 'st4', 'gu1']);
  assert.deepEqual(ids(ds.query('orgs', { kind: 'all' }, q({ sort: 'dateLastModified', orderBy: 'desc' })).records), ['s1', 's2', 'd1']);
  assert.deepEqual(ids(ds.query('orgs', { kind: 'all' }, q({ sort: 'sourcedId', orderBy: 'desc' })).records), ['s2', 's1', 'd1']);
  // GUIDRef fields sort by their sourcedId; missing values sort last.
  assert.deepEqual(ids(ds.query('academicSessions', { kind: 'all' }, q({ sort: 'parent' })).records), ['g1', 'g2', 'g3', 't1', 't2', 't3', 'y1']);
});

test('filter and its cache keyed on source version', () => {
  const src = tinyDistrict();
  const ds = new MemoryDataset(src);
  const f = withFilter("status='active'");
  assert.equal(ds.query('enrollments', { kind: 'all' }, q(f)).total, 7);
  assert.equal(ds.query('enrollments', { kind: 'all' }, q({ ...f, offset: 5 })).records.length, 2);
  assert.equal(ds.stats.listBuilds, 1);
  assert.equal(ds.stats.listHits, 1);
  const e1 = src.get('enrollments', 'e1') as Enrollment;
  src.upsert('enrollments', { ...e1, status: 'tobedeleted' });
  assert.equal(ds.query('enrollments', { kind: 'all' }, q(f)).total, 6);
  assert.equal(ds.stats.listBuilds, 2);
});

test('unknown filter field throws FilterError', () => {
  const ds = new MemoryDataset(tinyDistrict());
  assert.throws(() => ds.query('users', { kind: 'all' }, q(withFilter("nope='x'"))), (e: unknown) => e instanceof FilterError && e.codeMinor === 'invalid_filter_field');
});

test('scopes', () => {
  const ds = new MemoryDataset(tinyDistrict());
  const s = (collection: Parameters<MemoryDataset['query']>[0], scope: Scope) => ids(ds.query(collection, scope, q()).records);
  assert.deepEqual(s('users', { kind: 'usersByRole', role: 'student' }), ['st1', 'st2', 'st3', 'st4']);
  assert.deepEqual(s('orgs', { kind: 'orgsByType', type: 'school' }), ['s1', 's2']);
  assert.deepEqual(s('academicSessions', { kind: 'sessionsByType', type: 'term' }), ['t1', 't2', 't3']);
  assert.deepEqual(s('academicSessions', { kind: 'gradingPeriodsForTerm', termId: 't1' }), ['g1', 'g2']);
  assert.deepEqual(s('classes', { kind: 'classesForUser', userId: 'st1' }), ['c1', 'c2']);
  assert.deepEqual(s('classes', { kind: 'classesForUser', userId: 'te2' }), ['c3']);
  assert.deepEqual(s('users', { kind: 'usersForClass', classId: 'c1', role: 'student' }), ['st1', 'st2', 'st3']);
  assert.deepEqual(s('users', { kind: 'usersForClass', classId: 'c1', role: 'teacher' }), ['te1']);
  assert.deepEqual(s('users', { kind: 'usersForClass', classId: 'c1', role: 'student', schoolId: 's2' }), []);
  assert.deepEqual(s('classes', { kind: 'classesForCourse', courseId: 'co1' }), ['c1', 'c2']);
  assert.deepEqual(s('classes', { kind: 'classesForSchool', schoolId: 's2' }), ['c3']);
  assert.deepEqual(s('classes', { kind: 'classesForTerm', termId: 't2' }), ['c3']);
  assert.deepEqual(s('courses', { kind: 'coursesForSchool', schoolId: 's1' }), ['co1']);
  assert.deepEqual(s('enrollments', { kind: 'enrollmentsForSchool', schoolId: 's2' }), ['e6', 'e7']);
  assert.deepEqual(s('enrollments', { kind: 'enrollmentsForSchool', schoolId: 's1', classId: 'c2' }), ['e4', 'e5']);
  assert.deepEqual(s('users', { kind: 'usersForSchool', schoolId: 's1', role: 'student' }), ['st1', 'st2', 'st3']);
  assert.deepEqual(s('users', { kind: 'usersForSchool', schoolId: 's2', role: 'teacher' }), ['te2']);
  // c1 lists term t1, c2 lists grading period g3; t3 is used by no class.
  assert.deepEqual(s('academicSessions', { kind: 'termsForSchool', schoolId: 's1' }), ['g3', 't1']);
  assert.deepEqual(s('academicSessions', { kind: 'termsForSchool', schoolId: 's2' }), ['t2']);
  assert.deepEqual(s('classes', { kind: 'classesForUser', userId: 'nobody' }), []);
});

test('scoped query with filter and sort', () => {
  const ds = new MemoryDataset(tinyDistrict());
  const r = ds.query('users', { kind: 'usersForClass', classId: 'c1', role: 'student' }, q({ ...withFilter("dateLastModified>'2025-01-11'"), sort: 'dateLastModified', orderBy: 'desc' }));
  assert.deepEqual(ids(r.records), ['st3', 'st2']);
});

test('a 200k-record collection pages in O(limit) after the first page', () => {
  const n = 200_000;
  const enrollments: AnyEntity[] = [];
  for (let i = 0; i < n; i++) {
    enrollments.push({
      sourcedId: `e${String(i).padStart(7, '0')}`,
      status: i % 10 === 0 ? 'tobedeleted' : 'active',
      dateLastModified: '2025-01-01T00:00:00.000Z',
      user: { sourcedId: `u${i % 5000}`, type: 'user' },
      class: { sourcedId: `c${i % 700}`, type: 'class' },
      school: { sourcedId: 's1', type: 'org' },
      role: 'student',
    } as Enrollment);
  }
  const ds = new MemoryDataset(new ArraySource({ enrollments }));
  const f = withFilter("status='active'");
  let t = performance.now();
  const first = ds.query('enrollments', { kind: 'all' }, q({ ...f, limit: 5000 }));
  const firstMs = performance.now() - t;
  assert.equal(first.total, n - n / 10);
  t = performance.now();
  let count = first.records.length;
  for (let offset = 5000; offset < first.total; offset += 5000) count += ds.query('enrollments', { kind: 'all' }, q({ ...f, limit: 5000, offset })).records.length;
  const restMs = performance.now() - t;
  assert.equal(count, first.total);
  assert.equal(ds.stats.listBuilds, 1);
  // 35 cached pages must cost far less than building the list once per page would.
  assert.ok(restMs < firstMs * 5, `cached pages ${restMs.toFixed(1)} ms vs first ${firstMs.toFixed(1)} ms`);
});

test('sort on a dotted path', () => {
  const ds = new MemoryDataset(tinyDistrict());
  assert.deepEqual(ids(ds.query('classes', { kind: 'all' }, q({ sort: 'school.sourcedId', orderBy: 'desc' })).records), ['c3', 'c1', 'c2']);
});
