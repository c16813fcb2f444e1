/**
 * An independent integrity check of any RecordSource holding OneRoster 1.1 records: every GuidRef
 * resolves, agents point both ways, every class has one primary teacher, demographics ↔ students,
 * enums, required fields, dates, E.164 phones, user flags, unique sourcedIds.
 *
 * It does not read the simulator's dirty ledger: the dirty-data test compares what this finds
 * with what the simulator says it broke. Problems whose rule is a DirtyKind are exactly the kinds
 * of breakage the simulator makes on purpose; any other rule means the data is wrong by accident.
 * Written for `large` (1.5M records): one pass per collection, Maps/Sets, phone results cached.
 */
import { isValidPhoneNumber } from 'libphonenumber-js/max';
import type {
  AcademicSession,
  AnyEntity,
  Class,
  CollectionName,
  Course,
  Enrollment,
  GuidRef,
  Org,
  User,
} from '../oneroster/types.ts';
import {
  CLASS_TYPES,
  COLLECTIONS,
  GRADES,
  ORG_TYPES,
  ROLE_TYPES,
  SESSION_TYPES,
  SEXES,
  STATUSES,
} from '../oneroster/types.ts';
import type { RecordSource } from '../serve/record-source.ts';
import type { DirtyKind } from './dirty.ts';
import { CONTACT_ROLES } from './dirty.ts';
import { USER_FLAGS, USER_FLAGS_KEY } from './generator.ts';

export type IntegrityRule =
  | DirtyKind
  | 'invalid-enum'
  | 'bad-datetime'
  | 'future-datetime'
  | 'bad-date'
  | 'bad-ref-type'
  | 'org-link'
  | 'session-link'
  | 'agent-not-reciprocal'
  | 'agent-role'
  | 'contact-without-agents'
  | 'class-without-teacher'
  | 'class-primary-teacher'
  | 'student-without-demographics'
  | 'demographics-without-student'
  | 'enrollment-school-mismatch'
  | 'enrollment-role-mismatch'
  | 'status-mismatch';

export interface IntegrityProblem {
  rule: IntegrityRule;
  collection: CollectionName;
  sourcedId: string;
  field?: string;
  detail?: string;
}

export interface IntegrityReport {
  ok: boolean;
  /** Records examined per collection (duplicates included). */
  checked: Record<CollectionName, number>;
  problemCount: number;
  byRule: Partial<Record<IntegrityRule, number>>;
  /** Problems in discovery order, capped at `maxProblems`. */
  problems: IntegrityProblem[];
  truncated: boolean;
}

export interface IntegrityOptions {
  /** Datetimes after this are `future-datetime`. Default: `source.now()` if present, else no check. */
  now?: Date;
  /** Validate phones with libphonenumber-js/max (default true). */
  checkPhones?: boolean;
  /** Cap of the problem list (counts stay complete). Default 10,000. */
  maxProblems?: number;
}

const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const E164 = /^\+[1-9]\d{1,14}$/;
const KNOWN_FLAGS = new Set(USER_FLAGS.map((f) => f.toLowerCase()));

/** Ref types accepted per target collection (1.1 GUIDRef types, §3.3; SDS accepts session subtypes, sds-notes §1.4). */
const REF_TYPES: Record<string, ReadonlySet<string>> = {
  orgs: new Set(['org']),
  academicSessions: new Set(['academicSession', 'term', 'gradingPeriod', 'semester', 'schoolYear']),
  courses: new Set(['course']),
  classes: new Set(['class']),
  users: new Set(['user', 'student', 'teacher']),
};

const REQUIRED: Record<CollectionName, readonly string[]> = {
  academicSessions: ['title', 'startDate', 'endDate', 'type', 'schoolYear'],
  orgs: ['name', 'type', 'identifier'],
  courses: ['title', 'courseCode', 'org'],
  classes: ['title', 'school', 'terms'],
  users: ['username', 'givenName', 'familyName', 'role', 'identifier', 'orgs'],
  enrollments: ['user', 'class', 'school', 'role'],
  demographics: [],
};

