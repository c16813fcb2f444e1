import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import type { AcademicSession, AnyEntity, Class, CollectionName, Demographics, Enrollment, GuidRef, Org, User } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import { District } from './district.ts';
import { USER_FLAGS, USER_FLAGS_KEY } from './generator.ts';
import { AREA_CODES } from './names.ts';

const all = (d: District, c: CollectionName): AnyEntity[] => [...d.records(c)];
const users = (d: District): User[] => all(d, 'users') as User[];
const byRole = (d: District, role: string): User[] => users(d).filter((u) => u.role === role);
const fingerprint = (d: District): string => JSON.stringify(COLLECTIONS.map((c) => all(d, c)));

const small = District.generate({ size: 'small' });
const tiny = District.generate({ size: 'tiny' });

describe('generator: determinism', () => {
  it('same seed → identical records; different seed → different records', () => {
    assert.equal(fingerprint(District.generate({ size: 'small', seed: 1 })), fingerprint(small));
    assert.equal(fingerprint(District.generate({ size: 'tiny' })), fingerprint(tiny));
    assert.notEqual(fingerprint(District.generate({ size: 'tiny', seed: 2 })), fingerprint(tiny));
    const other = District.generate({ size: 'small', seed: 99 });
    assert.notEqual(fingerprint(other), fingerprint(small));
  });

  it('iterates records in the same order every time', () => {
    assert.deepEqual(all(small, 'classes').map((r) => r.sourcedId), all(small, 'classes').map((r) => r.sourcedId));
  });
});

describe('generator: sizes', () => {
  it('tiny: one school, ~30 students, few teachers and classes', () => {
    const s = tiny.stats();
    assert.equal(s.schools, 1);
    assert.ok(s.students >= 28 && s.students <= 40, `students ${s.students}`);
    assert.ok(s.teachers >= 2 && s.teachers <= 5, `teachers ${s.teachers}`);
    assert.ok(s.counts.classes.total >= 5 && s.counts.classes.total <= 30, `classes ${s.counts.classes.total}`);
    assert.equal(s.counts.demographics.total, s.students);
    assert.ok(s.contacts >= s.students, `contacts ${s.contacts}`);
  });

  it('small: 5 schools, ~2,500 students with realistic ratios', () => {
    const s = small.stats();
    assert.equal(s.schools, 5);
    assert.equal(s.counts.orgs.total, 6);
    assert.ok(s.students >= 2_500 && s.students <= 2_505, `students ${s.students}`);
    assert.ok(s.contacts / s.students > 1.1 && s.contacts / s.students < 1.6, `contacts ${s.contacts}`);
    assert.ok(s.students / s.teachers > 13 && s.students / s.teachers < 20, `teachers ${s.teachers}`);
    const perStudent = (s.counts.enrollments.total - s.counts.classes.total) / s.students;
    assert.ok(perStudent > 9 && perStudent < 13, `enrollments per student ${perStudent}`);
    const classSize = s.counts.enrollments.total / s.counts.classes.total;
    assert.ok(classSize > 15 && classSize < 32, `class size ${classSize}`);
    for (const c of COLLECTIONS) assert.equal(s.counts[c].active, s.counts[c].total, c);
  });
});

