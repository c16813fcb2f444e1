/**
 * SDS v2.1 CSV export (`rostersync export sds-csv --out DIR`, issue 6): the roster as the ten files
 * School Data Sync's CSV connector reads, headers verbatim from Microsoft's official samples
 * (sds-notes §4.4), UTF-8, RFC 4180, no line breaks inside values (§3.4).
 *
 * SDS CSV is a full snapshot ("each upload must contain the full set of files … otherwise missing
 * records go inactive", §3.4), so only live rows are written; tombstones never are.
 *
 * Value conventions (sds-notes §2, §3.1, §4.4; Microsoft's OneRoster→SDS ADF template in
 * OfficeDev/O365-EDU-Tools is the reference transform):
 * - ENUMs are written in SDS's camelCase spelling (org types §2.1, roles §2.2, session types §2.7).
 * - OneRoster user roles map to SDS organisation roles: student, teacher, administrator and proctor
 *   are SDS values as they are; `aide` is not in SDS's list and becomes `teacherAssistant` (SDS pairs
 *   the two in its class-owner/member mappings, §2.3); contacts (parent, guardian, relative) get no
 *   `roles.csv` rows: they are plain `users.csv` rows tied to students in `relationships.csv`, as in
 *   the official sample. `roleMap` overrides the mapping.
 * - `isPrimary`: the user's first org is primary (`true`), others `false` (OneRoster 1.1 has no
 *   primary org; providers list the home school first). Booleans are `true`/`false` (§3.1: matched
 *   case-insensitively, stored lower case).
 * - Dates are ISO 8601 `YYYY-MM-DD` (§3.1; the ADF transform converts to `YYYY-MM-DD` too).
 * - Grades: SDS columns hold one grade; the first is written, a one-digit grade gets its leading
 *   zero (`1` → `01`, §2.4).
 * - Multi-valued cells (`sessionSourcedIds`, `raceCodes`) are comma-joined in one quoted cell.
 * - Emails are written in SDS's stored form (lower case) and dropped when invalid (normaliseEmail).
 * - Optional files are written only when their data is enabled: demographics, userFlags and
 *   relationships (plus the contact users) follow the SDS toggles; courses.csv follows `courses`.
 */
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { AcademicSession, Class, Course, Demographics, Enrollment, Org, User } from '../oneroster/types.ts';
import { deriveRelationships, isContactRole } from '../sds/contacts.ts';
import { normaliseEmail } from '../sds/emails.ts';
import type { Toggles } from '../sds/toggles.ts';
import { USER_FLAGS_KEY, parseUserFlags } from '../sds/user-flags.ts';
import { CsvSink } from './csv-sink.ts';
import type { RosterReader } from './roster-reader.ts';
import { isDeletedRow } from './roster-reader.ts';

// ---------------------------------------------------------------------------------------------
// Headers (sds-notes §4.4, verbatim from the official v2.1 samples).

export const SDS_FILES = [
  'orgs.csv',
  'users.csv',
  'roles.csv',
  'classes.csv',
  'enrollments.csv',
  'academicSessions.csv',
  'courses.csv',
  'demographics.csv',
  'userFlags.csv',
  'relationships.csv',
] as const;
export type SdsFileName = (typeof SDS_FILES)[number];

export const SDS_HEADERS: Readonly<Record<SdsFileName, readonly string[]>> = {
  'orgs.csv': ['sourcedId', 'name', 'type', 'parentSourcedId'],
  'users.csv': ['sourcedId', 'username', 'givenName', 'familyName', 'password', 'activeDirectoryMatchId', 'email', 'phone', 'sms'],
  'roles.csv': ['userSourcedId', 'orgSourcedId', 'role', 'sessionSourcedId', 'grade', 'isPrimary', 'roleStartDate', 'roleEndDate'],
  'classes.csv': ['sourcedId', 'orgSourcedId', 'title', 'sessionSourcedIds', 'courseSourcedId'],
  'enrollments.csv': ['classSourcedId', 'userSourcedId', 'role'],
  'academicSessions.csv': ['sourcedId', 'title', 'type', 'schoolYear', 'startDate', 'endDate'],
  'courses.csv': ['sourcedId', 'orgSourcedId', 'title', 'code', 'schoolYearSourcedId', 'subject', 'grade'],
  'demographics.csv': ['userSourcedId', 'sex', 'birthDate', 'birthCity', 'birthState', 'birthCountry', 'ethnicityCodes', 'raceCodes'],
  'userFlags.csv': ['userSourcedId', 'flag'],
  'relationships.csv': ['userSourcedId', 'relationshipUserSourcedId', 'relationshipRole'],
};