const lower = (v: unknown): string => (typeof v === 'string' ? v.toLowerCase() : '');

/**
 * Checks a record source. Pure apart from reading the source.
 * @returns a report whose `ok` is true when no problem was found.
 */
export function checkIntegrity(source: RecordSource & { now?: () => Date }, options: IntegrityOptions = {}): IntegrityReport {
  const nowIso = (options.now ?? source.now?.())?.toISOString();
  const checkPhones = options.checkPhones ?? true;
  const max = options.maxProblems ?? 10_000;
  const report: IntegrityReport = {
    ok: true, checked: {} as Record<CollectionName, number>, problemCount: 0, byRule: {}, problems: [], truncated: false,
  };
  const problem = (rule: IntegrityRule, collection: CollectionName, sourcedId: string, field?: string, detail?: string): void => {
    report.problemCount++;
    report.byRule[rule] = (report.byRule[rule] ?? 0) + 1;
    if (report.problems.length < max) {
      const p: IntegrityProblem = { rule, collection, sourcedId };
      if (field !== undefined) p.field = field;
      if (detail !== undefined) p.detail = detail;
      report.problems.push(p);
    } else report.truncated = true;
  };
  const enumCheck = (value: unknown, allowed: readonly string[], c: CollectionName, id: string, field: string): void => {
    if (typeof value === 'string' && allowed.includes(value)) return;
    const l = lower(value);
    if (l && allowed.some((a) => a.toLowerCase() === l)) problem('wrong-enum-case', c, id, field, String(value));
    else problem('invalid-enum', c, id, field, String(value));
  };
  const get = <T extends AnyEntity>(c: CollectionName, id: string): T | undefined => source.get(c, id) as T | undefined;
  /** Resolves a ref; reports dangling or mistyped refs. */
  const ref = (r: GuidRef | undefined, target: CollectionName, c: CollectionName, id: string, field: string): AnyEntity | undefined => {
    if (!r || typeof r.sourcedId !== 'string') return undefined;
    if (!REF_TYPES[target]?.has(r.type)) problem('bad-ref-type', c, id, `${field}.type`, String(r.type));
    const hit = source.get(target, r.sourcedId);
    if (!hit) problem('dangling-reference', c, id, `${field}.sourcedId`, r.sourcedId);
    return hit;
  };
  const phoneCache = new Map<string, boolean>();
  const phoneOk = (v: string): boolean => {
    let ok = phoneCache.get(v);
    if (ok === undefined) {
      ok = E164.test(v) && (!checkPhones || isValidPhoneNumber(v));
      phoneCache.set(v, ok);
    }
    return ok;
  };
  const date = (v: unknown, c: CollectionName, id: string, field: string): void => {
    if (v !== undefined && (typeof v !== 'string' || !DATE.test(v))) problem('bad-date', c, id, field, String(v));
  };

  // Teachers per class, from enrollments (first pass), for the class check.
  const teachers = new Map<string, { active: number; primary: number }>();
  for (const r of source.records('enrollments')) {
    const e = r as Enrollment;
    if (lower(e.role) !== 'teacher' || e.status !== 'active' || !e.class) continue;
    const t = teachers.get(e.class.sourcedId) ?? { active: 0, primary: 0 };
    t.active++;
    if (e.primary === true) t.primary++;
    teachers.set(e.class.sourcedId, t);
  }

  for (const c of COLLECTIONS) {
    const seen = new Set<string>();
    let n = 0;
    for (const record of source.records(c)) {
      n++;
      const id = record.sourcedId;
      const any = record as unknown as Record<string, unknown>;
      if (typeof id !== 'string' || id === '') {
        problem('missing-required-field', c, String(id), 'sourcedId');
        continue;
      }
      if (seen.has(id)) problem('duplicate-sourced-id', c, id, 'sourcedId');
      seen.add(id);
      enumCheck(record.status, STATUSES, c, id, 'status');
      if (typeof record.dateLastModified !== 'string' || !DATETIME.test(record.dateLastModified)) {
        problem('bad-datetime', c, id, 'dateLastModified', String(record.dateLastModified));
      } else if (nowIso && record.dateLastModified > nowIso) {
        problem('future-datetime', c, id, 'dateLastModified', record.dateLastModified);
      }
      for (const f of REQUIRED[c]) {
        const v = any[f];
        if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) problem('missing-required-field', c, id, f);
      }
      const active = record.status === 'active';
      switch (c) {
        case 'orgs': {
          const o = record as Org;
          if (o.type !== undefined) enumCheck(o.type, ORG_TYPES, c, id, 'type');
          const parent = ref(o.parent, 'orgs', c, id, 'parent') as Org | undefined;
          if (parent && !(parent.children ?? []).some((x) => x.sourcedId === id)) problem('org-link', c, id, 'parent', parent.sourcedId);
          (o.children ?? []).forEach((ch, i) => {
            const child = ref(ch, 'orgs', c, id, `children[${i}]`) as Org | undefined;
            if (child && child.parent?.sourcedId !== id) problem('org-link', c, id, `children[${i}]`, child.sourcedId);
          });
          break;
        }
        case 'academicSessions': {
          const s = record as AcademicSession;
          if (s.type !== undefined) enumCheck(s.type, SESSION_TYPES, c, id, 'type');
          date(s.startDate, c, id, 'startDate');
          date(s.endDate, c, id, 'endDate');
          if (s.startDate && s.endDate && s.startDate >= s.endDate) problem('bad-date', c, id, 'endDate', 'not after startDate');
          if (s.schoolYear !== undefined && !/^\d{4}$/.test(s.schoolYear)) problem('bad-date', c, id, 'schoolYear', s.schoolYear);
          const parent = ref(s.parent, 'academicSessions', c, id, 'parent') as AcademicSession | undefined;
          if (parent && !(parent.children ?? []).some((x) => x.sourcedId === id)) problem('session-link', c, id, 'parent', parent.sourcedId);
          (s.children ?? []).forEach((ch, i) => {
            const child = ref(ch, 'academicSessions', c, id, `children[${i}]`) as AcademicSession | undefined;
            if (child && child.parent?.sourcedId !== id) problem('session-link', c, id, `children[${i}]`, child.sourcedId);
          });
          break;
        }
        case 'courses': {
          const co = record as Course;
          ref(co.schoolYear, 'academicSessions', c, id, 'schoolYear');
          ref(co.org, 'orgs', c, id, 'org');
          break;
        }
        case 'classes': {
          const cl = record as Class;
          if (cl.classType !== undefined) enumCheck(cl.classType, CLASS_TYPES, c, id, 'classType');
          ref(cl.course, 'courses', c, id, 'course');
          ref(cl.school, 'orgs', c, id, 'school');
          (cl.terms ?? []).forEach((t, i) => ref(t, 'academicSessions', c, id, `terms[${i}]`));
          for (const g of cl.grades ?? []) enumCheck(g, GRADES, c, id, 'grades');
          if (active) {
            const t = teachers.get(id);
            if (!t || t.active === 0) problem('class-without-teacher', c, id);
            else if (t.primary !== 1) problem('class-primary-teacher', c, id, 'primary', String(t.primary));
          }
          break;
        }
        case 'users': {
          const u = record as User;
          const role = lower(u.role);
          if (u.role !== undefined) enumCheck(u.role, ROLE_TYPES, c, id, 'role');
          (u.orgs ?? []).forEach((o, i) => ref(o, 'orgs', c, id, `orgs[${i}]`));
          for (const g of u.grades ?? []) enumCheck(g, GRADES, c, id, 'grades');
          for (const f of ['phone', 'sms'] as const) {
            const v = u[f];
            if (v !== undefined && (typeof v !== 'string' || !phoneOk(v))) problem('bad-phone', c, id, f, 'not a valid E.164 number');
          }
          const flags = u.metadata?.[USER_FLAGS_KEY];
          if (flags !== undefined) {
            const bad = typeof flags !== 'string' || flags.split(',').some((f) => f.trim() !== '' && !KNOWN_FLAGS.has(f.trim().toLowerCase()));
            if (bad) problem('unknown-flag', c, id, `metadata.${USER_FLAGS_KEY}`);
          }
          const agents = u.agents ?? [];
          const isContact = CONTACT_ROLES.has(role);
          if (isContact && agents.length === 0) problem('contact-without-agents', c, id, 'agents');
          if (role === 'teacher' && agents.length > 0) problem('agent-role', c, id, 'agents', 'teachers have no agents');
          let activeAgent = false;
          agents.forEach((a, i) => {
            const other = ref(a, 'users', c, id, `agents[${i}]`) as User | undefined;
            if (!other) return;
            const otherRole = lower(other.role);
            // OneRoster: a parent's agents are students, and the reverse link MUST exist (§3.4 user.agents).
            const roleOk = role === 'student' ? CONTACT_ROLES.has(otherRole) : isContact ? otherRole === 'student' : true;
            if (!roleOk) problem('agent-role', c, id, `agents[${i}]`, otherRole);
            if (!(other.agents ?? []).some((b) => b.sourcedId === id)) problem('agent-not-reciprocal', c, id, `agents[${i}]`, other.sourcedId);
            if (other.status === 'active') activeAgent = true;
            if (active && role === 'student' && other.status !== 'active') problem('status-mismatch', c, id, `agents[${i}]`, 'active student, inactive contact');
          });
          if (active && isContact && agents.length > 0 && !activeAgent) problem('status-mismatch', c, id, 'agents', 'active contact without an active student');
          if (role === 'student') {
            const d = get('demographics', id);
            if (!d) problem('student-without-demographics', c, id);
            else if (d.status !== record.status) problem('status-mismatch', c, id, 'status', 'demographics status differs');
          }
          break;
        }
        case 'enrollments': {
          const e = record as Enrollment;
          if (e.role !== undefined) enumCheck(e.role, ROLE_TYPES, c, id, 'role');
          const user = ref(e.user, 'users', c, id, 'user') as User | undefined;
          const cls = ref(e.class, 'classes', c, id, 'class') as Class | undefined;
          ref(e.school, 'orgs', c, id, 'school');
          date(e.beginDate, c, id, 'beginDate');
          date(e.endDate, c, id, 'endDate');
          if (e.beginDate && e.endDate && e.beginDate > e.endDate) problem('bad-date', c, id, 'endDate', 'before beginDate');
          if (cls?.school && e.school && cls.school.sourcedId !== e.school.sourcedId) problem('enrollment-school-mismatch', c, id, 'school.sourcedId');
          if (user && lower(user.role) !== lower(e.role)) problem('enrollment-role-mismatch', c, id, 'role', `${lower(e.role)} vs ${lower(user.role)}`);
          if (active && ((user && user.status !== 'active') || (cls && cls.status !== 'active'))) {
            problem('status-mismatch', c, id, 'status', 'active enrollment of an inactive user or class');
          }
          break;
        }
        case 'demographics': {
          const d = record as { sex?: unknown; birthDate?: unknown };
          if (d.sex !== undefined) enumCheck(d.sex, SEXES, c, id, 'sex');
          date(d.birthDate, c, id, 'birthDate');
          const u = get<User>('users', id);
          if (!u || lower(u.role) !== 'student') problem('demographics-without-student', c, id);
          break;
        }
      }
    }
    report.checked[c] = n;
  }
  report.ok = report.problemCount === 0;
  return report;
}
