/**
 * OneRoster 1.1 rostering entities as Rostersync holds them after lenient parsing.
 *
 * This is the one internal shape shared by every module: the simulator generates it, the
 * provider server serialises it, the client's lenient reader produces it, the store keeps it.
 * It is the 1.1 wire shape with the leniencies removed (booleans are booleans, `periods` is an
 * array, absent fields are absent rather than `null`, `inactive` is `tobedeleted`).
 * Reference: shared/reference/oneroster-spec-notes.md §3.
 */

export const STATUSES = ['active', 'tobedeleted'] as const;
export type Status = (typeof STATUSES)[number];

/** 1.1 RoleType (users and enrollments). §3.5 */
export const ROLE_TYPES = [
  'administrator',
  'aide',
  'guardian',
  'parent',
  'proctor',
  'relative',
  'student',
  'teacher',
] as const;
export type RoleType = (typeof ROLE_TYPES)[number];

export const ORG_TYPES = ['department', 'district', 'local', 'national', 'school', 'state'] as const;
export type OrgType = (typeof ORG_TYPES)[number];

export const SESSION_TYPES = ['gradingPeriod', 'semester', 'schoolYear', 'term'] as const;
export type SessionType = (typeof SESSION_TYPES)[number];

export const CLASS_TYPES = ['homeroom', 'scheduled'] as const;
export type ClassType = (typeof CLASS_TYPES)[number];

/** CEDS grade levels used by OneRoster 1.1 (§3.5). */
export const GRADES = [
  'IT', 'PR', 'PK', 'TK', 'KG',
  '01', '02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12', '13',
  'PS', 'UG', 'Other',
] as const;
export type Grade = (typeof GRADES)[number];

export const SEXES = ['male', 'female'] as const;
export type Sex = (typeof SEXES)[number];

/** GUIDRef `type` values of 1.1 (OAS11). */
export const GUID_REF_TYPES = [
  'academicSession', 'category', 'class', 'course', 'demographics', 'enrollment', 'lineItem',
  'org', 'resource', 'result', 'student', 'teacher', 'user', 'term', 'gradingPeriod',
] as const;
export type GuidRefType = (typeof GUID_REF_TYPES)[number];

/** A reference to another entity. Consumers key on `sourcedId`; `href` is informative only. */
export interface GuidRef {
  sourcedId: string;
  type: string;
  href?: string;
}

export type Metadata = Record<string, unknown>;

export interface Base {
  sourcedId: string;
  status: Status;
  /** ISO-8601 UTC datetime, normalised to `YYYY-MM-DDTHH:mm:ss.SSSZ`. */
  dateLastModified: string;
  metadata?: Metadata;
}

export interface AcademicSession extends Base {
  title: string;
  /** `YYYY-MM-DD` */
  startDate: string;
  /** `YYYY-MM-DD`, exclusive. */
  endDate: string;
  type: SessionType | string;
  parent?: GuidRef;
  children?: GuidRef[];
  /** `YYYY` (the year the school year ends). */
  schoolYear: string;
}

export interface Org extends Base {
  name: string;
  type: OrgType | string;
  identifier?: string;
  parent?: GuidRef;
  children?: GuidRef[];
}

export interface Course extends Base {
  title: string;
  schoolYear?: GuidRef;
  courseCode?: string;
  grades?: string[];
  subjects?: string[];
  org?: GuidRef;
  subjectCodes?: string[];
  resources?: GuidRef[];
}

export interface Class extends Base {
  title: string;
  classCode?: string;
  classType?: ClassType | string;
  location?: string;
  grades?: string[];
  subjects?: string[];
  course?: GuidRef;
  school: GuidRef;
  terms: GuidRef[];
  subjectCodes?: string[];
  periods?: string[];
  resources?: GuidRef[];
}

export interface UserId {
  type: string;
  identifier: string;
}

export interface User extends Base {
  username: string;
  userIds?: UserId[];
  enabledUser: boolean;
  givenName: string;
  familyName: string;
  middleName?: string;
  role: RoleType | string;
  identifier?: string;
  email?: string;
  sms?: string;
  phone?: string;
  agents?: GuidRef[];
  orgs: GuidRef[];
  grades?: string[];
  password?: string;
}

export interface Enrollment extends Base {
  user: GuidRef;
  class: GuidRef;
  school: GuidRef;
  role: RoleType | string;
  primary?: boolean;
  beginDate?: string;
  endDate?: string;
}

export interface Demographics extends Base {
  birthDate?: string;
  sex?: Sex | string;
  americanIndianOrAlaskaNative?: boolean;
  asian?: boolean;
  blackOrAfricanAmerican?: boolean;
  nativeHawaiianOrOtherPacificIslander?: boolean;
  white?: boolean;
  demographicRaceTwoOrMoreRaces?: boolean;
  hispanicOrLatinoEthnicity?: boolean;
  countryOfBirthCode?: string;
  stateOfBirthAbbreviation?: string;
  cityOfBirth?: string;
  publicSchoolResidenceStatus?: string;
}

/** The base collections (the `/…` top-level endpoints that hold each entity). */
export const COLLECTIONS = [
  'academicSessions',
  'orgs',
  'courses',
  'classes',
  'users',
  'enrollments',
  'demographics',
] as const;
export type CollectionName = (typeof COLLECTIONS)[number];

export interface EntityByCollection {
  academicSessions: AcademicSession;
  orgs: Org;
  courses: Course;
  classes: Class;
  users: User;
  enrollments: Enrollment;
  demographics: Demographics;
}

export type AnyEntity = EntityByCollection[CollectionName];

/** Singular wrapper key of a single read, per collection (§1.2). Demographics keeps its plural key. */
export const SINGULAR_KEY: Record<CollectionName, string> = {
  academicSessions: 'academicSession',
  orgs: 'org',
  courses: 'course',
  classes: 'class',
  users: 'user',
  enrollments: 'enrollment',
  demographics: 'demographics',
};

/** Fields whose values are dates or datetimes: filters compare them as instants (§2.3). */
export const DATE_FIELDS: ReadonlySet<string> = new Set([
  'dateLastModified',
  'startDate',
  'endDate',
  'beginDate',
  'birthDate',
]);
