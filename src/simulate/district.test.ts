import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnyEntity, Class, CollectionName, Enrollment, User } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { RecordSource } from '../serve/record-source.ts';
import { District } from './district.ts';
import { checkIntegrity } from './large-integrity.ts';

const small = District.generate({ size: 'small' });

/** A RecordSource over plain arrays, for feeding the checker deliberately broken data. */
function sourceOf(records: Record<CollectionName, AnyEntity[]>): RecordSource {
  return {
    version: 1,
    records: (c) => records[c],
    get: (c, id) => records[c].find((r) => r.sourcedId === id),
    size: (c) => records[c].length,
  };
}
function copyOf(d: District): Record<CollectionName, AnyEntity[]> {
  const out = {} as Record<CollectionName, AnyEntity[]>;
  for (const c of COLLECTIONS) out[c] = [...d.records(c)];
  return out;
}

describe('District as a RecordSource', () => {
  it('get is the record records() yields, size matches, unknown ids are undefined', () => {
    for (const c of COLLECTIONS) {
      let n = 0;
      for (const r of small.records(c)) {
        n++;
        if (n % 97 === 0) assert.equal(small.get(c, r.sourcedId), r);
      }
      assert.equal(small.size(c), n, c);
    }
    assert.equal(small.get('users', 'stu-999999'), undefined);
    assert.equal(small.get('classes', 'stu-000001'), undefined);
    assert.equal(small.version, 1);
  });

  it('starts the clock at 2026-09-01T12:00:00Z by default, or at `now`', () => {
    assert.equal(small.now().toISOString(), '2026-09-01T12:00:00.000Z');
    const d = District.generate({ size: 'tiny', now: new Date('2027-01-15T08:00:00Z') });
    assert.equal(d.now().toISOString(), '2027-01-15T08:00:00.000Z');
    for (const r of d.records('users')) assert.ok(r.dateLastModified < '2027-01-15T08:00:00.000Z');
  });

  it('rejects bad options', () => {
    assert.throws(() => District.generate({ size: 'huge' as 'tiny' }), RangeError);
    assert.throws(() => District.generate({ size: 'tiny', dirtyRate: 1.5 }), RangeError);
    assert.throws(() => District.generate({ size: 'tiny', dirtyRate: -0.1 }), RangeError);
    assert.throws(() => District.generate({ size: 'tiny', now: new Date('nope') }), RangeError);
  });

  it('reports stats consistent with the records', () => {
    const s = small.stats();
    assert.equal(s.size, 'small');
    assert.equal(s.seed, 1);
    assert.equal(s.now, '2026-09-01T12:00:00.000Z');
    for (const c of COLLECTIONS) assert.equal(s.counts[c].total, small.size(c));
    assert.equal(s.students + s.teachers + s.contacts, s.counts.users.total);
    assert.deepEqual(Object.values(s.dirty), [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(s.dirtyRecords, []);
    assert.equal(s.churn.days, 0);
  });
});

describe('referential integrity of `small` (dirtyRate 0)', () => {
  it('passes the independent checker with zero problems', () => {
    const report = checkIntegrity(small);
    assert.deepEqual(report.problems.slice(0, 5), []);
    assert.equal(report.ok, true);
    assert.equal(report.checked.enrollments, small.size('enrollments'));
  });

  it('links agents both ways, never to teachers, and every contact has students', () => {
    let links = 0;
    for (const r of small.records('users')) {
      const u = r as User;
      for (const a of u.agents ?? []) {
        const other = small.get('users', a.sourcedId) as User;
        assert.ok(other, `${u.sourcedId} → ${a.sourcedId} resolves`);
        assert.ok(other.agents?.some((b) => b.sourcedId === u.sourcedId), 'reverse link');
        assert.notEqual(other.role, 'teacher');
        links++;
      }
      if (u.role === 'parent' || u.role === 'guardian' || u.role === 'relative') assert.ok(u.agents?.length);
    }
    assert.ok(links > small.stats().contacts, `links ${links}`);
  });

  it('gives every class exactly one primary teacher, and enrollments the class school', () => {
    const primaries = new Map<string, number>();
    for (const r of small.records('enrollments')) {
      const e = r as Enrollment;
      const cls = small.get('classes', e.class.sourcedId) as Class;
      assert.equal(e.school, cls.school);
      if (e.role === 'teacher' && e.primary) primaries.set(cls.sourcedId, (primaries.get(cls.sourcedId) ?? 0) + 1);
      if (e.role === 'student') assert.equal(e.primary, undefined);
    }
    for (const c of small.records('classes')) assert.equal(primaries.get(c.sourcedId), 1, c.sourcedId);
  });

  it('pairs demographics and students one to one', () => {
    const students = new Set([...small.records('users')].filter((u) => (u as User).role === 'student').map((u) => u.sourcedId));
    const demo = new Set([...small.records('demographics')].map((d) => d.sourcedId));
    assert.deepEqual(demo, students);
  });
});

describe('checkIntegrity detects breakage', () => {
  const tiny = District.generate({ size: 'tiny' });

  it('a removed teacher enrollment, a one-way agent link and a dangling class', () => {
    const data = copyOf(tiny);
    const teacherEnr = (data.enrollments as Enrollment[]).filter((e) => e.role === 'teacher' && e.primary);
    const victimClass = teacherEnr[0]!.class.sourcedId;
    data.enrollments = data.enrollments.filter((e) => e !== teacherEnr[0]);
    const contact = (data.users as User[]).find((u) => u.role === 'parent' || u.role === 'guardian')!;
    data.users = data.users.map((u) => (u === contact ? { ...contact, agents: [] } : u));
    const someEnr = data.enrollments.findIndex((e) => (e as Enrollment).role === 'student');
    data.enrollments[someEnr] = { ...(data.enrollments[someEnr] as Enrollment), class: { sourcedId: 'cls-nope', type: 'class' } };
    const report = checkIntegrity(sourceOf(data));
    assert.equal(report.ok, false);
    const has = (rule: string, id?: string): boolean => report.problems.some((p) => p.rule === rule && (id === undefined || p.sourcedId === id));
    assert.ok(has('class-without-teacher', victimClass) || has('class-primary-teacher', victimClass));
    assert.ok(has('contact-without-agents', contact.sourcedId));
    assert.ok(has('agent-not-reciprocal'), 'students still point at the contact');
    assert.ok(has('dangling-reference', data.enrollments[someEnr]!.sourcedId));
  });

  it('bad phones, unknown flags, wrong enum case, missing fields, future dates and duplicates', () => {
    const data = copyOf(tiny);
    const u = data.users as User[];
    const contactIdx = u.findIndex((x) => x.role === 'parent');
    const studentIdx = u.findIndex((x) => x.role === 'student');
    u[contactIdx] = { ...u[contactIdx]!, phone: '555-0123' };
    u[studentIdx] = { ...u[studentIdx]!, metadata: { 'microsoft.userFlags': 'iep,superStar' } };
    data.classes[0] = { ...(data.classes[0] as Class), classType: 'Scheduled' };
    const { givenName: _drop, ...noName } = u[studentIdx + 1]!;
    u[studentIdx + 1] = noName as User;
    data.courses[0] = { ...data.courses[0]!, dateLastModified: '2030-01-01T00:00:00.000Z' };
    data.orgs.push({ ...data.orgs[1]!, name: 'Other' });
    const report = checkIntegrity(sourceOf(data), { now: tiny.now() });
    const rules = new Set(report.problems.map((p) => `${p.rule}:${p.field ?? ''}`));
    for (const expected of [
      'bad-phone:phone', 'unknown-flag:metadata.microsoft.userFlags', 'wrong-enum-case:classType',
      'missing-required-field:givenName', 'future-datetime:dateLastModified', 'duplicate-sourced-id:sourcedId',
    ]) assert.ok(rules.has(expected), expected);
    // 'iep' alone is fine: flags match case-insensitively (sds-notes §1.3).
    assert.equal(report.byRule['unknown-flag'], 1);
  });
});