// ---------------------------------------------------------------------------------------------
// Lists of values (sds-notes §2).

/** SDS organisation types (§2.1, complete). */
export const SDS_ORG_TYPES = [
  'school', 'ministryOfEducation', 'localAuthority', 'department', 'university',
  'region', 'district', 'college', 'division', 'local',
  'campus', 'province', 'state', 'adultEducation', 'researchCenter',
  'national', 'municipality', 'program', 'departmentOfEducation', 'academicTrust',
] as const;

/** SDS organisation user roles (§2.2, complete). */
export const SDS_ORG_ROLES = [
  'principal', 'chair', 'professor', 'researcher', 'adjunct', 'affiliate', 'occupationalTherapist',
  'physicalTherapist', 'speechTherapist', 'visionTherapist', 'paraprofessional', 'specialServices',
  'advisor', 'proctor', 'nurse', 'officeStaff', 'lecturer', 'itAdmin', 'administrator', 'teacher',
  'faculty', 'staff', 'teacherAssistant', 'assistant', 'instructor', 'substitute', 'coach', 'alumni',
  'student', 'other',
] as const;

/**
 * SDS enrollment roles (§2.3: the 27-value third-party list, with Microsoft's spelling `aide` for
 * its `aid`; Microsoft's own class-group mappings use `aide`).
 */
export const SDS_ENROLLMENT_ROLES = [
  'student', 'visionTherapist', 'substitute', 'aide', 'paraprofessional', 'principal', 'proctor',
  'teacherAssistant', 'specialServices', 'teacher', 'professor', 'advisor', 'administrator',
  'lecturer', 'coach', 'occupationalTherapist', 'affiliate', 'assistant', 'physicalTherapist',
  'adjunct', 'staff', 'speechTherapist', 'instructor', 'alumni', 'chair', 'itAdmin', 'officeStaff',
] as const;

/** SDS academic session types (§2.7; `quarter` is third-party evidence only, so not listed). */
export const SDS_SESSION_TYPES = ['gradingPeriod', 'semester', 'schoolYear', 'term'] as const;

/** OneRoster 1.1 user role → SDS organisation role, where the spelling differs (see file header). */
export const DEFAULT_SDS_ROLE_MAP: Readonly<Record<string, string>> = { aide: 'teacherAssistant' };

/** The demographics race booleans, in the order `raceCodes` lists them (Microsoft's transform order). */
const RACE_FIELDS = [
  'americanIndianOrAlaskaNative',
  'asian',
  'blackOrAfricanAmerican',
  'nativeHawaiianOrOtherPacificIslander',
  'white',
  'demographicRaceTwoOrMoreRaces',
] as const;

function lowerIndex(values: readonly string[]): ReadonlyMap<string, string> {
  return new Map(values.map((v) => [v.toLowerCase(), v]));
}
const ORG_TYPE_BY_LOWER = lowerIndex(SDS_ORG_TYPES);
const ORG_ROLE_BY_LOWER = lowerIndex(SDS_ORG_ROLES);
const ENROLLMENT_ROLE_BY_LOWER = lowerIndex(SDS_ENROLLMENT_ROLES);
const SESSION_TYPE_BY_LOWER = lowerIndex(SDS_SESSION_TYPES);

/**
 * An ENUM in SDS's camelCase spelling (§3.1: ENUMs match case-insensitively, are stored as
 * camelCase). Values outside the default list are kept as sent: tenants may extend the list.
 */
function enumValue(index: ReadonlyMap<string, string>, value: string | undefined): string {
  if (value === undefined) return '';
  const v = value.trim();
  return index.get(v.toLowerCase()) ?? v;
}

