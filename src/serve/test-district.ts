import type { AcademicSession, Class, Course, Demographics, Enrollment, Org, User } from '../oneroster/types.ts';
import { ArraySource } from './array-source.ts';

/**
 * A tiny, hand-written district for the server's tests: every nested endpoint has at least one
 * hit and one miss, and dates differ so delta filters have something to cut.
 *
 * orgs: d1 district; s1, s2 schools.  sessions: y1 schoolYear; t1, t2, t3 terms (t3 used by no class);
 * g1, g2 grading periods of t1, g3 of t2.  courses: co1 (s1), co2 (s2).
 * classes: c1 (co1, s1, [t1]); c2 (co1, s1, [g3]); c3 (co2, s2, [t2]).
 * users: te1 (s1), te2 (s2) teachers; st1, st2, st3 (s1) and st4 (s2) students; gu1 guardian of st1.
 * enrollments: c1: te1 teacher, st1, st2, st3 (tobedeleted) students; c2: te1, st1; c3: te2, st4.
 */
export function tinyDistrict(): ArraySource {
  const ref = (type: string, sourcedId: string) => ({ sourcedId, type });
  const base = (sourcedId: string, day: number) => ({
    sourcedId,
    status: 'active' as const,
    dateLastModified: `2025-01-${String(day).padStart(2, '0')}T10:00:00.000Z`,
  });
  const orgs: Org[] = [
    { ...base('d1', 1), name: 'District One', type: 'district', identifier: 'D1', children: [ref('org', 's1'), ref('org', 's2')] },
    { ...base('s2', 2), name: 'South High', type: 'school', identifier: 'S2', parent: ref('org', 'd1') },
    { ...base('s1', 3), name: 'North Elementary', type: 'school', identifier: 'S1', parent: ref('org', 'd1') },
  ];
  const session = (id: string, type: string, day: number, parent?: string): AcademicSession => ({
    ...base(id, day),
    title: id.toUpperCase(),
    type,
    startDate: '2024-08-15',
    endDate: '2025-06-15',
    schoolYear: '2025',
    ...(parent ? { parent: ref('academicSession', parent) } : {}),
  });
  const academicSessions: AcademicSession[] = [
    session('y1', 'schoolYear', 1),
    session('t1', 'term', 2, 'y1'),
    session('t2', 'term', 3, 'y1'),
    session('t3', 'term', 4, 'y1'),
    session('g1', 'gradingPeriod', 5, 't1'),
    session('g2', 'gradingPeriod', 6, 't1'),
    session('g3', 'gradingPeriod', 7, 't2'),
  ];
  const courses: Course[] = [
    { ...base('co1', 2), title: 'Math', courseCode: 'M1', org: ref('org', 's1') },
    { ...base('co2', 3), title: 'Art', courseCode: 'A1', org: ref('org', 's2') },
  ];
  const klass = (id: string, course: string, school: string, terms: string[], day: number): Class => ({
    ...base(id, day),
    title: `Class ${id}`,
    classType: 'scheduled',
    course: ref('course', course),
    school: ref('org', school),
    terms: terms.map((t) => ref('academicSession', t)),
    periods: ['1'],
  });
  const classes: Class[] = [klass('c3', 'co2', 's2', ['t2'], 9), klass('c1', 'co1', 's1', ['t1'], 8), klass('c2', 'co1', 's1', ['g3'], 10)];
  const user = (id: string, role: string, school: string, day: number, extra: Partial<User> = {}): User => ({
    ...base(id, day),
    username: id,
    enabledUser: true,
    givenName: `Given${id}`,
    familyName: `Family${id}`,
    role,
    email: `${id}@example.org`,
    orgs: [ref('org', school)],
    ...extra,
  });
  const users: User[] = [
    user('te1', 'teacher', 's1', 5),
    user('te2', 'teacher', 's2', 6),
    user('st1', 'student', 's1', 10, { agents: [ref('user', 'gu1')], grades: ['03'] }),
    user('st2', 'student', 's1', 12, { grades: ['03'] }),
    user('st3', 'student', 's1', 14, { grades: ['04'] }),
    user('st4', 'student', 's2', 16, { grades: ['10'] }),
    user('gu1', 'guardian', 's1', 18, { agents: [ref('user', 'st1')] }),
  ];
  const enrollment = (id: string, u: string, c: string, s: string, role: string, day: number, status: 'active' | 'tobedeleted' = 'active'): Enrollment => ({
    ...base(id, day),
    status,
    user: ref('user', u),
    class: ref('class', c),
    school: ref('org', s),
    role,
    ...(role === 'teacher' ? { primary: true } : {}),
  });
  const enrollments: Enrollment[] = [
    enrollment('e1', 'te1', 'c1', 's1', 'teacher', 3),
    enrollment('e2', 'st1', 'c1', 's1', 'student', 4),
    enrollment('e3', 'st2', 'c1', 's1', 'student', 5),
    enrollment('e4', 'st1', 'c2', 's1', 'student', 6),
    enrollment('e5', 'te1', 'c2', 's1', 'teacher', 7),
    enrollment('e6', 'te2', 'c3', 's2', 'teacher', 8),
    enrollment('e7', 'st4', 'c3', 's2', 'student', 9),
    enrollment('e8', 'st3', 'c1', 's1', 'student', 10, 'tobedeleted'),
  ];
  const demographics: Demographics[] = [
    { ...base('st1', 3), birthDate: '2016-04-01', sex: 'female', hispanicOrLatinoEthnicity: false },
    { ...base('st2', 4), birthDate: '2016-05-01', sex: 'male' },
  ];
  return new ArraySource({ orgs, academicSessions, courses, classes, users, enrollments, demographics });
}