describe('generator: content', () => {
  it('uses stable, zero-padded, PII-free sourcedIds', () => {
    for (const u of users(small)) assert.match(u.sourcedId, /^(stu-\d{6}|con-\d{6}|tch-\d{5})$/);
    for (const c of all(small, 'classes')) assert.match(c.sourcedId, /^cls-\d{5}$/);
    for (const c of all(small, 'courses')) assert.match(c.sourcedId, /^crs-\d{5}$/);
    for (const e of all(small, 'enrollments')) assert.match(e.sourcedId, /^enr-\d{7}$/);
    for (const d of all(small, 'demographics')) assert.match(d.sourcedId, /^stu-\d{6}$/);
    for (const o of all(small, 'orgs')) assert.match(o.sourcedId, /^(dst-\d{3}|sch-\d{4})$/);
  });

  it('formats dateLastModified as YYYY-MM-DDTHH:mm:ss.SSSZ, spread over the months before now', () => {
    const now = small.now().toISOString();
    let oldest = now;
    for (const c of COLLECTIONS) {
      for (const r of small.records(c)) {
        assert.match(r.dateLastModified, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        assert.ok(r.dateLastModified < now, `${c}/${r.sourcedId} not before now`);
        if (r.dateLastModified < oldest) oldest = r.dateLastModified;
      }
    }
    assert.ok(Date.parse(now) - Date.parse(oldest) > 90 * 86_400_000, `oldest ${oldest}`);
  });

  it('shares one frozen GuidRef (no href) per target entity', () => {
    const seen = new Map<string, GuidRef>();
    for (const e of all(small, 'enrollments') as Enrollment[]) {
      for (const ref of [e.class, e.school, e.user]) {
        assert.ok(Object.isFrozen(ref));
        assert.equal(ref.href, undefined);
        const first = seen.get(`${ref.type}/${ref.sourcedId}`);
        if (first) assert.equal(ref, first, 'same object');
        else seen.set(`${ref.type}/${ref.sourcedId}`, ref);
      }
    }
    const studentOrgs = byRole(small, 'student').map((u) => u.orgs[0]);
    assert.equal(studentOrgs.filter((r) => r === seen.get(`org/${r?.sourcedId}`)).length, studentOrgs.length);
  });

  it('builds one school year → 2 semesters → 4 terms → 8 grading periods, contiguous, end exclusive', () => {
    const s = all(small, 'academicSessions') as AcademicSession[];
    const count = (t: string): number => s.filter((x) => x.type === t).length;
    assert.deepEqual([count('schoolYear'), count('semester'), count('term'), count('gradingPeriod')], [1, 2, 4, 8]);
    const year = s.find((x) => x.type === 'schoolYear')!;
    assert.equal(year.schoolYear, '2027'); // default now 2026-09-01 → 2026-27 school year
    assert.ok(year.startDate <= '2026-09-01' && year.endDate > '2027-05-01');
    for (const x of s) assert.equal(x.schoolYear, '2027');
    const sems = s.filter((x) => x.type === 'semester').sort((a, b) => a.startDate.localeCompare(b.startDate));
    assert.equal(sems[0]!.startDate, year.startDate);
    assert.equal(sems[0]!.endDate, sems[1]!.startDate);
    assert.equal(sems[1]!.endDate, year.endDate);
    const gps = s.filter((x) => x.type === 'gradingPeriod').sort((a, b) => a.startDate.localeCompare(b.startDate));
    for (let i = 1; i < gps.length; i++) assert.equal(gps[i - 1]!.endDate, gps[i]!.startDate);
    for (const gp of gps) assert.equal(s.find((x) => x.sourcedId === gp.parent?.sourcedId)?.type, 'term');

    const later = District.generate({ size: 'tiny', now: new Date('2027-08-02T00:00:00Z') });
    const y2 = (all(later, 'academicSessions') as AcademicSession[]).find((x) => x.type === 'schoolYear')!;
    assert.equal(y2.schoolYear, '2028');
  });

  it('links the district and its schools both ways, with NCES-style identifiers', () => {
    const orgs = all(small, 'orgs') as Org[];
    const district = orgs.find((o) => o.type === 'district')!;
    const schools = orgs.filter((o) => o.type === 'school');
    assert.deepEqual(district.children?.map((c) => c.sourcedId), schools.map((s) => s.sourcedId));
    assert.match(district.identifier ?? '', /^\d{7}$/);
    for (const s of schools) {
      assert.equal(s.parent?.sourcedId, district.sourcedId);
      assert.match(s.identifier ?? '', new RegExp(`^${district.identifier}\\d{5}$`));
    }
    assert.equal(new Set(schools.map((s) => s.name)).size, schools.length);
  });

  it('gives classes terms, periods as string[], school, course, location, classCode and both class types', () => {
    const classes = all(small, 'classes') as Class[];
    const types = new Set(classes.map((c) => c.classType));
    assert.deepEqual([...types].sort(), ['homeroom', 'scheduled']);
    for (const c of classes) {
      assert.ok(Array.isArray(c.periods) && c.periods.length > 0 && c.periods.every((p) => typeof p === 'string'));
      assert.ok(c.terms.length > 0 && c.school && c.course && c.location && c.classCode);
    }
    assert.ok(classes.some((c) => c.terms.length === 2), 'year-long classes list both semesters');
    assert.ok(classes.some((c) => c.terms.length === 1 && c.terms[0]!.sourcedId.endsWith('-s2')), 'semester classes');
  });

  it('gives contacts all three roles, emails, and valid E.164 phone/sms (libphonenumber-js/max)', () => {
    const contacts = users(small).filter((u) => ['guardian', 'parent', 'relative'].includes(u.role));
    assert.deepEqual([...new Set(contacts.map((c) => c.role))].sort(), ['guardian', 'parent', 'relative']);
    let sms = 0;
    for (const c of contacts) {
      assert.match(c.phone ?? '', /^\+1\d{10}$/);
      assert.ok(isValidPhoneNumber(c.phone!), c.phone);
      if (c.sms !== undefined) {
        sms++;
        assert.ok(isValidPhoneNumber(c.sms), c.sms);
      }
      assert.match(c.email ?? '', /^[a-z]+\.[a-z]+\d+@example\.(com|net|org)$/);
    }
    assert.ok(sms > contacts.length * 0.5 && sms < contacts.length, `sms ${sms}`);
  });

  it('only ever builds numbers that libphonenumber-js/max accepts (every area code, both ends of 555-01xx)', () => {
    for (const area of AREA_CODES) {
      for (const line of ['0100', '0199']) assert.ok(isValidPhoneNumber(`+1${area}555${line}`), `+1${area}555${line}`);
    }
  });

  it('puts known microsoft.userFlags on a realistic fraction of students', () => {
    const students = byRole(small, 'student');
    const flagged = students.filter((s) => s.metadata?.[USER_FLAGS_KEY] !== undefined);
    const share = flagged.length / students.length;
    assert.ok(share > 0.3 && share < 0.75, `share ${share}`);
    const known = new Set<string>(USER_FLAGS);
    const seen = new Set<string>();
    for (const s of flagged) {
      for (const f of String(s.metadata![USER_FLAGS_KEY]).split(',')) {
        assert.ok(known.has(f), f);
        seen.add(f);
      }
    }
    assert.equal(seen.size, USER_FLAGS.length, 'every flag occurs');
  });

  it('gives students grades, emails and identifiers, teachers email/username/userIds, and age-appropriate demographics', () => {
    for (const s of byRole(small, 'student')) {
      assert.equal(s.grades?.length, 1);
      assert.ok(s.email?.endsWith('.example') && s.identifier && s.username && s.orgs.length === 1);
      const d = small.get('demographics', s.sourcedId) as Demographics;
      const grade = s.grades![0] === 'KG' ? 0 : Number(s.grades![0]);
      const age = 2026 - Number(d.birthDate!.slice(0, 4));
      assert.ok(age >= grade + 5 && age <= grade + 6, `grade ${grade} born ${d.birthDate}`);
      assert.ok(d.sex === 'male' || d.sex === 'female');
    }
    for (const t of byRole(small, 'teacher')) {
      assert.ok(t.email && t.username && t.identifier && t.userIds?.length);
      assert.equal(t.agents, undefined);
    }
  });
});