/** SDS organisation type for a OneRoster org type (identity for the six 1.1 types, case fixed). */
export function sdsOrgType(type: string | undefined): string {
  return enumValue(ORG_TYPE_BY_LOWER, type);
}

/** SDS session type for a OneRoster session type. */
export function sdsSessionType(type: string | undefined): string {
  return enumValue(SESSION_TYPE_BY_LOWER, type);
}

/**
 * SDS organisation role for a OneRoster user role: `roleMap` first (default `aide` →
 * `teacherAssistant`), then SDS's list case-insensitively, else `other` (an SDS value).
 * Contacts are not given roles; callers skip them.
 */
export function sdsOrgRole(role: string, roleMap: Readonly<Record<string, string>> = DEFAULT_SDS_ROLE_MAP): string {
  const key = role.trim();
  const mapped = roleMap[key] ?? roleMap[key.toLowerCase()];
  if (mapped !== undefined) return mapped;
  return ORG_ROLE_BY_LOWER.get(key.toLowerCase()) ?? 'other';
}

/**
 * SDS enrollment role for a OneRoster enrollment role, or undefined when SDS has none (the contact
 * roles parent, guardian, relative: contacts are not class members).
 */
export function sdsEnrollmentRole(role: string): string | undefined {
  return ENROLLMENT_ROLE_BY_LOWER.get(role.trim().toLowerCase());
}

/** A grade for SDS's single-grade columns: the first one, with a leading zero on one digit (§2.4). */
export function sdsGrade(grades: readonly string[] | undefined): string {
  const g = grades?.[0]?.trim();
  if (g === undefined) return '';
  return g.length === 1 && g >= '0' && g <= '9' ? `0${g}` : g;
}

function bool(v: boolean): string {
  return v ? 'true' : 'false';
}

// ---------------------------------------------------------------------------------------------
// Row mappers (pure; exported for tests and for other writers that need the same conventions).

type Row = Array<string | undefined>;

/** `academicSessions.csv` row. */
export function sdsAcademicSessionRow(s: AcademicSession): Row {
  return [s.sourcedId, s.title, sdsSessionType(s.type), s.schoolYear, s.startDate, s.endDate];
}

/** `orgs.csv` row; a parent not in `orgIds` (when given) is left blank rather than dangling. */
export function sdsOrgRow(o: Org, orgIds?: ReadonlySet<string>): Row {
  const parent = o.parent?.sourcedId;
  return [o.sourcedId, o.name, sdsOrgType(o.type), parent !== undefined && (orgIds === undefined || orgIds.has(parent)) ? parent : ''];
}

/** `courses.csv` row: the first subject and grade (SDS columns are single-valued). */
export function sdsCourseRow(c: Course, sessionIds?: ReadonlySet<string>): Row {
  const year = c.schoolYear?.sourcedId;
  return [
    c.sourcedId,
    c.org?.sourcedId,
    c.title,
    c.courseCode,
    year !== undefined && (sessionIds === undefined || sessionIds.has(year)) ? year : '',
    c.subjects?.[0],
    sdsGrade(c.grades),
  ];
}

/** `classes.csv` row: terms comma-joined; references to unexported sessions/courses are blanked. */
export function sdsClassRow(c: Class, known?: { sessionIds?: ReadonlySet<string>; courseIds?: ReadonlySet<string> }): Row {
  const terms: string[] = [];
  for (const t of c.terms ?? []) {
    if (known?.sessionIds === undefined || known.sessionIds.has(t.sourcedId)) terms.push(t.sourcedId);
  }
  const course = c.course?.sourcedId;
  return [c.sourcedId, c.school?.sourcedId, c.title, terms.join(','), course !== undefined && (known?.courseIds === undefined || known.courseIds.has(course)) ? course : ''];
}

export type MatchIdSource = 'none' | 'username' | 'email';

/**
 * `users.csv` row. Contacts never carry `activeDirectoryMatchId` (official sample); staff and
 * students carry it when `matchIdFrom` names its source. Passwords only with `includePassword`.
 */
