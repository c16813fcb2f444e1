import type { AnyEntity, CollectionName } from '../oneroster/types.ts';
import type { Scope } from './dataset.ts';

/**
 * The OneRoster 1.1 rostering GET endpoints (spec notes §1.2 table: 41 operations) as data: path,
 * collection, response wrapper key, OAuth scope class, and how path parameters select records.
 * The HTTP layer registers one handler per entry, so the table is the single place to read what
 * each endpoint returns.
 */

/**
 * Which token scopes an endpoint accepts (spec notes §1.2 scope column, OAS12 pattern):
 * `core` = top-level collection and single reads (roster-core or roster); `roster` = nested
 * "...For..." reads (roster only); `demographics` = demographics endpoints (demographics only).
 */
export type Access = 'core' | 'roster' | 'demographics';

type Params = Record<string, string>;

/** A path parameter that must name an existing record of the right kind (nested reads). */
export interface ParentCheck {
  param: string;
  collection: CollectionName;
  accept?: (record: AnyEntity) => boolean;
  /** Human label for the 404 description, e.g. `school`. */
  label: string;
}

export interface CollectionRoute {
  kind: 'collection';
  operationId: string;
  /** Path below the prefix, fastify syntax. */
  path: string;
  collection: CollectionName;
  /** Top-level key of the 200 body. */
  wrapper: string;
  access: Access;
  scope: (params: Params) => Scope;
  parents: ParentCheck[];
}

export interface SingleRoute {
  kind: 'single';
  operationId: string;
  path: string;
  collection: CollectionName;
  wrapper: string;
  access: Access;
  /** Subtype check: `/schools/{id}` only answers for orgs of type school, etc. */
  accept?: (record: AnyEntity) => boolean;
  /** Label for the 404 description. */
  label: string;
}

export type RouteSpec = CollectionRoute | SingleRoute;

const field = (r: AnyEntity, name: string): unknown => (r as unknown as Record<string, unknown>)[name];
const hasRole = (role: string) => (r: AnyEntity) => field(r, 'role') === role;
const hasType = (type: string) => (r: AnyEntity) => field(r, 'type') === type;

const school: ParentCheck = { param: 'schoolSourcedId', collection: 'orgs', accept: hasType('school'), label: 'school' };
const klass: ParentCheck = { param: 'classSourcedId', collection: 'classes', label: 'class' };
const term: ParentCheck = { param: 'termSourcedId', collection: 'academicSessions', accept: hasType('term'), label: 'term' };

const all = (): Scope => ({ kind: 'all' });
const p = (params: Params, name: string): string => params[name] ?? '';

function col(
  operationId: string,
  path: string,
  collection: CollectionName,
  wrapper: string,
  access: Access,
  scope: (params: Params) => Scope,
  parents: ParentCheck[] = [],
): CollectionRoute {
  return { kind: 'collection', operationId, path, collection, wrapper, access, scope, parents };
}

function one(
  operationId: string,
  path: string,
  collection: CollectionName,
  wrapper: string,
  label: string,
  accept?: (record: AnyEntity) => boolean,
): SingleRoute {
  const access: Access = collection === 'demographics' ? 'demographics' : 'core';
  return accept ? { kind: 'single', operationId, path, collection, wrapper, access, accept, label } : { kind: 'single', operationId, path, collection, wrapper, access, label };
}

