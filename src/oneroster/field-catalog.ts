/**
 * Which properties each OneRoster 1.1 collection has, and which of them are references.
 *
 * One table used to validate `filter`, `sort` and `fields` (oneroster-spec-notes §2.1–2.3), to
 * add `href`s when serialising (§3.3), and to give GUIDRefs their implied `type` when a provider
 * leaves it out. It mirrors the interfaces in `types.ts`; `field-catalog.test.ts` keeps the two
 * in step by checking a full record of every entity.
 */
import type { CollectionName } from './types.ts';

const BASE = ['sourcedId', 'status', 'dateLastModified', 'metadata'] as const;

/** Top-level property names per collection (the 1.1 entity fields of `types.ts`). */
export const KNOWN_FIELDS: Record<CollectionName, ReadonlySet<string>> = {
  academicSessions: new Set([...BASE, 'title', 'startDate', 'endDate', 'type', 'parent', 'children', 'schoolYear']),
  orgs: new Set([...BASE, 'name', 'type', 'identifier', 'parent', 'children']),
  courses: new Set([
    ...BASE, 'title', 'schoolYear', 'courseCode', 'grades', 'subjects', 'org', 'subjectCodes', 'resources',
  ]),
  classes: new Set([
    ...BASE, 'title', 'classCode', 'classType', 'location', 'grades', 'subjects', 'course', 'school', 'terms',
    'subjectCodes', 'periods', 'resources',
  ]),
  users: new Set([
    ...BASE, 'username', 'userIds', 'enabledUser', 'givenName', 'familyName', 'middleName', 'role', 'identifier',
    'email', 'sms', 'phone', 'agents', 'orgs', 'grades', 'password',
  ]),
  enrollments: new Set([...BASE, 'user', 'class', 'school', 'role', 'primary', 'beginDate', 'endDate']),
  demographics: new Set([
    ...BASE, 'birthDate', 'sex', 'americanIndianOrAlaskaNative', 'asian', 'blackOrAfricanAmerican',
    'nativeHawaiianOrOtherPacificIslander', 'white', 'demographicRaceTwoOrMoreRaces', 'hispanicOrLatinoEthnicity',
    'countryOfBirthCode', 'stateOfBirthAbbreviation', 'cityOfBirth', 'publicSchoolResidenceStatus',
  ]),
};

/** A reference property: the GUIDRef `type` it implies, and whether it holds a list. */
export interface RefField {
  readonly type: string;
  readonly many: boolean;
}

/**
 * GUIDRef properties per collection with their implied `type` (§3.3, §3.4). Note `schoolYear`
 * is a GUIDRef on courses but a plain `YYYY` string on academicSessions.
 */
export const REF_FIELDS: Record<CollectionName, Readonly<Record<string, RefField>>> = {
  academicSessions: {
    parent: { type: 'academicSession', many: false },
    children: { type: 'academicSession', many: true },
  },
  orgs: {
    parent: { type: 'org', many: false },
    children: { type: 'org', many: true },
  },
  courses: {
    schoolYear: { type: 'academicSession', many: false },
    org: { type: 'org', many: false },
    resources: { type: 'resource', many: true },
  },
  classes: {
    course: { type: 'course', many: false },
    school: { type: 'org', many: false },
    terms: { type: 'academicSession', many: true },
    resources: { type: 'resource', many: true },
  },
  users: {
    agents: { type: 'user', many: true },
    orgs: { type: 'org', many: true },
  },
  enrollments: {
    user: { type: 'user', many: false },
    class: { type: 'class', many: false },
    school: { type: 'org', many: false },
  },
  demographics: {},
};

const GUID_REF_SUBFIELDS: ReadonlySet<string> = new Set(['sourcedId', 'type', 'href']);
const USER_ID_SUBFIELDS: ReadonlySet<string> = new Set(['type', 'identifier']);

/**
 * True when `path` names something a record of `collection` can hold, for validating filters
 * and sorts: the first segment must be a known property; GUIDRef properties allow one more
 * segment `sourcedId|type|href` (`orgs.sourcedId`, §2.3 nested properties); `userIds` allows
 * `type|identifier`; `metadata.*` allows any non-empty segments (providers' own extensions, §3.2).
 */
export function isKnownFieldPath(collection: CollectionName, path: string): boolean {
  const segments = path.split('.');
  const first = segments[0] as string;
  if (!KNOWN_FIELDS[collection].has(first)) return false;
  if (segments.length === 1) return true;
  for (const s of segments) if (s === '') return false;
  if (first === 'metadata') return true;
  if (segments.length !== 2) return false;
  const sub = segments[1] as string;
  if (Object.hasOwn(REF_FIELDS[collection], first)) return GUID_REF_SUBFIELDS.has(sub);
  if (collection === 'users' && first === 'userIds') return USER_ID_SUBFIELDS.has(sub);
  return false;
}