export function sdsUserRow(u: User, options: { contact: boolean; matchIdFrom?: MatchIdSource; includePassword?: boolean }): Row {
  const email = u.email === undefined ? '' : (normaliseEmail(u.email.trim()) ?? '');
  let matchId = '';
  if (!options.contact) {
    if (options.matchIdFrom === 'username') matchId = u.username;
    else if (options.matchIdFrom === 'email') matchId = email;
  }
  return [u.sourcedId, u.username, u.givenName, u.familyName, options.includePassword ? u.password : '', matchId, email, u.phone, u.sms];
}

/** `roles.csv` rows of a staff member or student: one per org (first org primary). */
export function sdsRoleRows(u: User, options: { roleMap?: Readonly<Record<string, string>>; orgIds?: ReadonlySet<string> } = {}): { rows: Row[]; dropped: number } {
  const role = sdsOrgRole(u.role, options.roleMap);
  const grade = sdsGrade(u.grades);
  const rows: Row[] = [];
  let dropped = 0;
  for (const org of u.orgs ?? []) {
    const id = org.sourcedId;
    if (options.orgIds !== undefined && !options.orgIds.has(id)) {
      dropped++;
      continue;
    }
    rows.push([u.sourcedId, id, role, '', grade, bool(rows.length === 0), '', '']);
  }
  return { rows, dropped };
}

/** `enrollments.csv` row, or undefined when SDS has no such enrollment role. */
export function sdsEnrollmentRow(e: Enrollment): Row | undefined {
  const role = sdsEnrollmentRole(e.role);
  return role === undefined ? undefined : [e.class.sourcedId, e.user.sourcedId, role];
}

/** `demographics.csv` row: ethnicity and race booleans become code lists (Microsoft's transform). */
export function sdsDemographicsRow(d: Demographics): Row {
  const races: string[] = [];
  for (const f of RACE_FIELDS) if (d[f] === true) races.push(f);
  return [
    d.sourcedId,
    d.sex === undefined ? '' : d.sex.trim().toLowerCase(),
    d.birthDate,
    d.cityOfBirth,
    d.stateOfBirthAbbreviation,
    d.countryOfBirthCode,
    d.hispanicOrLatinoEthnicity === true ? 'hispanicOrLatinoEthnicity' : '',
    races.join(','),
  ];
}

/** `userFlags.csv` rows of a student: one per known flag, canonical spelling (user-flags.ts). */
export function sdsUserFlagRows(u: User): Row[] {
  if (u.role !== 'student') return []; // SDS flags apply to students only (rules.ts `user-flags-not-student`).
  const raw = u.metadata?.[USER_FLAGS_KEY];
  if (typeof raw !== 'string') return [];
  return parseUserFlags(raw).flags.map((f) => [u.sourcedId, f]);
}

// ---------------------------------------------------------------------------------------------
// The export.

export interface SdsExportOptions {
  /** Directory to write into (created if missing). */
  outDir: string;
  /** SDS optional-data toggles (sds/toggles.ts): contacts, demographics, userFlags. */
  toggles: Toggles;
  /** Write courses.csv (default true). When false, classes carry no courseSourcedId. */
  courses?: boolean;
  /** Source of `activeDirectoryMatchId` for staff and students. Default `none` (blank). */
  matchIdFrom?: MatchIdSource;
  /** Write users' passwords (default false: a password is a secret; SDS only needs it to create users). */
  includePasswords?: boolean;
  /** OneRoster role → SDS organisation role overrides, merged over DEFAULT_SDS_ROLE_MAP. */
  roleMap?: Readonly<Record<string, string>>;
  /** Rows per reader batch. */
  batchSize?: number;
  signal?: AbortSignal;
}

/** Why rows were left out (counts only; ids are in no log). */
export interface SdsDropped {
  /** Enrollments whose role has no SDS enrollment role (contact roles). */
  enrollmentRole: number;
  /** Enrollments whose class or user is not exported. */
  enrollmentReference: number;
  /** Role rows whose org is not exported. */
  roleOrg: number;
  /** Demographics of users not exported. */
  demographicsUser: number;
  /** Student agents that are not exported contacts (deriveRelationships `unresolved`). */
  relationshipUnresolved: number;
}