/** Every rostering GET of OneRoster 1.1, in the order of the spec notes' table. */
export const ROUTES: readonly RouteSpec[] = [
  col('getAllAcademicSessions', '/academicSessions', 'academicSessions', 'academicSessions', 'core', all),
  one('getAcademicSession', '/academicSessions/:sourcedId', 'academicSessions', 'academicSession', 'academic session'),
  col('getAllClasses', '/classes', 'classes', 'classes', 'core', all),
  one('getClass', '/classes/:sourcedId', 'classes', 'class', 'class'),
  col('getStudentsForClass', '/classes/:classSourcedId/students', 'users', 'users', 'roster',
    (x) => ({ kind: 'usersForClass', classId: p(x, 'classSourcedId'), role: 'student' }), [klass]),
  col('getTeachersForClass', '/classes/:classSourcedId/teachers', 'users', 'users', 'roster',
    (x) => ({ kind: 'usersForClass', classId: p(x, 'classSourcedId'), role: 'teacher' }), [klass]),
  col('getAllCourses', '/courses', 'courses', 'courses', 'core', all),
  one('getCourse', '/courses/:sourcedId', 'courses', 'course', 'course'),
  col('getClassesForCourse', '/courses/:courseSourcedId/classes', 'classes', 'classes', 'roster',
    (x) => ({ kind: 'classesForCourse', courseId: p(x, 'courseSourcedId') }),
    [{ param: 'courseSourcedId', collection: 'courses', label: 'course' }]),
  col('getAllDemographics', '/demographics', 'demographics', 'demographics', 'demographics', all),
  // The single demographics read keeps the plural wrapper (§1.2: "singular object under plural key").
  one('getDemographics', '/demographics/:sourcedId', 'demographics', 'demographics', 'demographics record'),
  col('getAllEnrollments', '/enrollments', 'enrollments', 'enrollments', 'core', all),
  one('getEnrollment', '/enrollments/:sourcedId', 'enrollments', 'enrollment', 'enrollment'),
  col('getAllGradingPeriods', '/gradingPeriods', 'academicSessions', 'academicSessions', 'core',
    () => ({ kind: 'sessionsByType', type: 'gradingPeriod' })),
  one('getGradingPeriod', '/gradingPeriods/:sourcedId', 'academicSessions', 'academicSession', 'grading period', hasType('gradingPeriod')),
  col('getAllOrgs', '/orgs', 'orgs', 'orgs', 'core', all),
  one('getOrg', '/orgs/:sourcedId', 'orgs', 'org', 'org'),
  col('getAllSchools', '/schools', 'orgs', 'orgs', 'core', () => ({ kind: 'orgsByType', type: 'school' })),
  one('getSchool', '/schools/:sourcedId', 'orgs', 'org', 'school', hasType('school')),
  col('getClassesForSchool', '/schools/:schoolSourcedId/classes', 'classes', 'classes', 'roster',
    (x) => ({ kind: 'classesForSchool', schoolId: p(x, 'schoolSourcedId') }), [school]),
  col('getCoursesForSchool', '/schools/:schoolSourcedId/courses', 'courses', 'courses', 'roster',
    (x) => ({ kind: 'coursesForSchool', schoolId: p(x, 'schoolSourcedId') }), [school]),
  col('getEnrollmentsForSchool', '/schools/:schoolSourcedId/enrollments', 'enrollments', 'enrollments', 'roster',
    (x) => ({ kind: 'enrollmentsForSchool', schoolId: p(x, 'schoolSourcedId') }), [school]),
  col('getEnrollmentsForClassInSchool', '/schools/:schoolSourcedId/classes/:classSourcedId/enrollments', 'enrollments', 'enrollments', 'roster',
    (x) => ({ kind: 'enrollmentsForSchool', schoolId: p(x, 'schoolSourcedId'), classId: p(x, 'classSourcedId') }), [school, klass]),
  col('getStudentsForClassInSchool', '/schools/:schoolSourcedId/classes/:classSourcedId/students', 'users', 'users', 'roster',
    (x) => ({ kind: 'usersForClass', classId: p(x, 'classSourcedId'), role: 'student', schoolId: p(x, 'schoolSourcedId') }), [school, klass]),
  col('getTeachersForClassInSchool', '/schools/:schoolSourcedId/classes/:classSourcedId/teachers', 'users', 'users', 'roster',
    (x) => ({ kind: 'usersForClass', classId: p(x, 'classSourcedId'), role: 'teacher', schoolId: p(x, 'schoolSourcedId') }), [school, klass]),
  col('getStudentsForSchool', '/schools/:schoolSourcedId/students', 'users', 'users', 'roster',
    (x) => ({ kind: 'usersForSchool', schoolId: p(x, 'schoolSourcedId'), role: 'student' }), [school]),
  col('getTeachersForSchool', '/schools/:schoolSourcedId/teachers', 'users', 'users', 'roster',
    (x) => ({ kind: 'usersForSchool', schoolId: p(x, 'schoolSourcedId'), role: 'teacher' }), [school]),
  col('getTermsForSchool', '/schools/:schoolSourcedId/terms', 'academicSessions', 'academicSessions', 'roster',
    (x) => ({ kind: 'termsForSchool', schoolId: p(x, 'schoolSourcedId') }), [school]),
  col('getAllStudents', '/students', 'users', 'users', 'core', () => ({ kind: 'usersByRole', role: 'student' })),
  one('getStudent', '/students/:sourcedId', 'users', 'user', 'student', hasRole('student')),
  col('getClassesForStudent', '/students/:studentSourcedId/classes', 'classes', 'classes', 'roster',
    (x) => ({ kind: 'classesForUser', userId: p(x, 'studentSourcedId') }),
    [{ param: 'studentSourcedId', collection: 'users', accept: hasRole('student'), label: 'student' }]),
  col('getAllTeachers', '/teachers', 'users', 'users', 'core', () => ({ kind: 'usersByRole', role: 'teacher' })),
  one('getTeacher', '/teachers/:sourcedId', 'users', 'user', 'teacher', hasRole('teacher')),
  col('getClassesForTeacher', '/teachers/:teacherSourcedId/classes', 'classes', 'classes', 'roster',
    (x) => ({ kind: 'classesForUser', userId: p(x, 'teacherSourcedId') }),
    [{ param: 'teacherSourcedId', collection: 'users', accept: hasRole('teacher'), label: 'teacher' }]),
  col('getAllTerms', '/terms', 'academicSessions', 'academicSessions', 'core', () => ({ kind: 'sessionsByType', type: 'term' })),
  one('getTerm', '/terms/:sourcedId', 'academicSessions', 'academicSession', 'term', hasType('term')),
  col('getClassesForTerm', '/terms/:termSourcedId/classes', 'classes', 'classes', 'roster',
    (x) => ({ kind: 'classesForTerm', termId: p(x, 'termSourcedId') }), [term]),
  col('getGradingPeriodsForTerm', '/terms/:termSourcedId/gradingPeriods', 'academicSessions', 'academicSessions', 'roster',
    (x) => ({ kind: 'gradingPeriodsForTerm', termId: p(x, 'termSourcedId') }), [term]),
  col('getAllUsers', '/users', 'users', 'users', 'core', all),
  one('getUser', '/users/:sourcedId', 'users', 'user', 'user'),
  col('getClassesForUser', '/users/:userSourcedId/classes', 'classes', 'classes', 'roster',
    (x) => ({ kind: 'classesForUser', userId: p(x, 'userSourcedId') }),
    [{ param: 'userSourcedId', collection: 'users', label: 'user' }]),
];