export interface SdsExportSummary {
  outDir: string;
  /** Data rows (header excluded) of each file written. */
  files: Partial<Record<SdsFileName, number>>;
  dropped: SdsDropped;
  /** Optional files of an earlier export removed because their data is now disabled. */
  removed: SdsFileName[];
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Writes the SDS v2.1 CSV files into `outDir`. Each file is streamed to a temporary name and renamed
 * into place only when every file succeeded, so a failed export leaves the previous files intact.
 * @throws when reading or writing fails (temporary files are removed).
 */
export async function exportSdsCsv(reader: RosterReader, options: SdsExportOptions): Promise<SdsExportSummary> {
  const { outDir, toggles } = options;
  const withCourses = options.courses ?? true;
  const roleMap = { ...DEFAULT_SDS_ROLE_MAP, ...options.roleMap };
  await mkdir(outDir, { recursive: true });

  const wanted: SdsFileName[] = ['orgs.csv', 'users.csv', 'roles.csv', 'classes.csv', 'enrollments.csv', 'academicSessions.csv'];
  if (withCourses) wanted.push('courses.csv');
  if (toggles.demographics) wanted.push('demographics.csv');
  if (toggles.userFlags) wanted.push('userFlags.csv');
  if (toggles.contacts) wanted.push('relationships.csv');

  const failure = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, failure.signal]) : failure.signal;
  // Live rows only: SDS CSV is a full snapshot. The signal also stops reading when a file fails.
  const readOptions = { signal, ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}) };
  const rowOptions = () => readOptions;
  const tmpName = (f: SdsFileName) => join(outDir, `.${f}.${process.pid}.partial`);
  const sinks = new Map<SdsFileName, CsvSink>();
  const open = (f: SdsFileName): CsvSink => {
    const s = CsvSink.toFile(tmpName(f), SDS_HEADERS[f], { singleLine: true, signal, onError: (err) => failure.abort(err) });
    sinks.set(f, s);
    return s;
  };
  const dropped: SdsDropped = { enrollmentRole: 0, enrollmentReference: 0, roleOrg: 0, demographicsUser: 0, relationshipUnresolved: 0 };
  const put = async (s: CsvSink, row: Row): Promise<void> => {
    if (!s.write(row)) await s.drain();
  };

  try {
    // Small collections first; their id sets let the big ones drop dangling references.
    const sessionIds = new Set<string>();
    const sessions = open('academicSessions.csv');
    for await (const batch of reader.rows('academicSessions', rowOptions())) {
      for (const row of batch) {
        if (isDeletedRow(row)) continue;
        sessionIds.add(row.record.sourcedId);
        await put(sessions, sdsAcademicSessionRow(row.record));
      }
    }
    await sessions.close();

    // Orgs: collect ids first so a parent that is not exported is blanked, not left dangling.
    const orgIds = new Set<string>();
    for await (const batch of reader.rows('orgs', rowOptions())) {
      for (const row of batch) if (!isDeletedRow(row)) orgIds.add(row.record.sourcedId);
    }
    const orgs = open('orgs.csv');
    for await (const batch of reader.rows('orgs', rowOptions())) {
      for (const row of batch) if (!isDeletedRow(row)) await put(orgs, sdsOrgRow(row.record, orgIds));
    }
    await orgs.close();

    const courseIds = new Set<string>();
    if (withCourses) {
      const courses = open('courses.csv');
      for await (const batch of reader.rows('courses', rowOptions())) {
        for (const row of batch) {
          if (isDeletedRow(row)) continue;
          courseIds.add(row.record.sourcedId);
          await put(courses, sdsCourseRow(row.record, sessionIds));
        }
      }
      await courses.close();
    }

    const classIds = new Set<string>();
    const classes = open('classes.csv');
    for await (const batch of reader.rows('classes', rowOptions())) {
      for (const row of batch) {
        if (isDeletedRow(row)) continue;
        classIds.add(row.record.sourcedId);
        await put(classes, sdsClassRow(row.record, { sessionIds, courseIds }));
      }
    }
    await classes.close();

    // Users. Relationships need every contact before the students that name them, and contacts and
    // students interleave in sourcedId order: a first pass collects the live contacts' roles.
    const contacts = new Map<string, { role: string }>();
    if (toggles.contacts) {
      for await (const batch of reader.rows('users', rowOptions())) {
        for (const row of batch) {
          const u = row.record;
          if (!isDeletedRow(row) && isContactRole(u.role)) contacts.set(u.sourcedId, { role: u.role });
        }
      }
    }
    const userIds = new Set<string>();
    const users = open('users.csv');
    const roles = open('roles.csv');
    const flags = toggles.userFlags ? open('userFlags.csv') : undefined;
    const relationships = toggles.contacts ? open('relationships.csv') : undefined;
    for await (const batch of reader.rows('users', rowOptions())) {
      for (const row of batch) {
        if (isDeletedRow(row)) continue;
        const u = row.record;
        const contact = isContactRole(u.role);
        if (contact && !toggles.contacts) continue;
        userIds.add(u.sourcedId);
        const userOptions: { contact: boolean; matchIdFrom?: MatchIdSource; includePassword?: boolean } = { contact };
        if (options.matchIdFrom) userOptions.matchIdFrom = options.matchIdFrom;
        if (options.includePasswords) userOptions.includePassword = true;
        await put(users, sdsUserRow(u, userOptions));
        if (contact) continue;
        const r = sdsRoleRows(u, { roleMap, orgIds });
        dropped.roleOrg += r.dropped;
        for (const x of r.rows) await put(roles, x);
        if (flags) for (const x of sdsUserFlagRows(u)) await put(flags, x);
        if (relationships && u.agents !== undefined && u.agents.length > 0) {
          const d = deriveRelationships(u, contacts);
          dropped.relationshipUnresolved += d.unresolved.length;
          for (const rel of d.relationships) await put(relationships, [rel.studentSourcedId, rel.contactSourcedId, rel.role]);
        }
      }
    }
    await users.close();
    await roles.close();
    await flags?.close();
    await relationships?.close();
    contacts.clear();

    const enrollments = open('enrollments.csv');
    for await (const batch of reader.rows('enrollments', rowOptions())) {
      for (const row of batch) {
        if (isDeletedRow(row)) continue;
        const e = row.record;
        const out = sdsEnrollmentRow(e);
        if (out === undefined) dropped.enrollmentRole++;
        else if (!classIds.has(e.class.sourcedId) || !userIds.has(e.user.sourcedId)) dropped.enrollmentReference++;
        else if (!enrollments.write(out)) await enrollments.drain(); // inline: the hot loop (~1M rows at `large`)
      }
    }
    await enrollments.close();

    if (toggles.demographics) {
      const demographics = open('demographics.csv');
      for await (const batch of reader.rows('demographics', rowOptions())) {
        for (const row of batch) {
          if (isDeletedRow(row)) continue;
          if (!userIds.has(row.record.sourcedId)) dropped.demographicsUser++;
          else await put(demographics, sdsDemographicsRow(row.record));
        }
      }
      await demographics.close();
    }
  } catch (err) {
    failure.abort(err);
    await Promise.all([...sinks.values()].map((s) => s.destroy()));
    await Promise.all([...sinks.keys()].map((f) => rm(tmpName(f), { force: true }).catch(() => {})));
    // A caller's abort surfaces with the caller's reason, not as a stream's AbortError.
    throw options.signal?.aborted ? options.signal.reason : err;
  }

  // Every file is complete: move them into place, then drop stale optional files.
  const files: Partial<Record<SdsFileName, number>> = {};
  for (const f of wanted) {
    await rename(tmpName(f), join(outDir, f));
    files[f] = sinks.get(f)!.rows;
  }
  const removed: SdsFileName[] = [];
  for (const f of SDS_FILES) {
    if (wanted.includes(f)) continue;
    const p = join(outDir, f);
    if (await exists(p)) {
      await rm(p, { force: true });
      removed.push(f);
    }
  }
  return { outDir, files, dropped, removed };
}
