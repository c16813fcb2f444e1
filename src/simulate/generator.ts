/**
 * Deterministic generator of a realistic school district as OneRoster 1.1 records
 * (the internal shape of `oneroster/types.ts`).
 *
 * Shape of the district (oneroster-spec-notes §3.4, sds-notes §1.2–1.4, §2.5–2.6):
 * - one district org whose `children` are the schools (each school's `parent` is the district);
 * - one schoolYear academicSession → 2 semesters → 4 terms (quarters) → 8 grading periods, linked
 *   parent/children both ways, `schoolYear` = the year the school year ends, end dates exclusive;
 * - per school: courses (org = school, schoolYear = the year), classes (homeroom + scheduled) with
 *   terms and periods, teachers assigned by department, every class with one primary teacher;
 * - families: students with their guardians/parents/relatives; `agents` point both ways
 *   (OneRoster: "reverse link MUST be modelled"), contacts have E.164 `phone`/`sms` in the
 *   fictional 555-01xx range, students carry `metadata["microsoft.userFlags"]` (sds-notes §1.3);
 * - one demographics record per student with the student's sourcedId.
 *
 * Memory (the `large` profile holds ~1.5M records): one frozen GuidRef per target entity, shared
 * by every record that points at it (no href: the server adds hrefs); shared frozen arrays for
 * `orgs`, `grades`, `subjects`, `terms`, `periods` and flag metadata; no per-record closures.
 * Records are plain objects that callers must treat as immutable: the simulator itself replaces
 * a record (copy on write) rather than mutating it, so shared arrays stay safe.
 */
import type {
  AcademicSession,
  AnyEntity,
  Class,
  CollectionName,
  Course,
  Demographics,
  Enrollment,
  EntityByCollection,
  GuidRef,
  Metadata,
  Org,
  User,
} from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import {
  AREA_CODES,
  BIRTH_CITIES,
  BIRTH_COUNTRIES,
  CONTACT_EMAIL_DOMAINS,
  FAMILY_NAMES,
  GIVEN_NAMES_FEMALE,
  GIVEN_NAMES_MALE,
  PLACE_NAMES,
  SCHOOL_NAMESAKES,
  US_STATES,
  slug,
} from './names.ts';
import { Rng } from './random.ts';

export type DistrictSize = 'tiny' | 'small' | 'medium' | 'large';
export const DISTRICT_SIZES: readonly DistrictSize[] = ['tiny', 'small', 'medium', 'large'];

export interface DistrictOptions {
  size: DistrictSize;
  /** PRNG seed; default 1. */
  seed?: number;
  /** Fraction (0..1) of eligible records made dirty per DirtyKind; default 0 (no dirty data at all). */
  dirtyRate?: number;
  /** Simulated clock start; default 2026-09-01T12:00:00.000Z. */
  now?: Date;
}

export const DEFAULT_NOW = '2026-09-01T12:00:00.000Z';

export type SchoolLevel = 'elementary' | 'middle' | 'high' | 'micro';

export interface SizeProfile {
  schools: Record<SchoolLevel, number>;
  /** Target student count; generation stops at the first family that reaches it. */
  students: number;
}

/**
 * Size profiles. Students are spread evenly over grades, so with K–12 the split is about
 * 46% elementary / 23% middle / 31% high; 60/20/20 schools gives ~770/1150/1550 students per school.
 */
export const SIZE_PROFILES: Record<DistrictSize, SizeProfile> = {
  tiny: { schools: { elementary: 0, middle: 0, high: 0, micro: 1 }, students: 30 },
  small: { schools: { elementary: 3, middle: 1, high: 1, micro: 0 }, students: 2_500 },
  medium: { schools: { elementary: 12, middle: 4, high: 4, micro: 0 }, students: 20_000 },
  large: { schools: { elementary: 60, middle: 20, high: 20, micro: 0 }, students: 100_000 },
};

// ---------------------------------------------------------------------------------------------
// Stores: what the District holds. Map per collection (O(1) get, insertion-ordered iteration),
// plus the deliberately duplicated records of the `duplicate-sourced-id` dirty kind.

/** One collection's records: primaries by sourcedId, plus dirty duplicates sharing a sourcedId. */
export class CollectionStore<T extends AnyEntity> {
  readonly byId = new Map<string, T>();
  readonly duplicates: T[] = [];

  /** Adds or replaces the primary record with this sourcedId (replacing keeps its iteration position). */
  set(record: T): void {
    this.byId.set(record.sourcedId, record);
  }

  get size(): number {
    return this.byId.size + this.duplicates.length;
  }

  /** Primaries then duplicates. Returns the Map iterator directly when there are no duplicates. */
  values(): Iterable<T> {
    if (this.duplicates.length === 0) return this.byId.values();
    return concat(this.byId.values(), this.duplicates);
  }
}

function* concat<T>(a: Iterable<T>, b: Iterable<T>): Generator<T> {
  yield* a;
  yield* b;
}

export type Stores = { [C in CollectionName]: CollectionStore<EntityByCollection[C]> };

function createStores(): Stores {
  const s = {} as Record<CollectionName, CollectionStore<AnyEntity>>;
  for (const c of COLLECTIONS) s[c] = new CollectionStore<AnyEntity>();
  return s as Stores;
}

// ---------------------------------------------------------------------------------------------
// Context kept after generation: what churn needs to create realistic new records.

/** A class a new student can be enrolled in. */
export interface ClassSlot {
  ref: GuidRef;
  school: GuidRef;
  beginDate: string;
  endDate: string;
}

/** Choose `pick` distinct groups (courses for one term), then one section (class) in each. */
export interface ScheduleSlot {
  pick: number;
  groups: ClassSlot[][];
}

export interface SchoolInfo {
  id: string;
  ref: GuidRef;
  level: SchoolLevel;
  /** Frozen `[ref]`, shared by every user whose only org is this school. */
  orgs: GuidRef[];
  zone: number;
  grades: readonly string[];
  /** Per grade: the schedule a student of that grade gets. */
  schedule: Map<string, ScheduleSlot[]>;
}

export interface Counters {
  student: number;
  contact: number;
  teacher: number;
  course: number;
  class: number;
  enrollment: number;
}

export interface DistrictContext {
  size: DistrictSize;
  seed: number;
  /** Simulated clock start, epoch ms. */
  startMs: number;
  districtRef: GuidRef;
  /** Staff email domain, e.g. `maplewoodsd.example`; students use `students.<domain>`. */
  domain: string;
  state: string;
  /** The district's local area codes (most contact phones use one of these). */
  areaCodes: number[];
  schools: SchoolInfo[];
  schoolById: Map<string, SchoolInfo>;
  yearRef: GuidRef;
  /** Start/end (exclusive) per academicSession sourcedId. */
  sessionDates: Map<string, { startDate: string; endDate: string }>;
  /** Last number used per id prefix; churn continues from here. */
  counters: Counters;
}

export interface GeneratedDistrict {
  stores: Stores;
  ctx: DistrictContext;
}

// ---------------------------------------------------------------------------------------------
// Identifiers. Zero padded so that string order equals creation order within a prefix.

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
/** sourcedId builders: `stu-000123`, `con-000123`, `tch-00012`, `crs-00012`, `cls-00012`, `enr-0000456`, `sch-0001`. */
export const studentId = (n: number): string => `stu-${pad(n, 6)}`;
export const contactId = (n: number): string => `con-${pad(n, 6)}`;
export const teacherId = (n: number): string => `tch-${pad(n, 5)}`;
export const courseId = (n: number): string => `crs-${pad(n, 5)}`;
export const classId = (n: number): string => `cls-${pad(n, 5)}`;
export const enrollmentId = (n: number): string => `enr-${pad(n, 7)}`;
export const schoolId = (n: number): string => `sch-${pad(n, 4)}`;

/** A frozen GuidRef without href (the server adds hrefs). One per target entity, shared. */
export function guidRef(sourcedId: string, type: string): GuidRef {
  return Object.freeze({ sourcedId, type });
}

function frozen<T>(items: T[]): T[] {
  return Object.freeze(items) as T[];
}

// ---------------------------------------------------------------------------------------------
// Time helpers (UTC throughout).

const DAY_MS = 86_400_000;

/** `YYYY-MM-DDTHH:mm:ss.SSSZ`, the format SDS parses strictly (sds-notes §1.1). */
export function isoStamp(ms: number): string {
  return new Date(ms).toISOString();
}

/** `YYYY-MM-DD` of an epoch-ms instant. */
export function isoDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/** A random instant between `maxDaysAgo` and `minDaysAgo` days before `nowMs`. */
export function pastStamp(rng: Rng, nowMs: number, minDaysAgo: number, maxDaysAgo: number): string {
  const from = nowMs - maxDaysAgo * DAY_MS;
  const span = (maxDaysAgo - minDaysAgo) * DAY_MS;
  return isoStamp(from + Math.floor(rng.float() * span));
}

/**
 * Up to `size` distinct random stamps of one window, filled lazily and shared between records.
 * Formatting 1.5M timestamps costs seconds and ~60 MB; SIS batch jobs stamp many records with the
 * same instant anyway, so consumers must cope with ties in `dateLastModified`.
 */
class StampPool {
  private readonly pool: Array<string | undefined>;
  constructor(
    private readonly rng: Rng,
    private readonly nowMs: number,
    private readonly minDaysAgo: number,
    private readonly maxDaysAgo: number,
    size = 1 << 15,
  ) {
    this.pool = new Array<string | undefined>(size);
  }
  next(): string {
    const i = this.rng.int(this.pool.length);
    return (this.pool[i] ??= pastStamp(this.rng, this.nowMs, this.minDaysAgo, this.maxDaysAgo));
  }
}

// ---------------------------------------------------------------------------------------------
// Schools: level templates.

interface CourseSpec {
  code: string;
  subject: string;
  title: (grade: string) => string;
  /** Special room (gym, music room) instead of the teacher's room. */
  location?: string;
}

interface LevelTemplate {
  suffix: string;
  grades: readonly string[];
  homeroomTitle: (grade: string) => string;
  homeroomSize: number;
  /** Weight of a homeroom when allocating teachers to departments; 0 = homerooms go round-robin to all teachers. */
  homeroomWeight: number;
  /** Courses every student of a grade takes all year. */
  core: CourseSpec[];
  /** High school: core courses are scheduled as a class per semester instead of one year-long class. */
  coreBySemester: boolean;
  /** Semester electives (one course per school, a class per grade and semester). */
  electives: CourseSpec[];
  electivesPerSemester: number;
  classSize: number;
  studentsPerTeacher: number;
  periods: number;
}

function gradeLabel(g: string): string {
  return g === 'KG' ? 'Kindergarten' : `Grade ${Number(g)}`;
}
function gradeShort(g: string): string {
  return g === 'KG' ? 'K' : String(Number(g));
}
const fixed = (t: string) => (): string => t;
const byGrade =
  (titles: Record<string, string>) =>
  (g: string): string =>
    titles[g] ?? `${gradeLabel(g)}`;

const TEMPLATES: Record<SchoolLevel, LevelTemplate> = {
  elementary: {
    suffix: 'Elementary School',
    grades: ['KG', '01', '02', '03', '04', '05'],
    homeroomTitle: (g) => `${gradeLabel(g)} Homeroom`,
    homeroomSize: 22,
    homeroomWeight: 5,
    core: [
      { code: 'ART', subject: 'Art', title: (g) => `Art ${gradeShort(g)}`, location: 'Art Room' },
      { code: 'MUS', subject: 'Music', title: (g) => `Music ${gradeShort(g)}`, location: 'Music Room' },
      { code: 'PE', subject: 'Physical Education', title: (g) => `Physical Education ${gradeShort(g)}`, location: 'Gym' },
      { code: 'LIB', subject: 'Library Media', title: (g) => `Library ${gradeShort(g)}`, location: 'Library' },
      { code: 'STEM', subject: 'Science', title: (g) => `STEM ${gradeShort(g)}` },
      { code: 'SPA', subject: 'World Languages', title: (g) => `Spanish ${gradeShort(g)}` },
    ],
    coreBySemester: false,
    electives: [],
    electivesPerSemester: 0,
    classSize: 26,
    studentsPerTeacher: 16.5,
    periods: 6,
  },
  middle: {
    suffix: 'Middle School',
    grades: ['06', '07', '08'],
    homeroomTitle: (g) => `${gradeLabel(g)} Homeroom`,
    homeroomSize: 25,
    homeroomWeight: 0,
    core: [
      { code: 'ELA', subject: 'English Language Arts', title: (g) => `English Language Arts ${Number(g)}` },
      { code: 'MATH', subject: 'Mathematics', title: byGrade({ '06': 'Math 6', '07': 'Math 7', '08': 'Pre-Algebra' }) },
      { code: 'SCI', subject: 'Science', title: byGrade({ '06': 'Earth Science', '07': 'Life Science', '08': 'Physical Science' }) },
      { code: 'SS', subject: 'Social Studies', title: byGrade({ '06': 'World Geography', '07': 'World History', '08': 'U.S. History' }) },
      { code: 'PE', subject: 'Physical Education', title: (g) => `Physical Education ${Number(g)}`, location: 'Gym' },
    ],
    coreBySemester: false,
    electives: [
      { code: 'ART', subject: 'Art', title: fixed('Art'), location: 'Art Room' },
      { code: 'BAND', subject: 'Music', title: fixed('Band'), location: 'Band Room' },
      { code: 'CHOIR', subject: 'Music', title: fixed('Choir'), location: 'Choir Room' },
      { code: 'ORCH', subject: 'Music', title: fixed('Orchestra'), location: 'Orchestra Room' },
      { code: 'SPAN', subject: 'World Languages', title: fixed('Spanish') },
      { code: 'FREN', subject: 'World Languages', title: fixed('French') },
      { code: 'TECH', subject: 'Technology', title: fixed('Technology'), location: 'Computer Lab' },
      { code: 'HLTH', subject: 'Health', title: fixed('Health') },
      { code: 'DRAM', subject: 'Theatre', title: fixed('Drama'), location: 'Auditorium' },
      { code: 'CS', subject: 'Computer Science', title: fixed('Computer Science'), location: 'Computer Lab' },
    ],
    electivesPerSemester: 3,
    classSize: 28,
    studentsPerTeacher: 16.5,
    periods: 7,
  },
  high: {
    suffix: 'High School',
    grades: ['09', '10', '11', '12'],
    homeroomTitle: (g) => `${gradeLabel(g)} Advisory`,
    homeroomSize: 25,
    homeroomWeight: 0,
    core: [
      { code: 'ENG', subject: 'English Language Arts', title: (g) => `English ${Number(g)}` },
      { code: 'MATH', subject: 'Mathematics', title: byGrade({ '09': 'Algebra I', '10': 'Geometry', '11': 'Algebra II', '12': 'Precalculus' }) },
      { code: 'SCI', subject: 'Science', title: byGrade({ '09': 'Biology', '10': 'Chemistry', '11': 'Physics', '12': 'Environmental Science' }) },
      { code: 'SS', subject: 'Social Studies', title: byGrade({ '09': 'World Geography', '10': 'World History', '11': 'U.S. History', '12': 'Government and Economics' }) },
    ],
    coreBySemester: true,
    electives: [
      { code: 'SPAN1', subject: 'World Languages', title: fixed('Spanish I') },
      { code: 'FREN1', subject: 'World Languages', title: fixed('French I') },
      { code: 'ART1', subject: 'Art', title: fixed('Art I'), location: 'Art Room' },
      { code: 'PE', subject: 'Physical Education', title: fixed('Physical Education'), location: 'Gym' },
      { code: 'HLTH', subject: 'Health', title: fixed('Health') },
      { code: 'BAND', subject: 'Music', title: fixed('Concert Band'), location: 'Band Room' },
      { code: 'CHOIR', subject: 'Music', title: fixed('Concert Choir'), location: 'Choir Room' },
      { code: 'CSP', subject: 'Computer Science', title: fixed('Computer Science Principles'), location: 'Computer Lab' },
      { code: 'PSY', subject: 'Social Studies', title: fixed('Psychology') },
      { code: 'JOUR', subject: 'English Language Arts', title: fixed('Journalism') },
      { code: 'DRAM', subject: 'Theatre', title: fixed('Theatre Arts'), location: 'Auditorium' },
      { code: 'PHOT', subject: 'Art', title: fixed('Photography'), location: 'Art Room' },
      { code: 'ENGR', subject: 'Career and Technical Education', title: fixed('Engineering Design') },
      { code: 'FIN', subject: 'Career and Technical Education', title: fixed('Personal Finance') },
    ],
    electivesPerSemester: 3,
    classSize: 28,
    studentsPerTeacher: 16.5,
    periods: 7,
  },
  // `tiny`: one small academy, few teachers and classes, but still homerooms, year-long and
  // semester classes so that tests on tiny exercise every shape.
  micro: {
    suffix: 'Academy',
    grades: ['06', '07', '08'],
    homeroomTitle: (g) => `${gradeLabel(g)} Homeroom`,
    homeroomSize: 25,
    homeroomWeight: 0,
    core: [
      { code: 'ELA', subject: 'English Language Arts', title: (g) => `English Language Arts ${Number(g)}` },
      { code: 'MATH', subject: 'Mathematics', title: (g) => `Math ${Number(g)}` },
    ],
    coreBySemester: false,
    electives: [
      { code: 'ART', subject: 'Art', title: fixed('Art'), location: 'Art Room' },
      { code: 'TECH', subject: 'Technology', title: fixed('Technology'), location: 'Computer Lab' },
    ],
    electivesPerSemester: 1,
    classSize: 28,
    studentsPerTeacher: 10,
    periods: 6,
  },
};

// ---------------------------------------------------------------------------------------------
// Shared frozen values.

const shared = {
  grades: new Map<string, string[]>(),
  subjects: new Map<string, string[]>(),
  periods: new Map<string, string[]>(),
  rooms: new Map<number, string>(),
  flags: new Map<string, Metadata>(),
};

function gradesOf(g: string): string[] {
  let v = shared.grades.get(g);
  if (!v) shared.grades.set(g, (v = frozen([g])));
  return v;
}
function subjectsOf(s: string): string[] {
  let v = shared.subjects.get(s);
  if (!v) shared.subjects.set(s, (v = frozen([s])));
  return v;
}
function periodsOf(key: string): string[] {
  let v = shared.periods.get(key);
  if (!v) shared.periods.set(key, (v = frozen(key.split(','))));
  return v;
}
function roomName(n: number): string {
  let v = shared.rooms.get(n);
  if (!v) shared.rooms.set(n, (v = `Room ${n}`));
  return v;
}

/** Flags of sds-notes §2.5 in their canonical order. */
export const USER_FLAGS = ['freeLunch', 'reducedLunch', 'homeless', 'giftedOrTalented', '504', 'ELL', 'LEP', 'IEP'] as const;
export const USER_FLAGS_KEY = 'microsoft.userFlags';

/** The shared frozen `metadata` object for a flags string (few distinct combinations exist). */
export function flagsMetadata(flags: string): Metadata {
  let v = shared.flags.get(flags);
  if (!v) shared.flags.set(flags, (v = Object.freeze({ [USER_FLAGS_KEY]: flags })));
  return v;
}

// ---------------------------------------------------------------------------------------------
// Families and people.

/** What siblings share: lunch status, housing, race/ethnicity (used for flags and demographics). */
export interface FamilyTraits {
  lunch: 0 | 1 | 2; // 0 none, 1 free, 2 reduced
  homeless: boolean;
  race: number; // index into RACES
  hispanic: boolean;
  bornAbroad: boolean;
  ell: boolean;
}

const RACES = ['white', 'black', 'asian', 'amind', 'nhpi', 'two'] as const;
const RACE_WEIGHTS = [0.6, 0.16, 0.07, 0.015, 0.005, 0.15];

/** Draws family-level traits (rates loosely follow US public-school enrolment statistics). */
export function familyTraits(rng: Rng): FamilyTraits {
  const r = rng.float();
  const bornAbroad = rng.chance(0.1);
  return {
    lunch: r < 0.33 ? 1 : r < 0.4 ? 2 : 0,
    homeless: rng.chance(0.02),
    race: rng.weighted([0, 1, 2, 3, 4, 5], RACE_WEIGHTS),
    hispanic: rng.chance(0.28),
    bornAbroad,
    ell: bornAbroad ? rng.chance(0.7) : rng.chance(0.05),
  };
}

/** A student's `microsoft.userFlags` string ('' when none). Order follows USER_FLAGS. */
export function studentFlags(rng: Rng, t: FamilyTraits): string {
  const out: string[] = [];
  if (t.lunch === 1) out.push('freeLunch');
  if (t.lunch === 2) out.push('reducedLunch');
  if (t.homeless) out.push('homeless');
  if (rng.chance(0.07)) out.push('giftedOrTalented');
  if (rng.chance(0.03)) out.push('504');
  if (t.ell) {
    out.push('ELL');
    if (rng.chance(0.8)) out.push('LEP');
  }
  if (rng.chance(0.14)) out.push('IEP');
  return out.join(',');
}

/** A valid North-American E.164 number in the fictional 555-0100..0199 range. */
export function phoneNumber(rng: Rng, ctx: DistrictContext): string {
  const area = rng.chance(0.9) ? rng.pick(ctx.areaCodes) : rng.pick(AREA_CODES);
  return `+1${area}5550${100 + rng.int(100)}`;
}

/** Age-appropriate birth date: a student in grade g is g+5 (KG: 5) on 1 September of the school year. */
function birthDate(rng: Rng, grade: string, yearStart: number): string {
  const g = grade === 'KG' ? 0 : Number(grade);
  const cutoff = Date.UTC(yearStart - g - 5, 8, 1); // turned g+5 by 1 September
  return isoDate(cutoff - rng.int(365) * DAY_MS);
}

export interface NewStudent {
  user: User;
  ref: GuidRef;
  demographics: Demographics;
}

/**
 * Builds one student and their demographics. `agents` are the family's contact refs (shared
 * frozen array). The caller adds both records to the stores.
 */
export function makeStudent(
  rng: Rng,
  ctx: DistrictContext,
  n: number,
  school: SchoolInfo,
  grade: string,
  familyName: string,
  traits: FamilyTraits,
  agents: GuidRef[],
  stamp: string,
  ref: GuidRef = guidRef(studentId(n), 'user'),
): NewStudent {
  const id = ref.sourcedId;
  const female = rng.chance(0.49);
  const names = female ? GIVEN_NAMES_FEMALE : GIVEN_NAMES_MALE;
  const givenName = rng.pick(names);
  const username = `${slug(givenName)}.${slug(familyName)}${n}`;
  const user: User = {
    sourcedId: id,
    status: 'active',
    dateLastModified: stamp,
    username,
    userIds: [{ type: 'LDAP', identifier: username }],
    enabledUser: true,
    givenName,
    familyName,
    role: 'student',
    identifier: String(1_000_000 + n),
    email: `${username}@students.${ctx.domain}`,
    agents,
    orgs: school.orgs,
    grades: gradesOf(grade),
  };
  if (rng.chance(0.5)) user.middleName = rng.pick(names);
  const flags = studentFlags(rng, traits);
  if (flags) user.metadata = flagsMetadata(flags);
  const yearStart = Number(ctx.sessionDates.get(ctx.yearRef.sourcedId)?.startDate.slice(0, 4));
  const race = RACES[traits.race] ?? 'white';
  const two = race === 'two';
  const second = two ? rng.pick(['black', 'asian', 'amind'] as const) : race;
  const demographics: Demographics = {
    sourcedId: id,
    status: 'active',
    dateLastModified: stamp,
    birthDate: birthDate(rng, grade, yearStart),
    sex: female ? 'female' : 'male',
    americanIndianOrAlaskaNative: race === 'amind' || second === 'amind',
    asian: race === 'asian' || second === 'asian',
    blackOrAfricanAmerican: race === 'black' || second === 'black',
    nativeHawaiianOrOtherPacificIslander: race === 'nhpi',
    white: race === 'white' || two,
    demographicRaceTwoOrMoreRaces: two,
    hispanicOrLatinoEthnicity: traits.hispanic,
    countryOfBirthCode: traits.bornAbroad ? rng.pick(BIRTH_COUNTRIES) : 'US',
  };
  if (!traits.bornAbroad) {
    demographics.stateOfBirthAbbreviation = rng.chance(0.75) ? ctx.state : rng.pick(US_STATES);
    demographics.cityOfBirth = rng.pick(BIRTH_CITIES);
  }
  return { user, ref, demographics };
}

export type ContactRole = 'parent' | 'guardian' | 'relative';

/** Builds one contact (role guardian/parent/relative) whose `agents` are the family's students. */
export function makeContact(
  rng: Rng,
  ctx: DistrictContext,
  n: number,
  role: ContactRole,
  familyName: string,
  agents: GuidRef[],
  orgs: GuidRef[],
  stamp: string,
): User {
  const givenName = rng.pick(rng.chance(0.5) ? GIVEN_NAMES_FEMALE : GIVEN_NAMES_MALE);
  const email = `${slug(givenName)}.${slug(familyName)}${n}@${rng.pick(CONTACT_EMAIL_DOMAINS)}`;
  const phone = phoneNumber(rng, ctx);
  const user: User = {
    sourcedId: contactId(n),
    status: 'active',
    dateLastModified: stamp,
    username: email,
    userIds: [{ type: 'email', identifier: email }],
    enabledUser: true,
    givenName,
    familyName,
    role,
    identifier: `C${pad(n, 7)}`,
    email,
    phone,
    agents,
    orgs,
  };
  // Most SIS keep a mobile number for texts; often the same as the primary phone.
  if (rng.chance(0.7)) user.sms = rng.chance(0.6) ? phone : phoneNumber(rng, ctx);
  return user;
}

/** Contact roles of one family: one or two primary contacts, sometimes a relative (sds-notes §2.6). */
export function familyContactRoles(rng: Rng): ContactRole[] {
  const roles: ContactRole[] = [];
  if (rng.chance(0.8)) {
    const r = rng.float();
    if (r < 0.75) roles.push('parent', 'parent');
    else if (r < 0.85) roles.push('parent', 'guardian');
    else roles.push('guardian', 'guardian');
  } else {
    roles.push(rng.chance(0.6) ? 'parent' : 'guardian');
  }
  if (rng.chance(0.4)) roles.push('relative');
  return roles;
}

/** A student enrollment in a class slot. */
export function makeStudentEnrollment(n: number, user: GuidRef, slot: ClassSlot, stamp: string, beginDate = slot.beginDate): Enrollment {
  return {
    sourcedId: enrollmentId(n),
    status: 'active',
    dateLastModified: stamp,
    user,
    class: slot.ref,
    school: slot.school,
    role: 'student',
    beginDate,
    endDate: slot.endDate,
  };
}

/**
 * Picks the classes of one student's schedule: per slot, `pick` distinct groups (courses),
 * one section each. Returns the chosen class slots.
 */
export function pickSchedule(rng: Rng, slots: readonly ScheduleSlot[]): ClassSlot[] {
  const out: ClassSlot[] = [];
  for (const slot of slots) {
    const g = slot.groups.length;
    if (g === 0) continue;
    const k = Math.min(slot.pick, g);
    if (k === 1) {
      const sections = slot.groups[rng.int(g)] ?? [];
      if (sections.length) out.push(rng.pick(sections));
      continue;
    }
    for (const gi of rng.sample(g, k)) {
      const sections = slot.groups[gi] ?? [];
      if (sections.length) out.push(rng.pick(sections));
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Generation.

/** Monday on or after 15 August of `year`: the first school day. */
function schoolYearStart(year: number): number {
  const d = Date.UTC(year, 7, 15);
  const dow = new Date(d).getUTCDay(); // 0 Sunday
  return d + ((8 - dow) % 7) * DAY_MS;
}

function buildSessions(rng: Rng, stores: Stores, ctx: DistrictContext, nowMs: number): void {
  const now = new Date(nowMs);
  // The school year containing `now`: from July on, the year that starts this calendar year.
  const y = now.getUTCMonth() >= 6 ? now.getUTCFullYear() : now.getUTCFullYear() - 1;
  const start = schoolYearStart(y);
  const week = 7 * DAY_MS;
  // Quarter boundaries in weeks from the first day; the year ends after 40 weeks (exclusive end).
  const bounds = [0, 9, 21, 30, 40].map((w) => start + w * week);
  const sy = String(y + 1); // schoolYear is the year the school year ends (§3.2)
  const label = `${y}-${String(y + 1).slice(2)}`;
  const id = `ses-${sy}`;
  const stamp = (): string => pastStamp(rng, nowMs, 100, 200);
  const dates = (a: number, b: number) => ({ startDate: isoDate(a), endDate: isoDate(b) });

  const yearRef = guidRef(id, 'academicSession');
  ctx.yearRef = yearRef;
  const semRefs = [guidRef(`${id}-s1`, 'academicSession'), guidRef(`${id}-s2`, 'academicSession')];
  const termRefs = [1, 2, 3, 4].map((q) => guidRef(`${id}-t${q}`, 'academicSession'));
  const gpRefs = [1, 2, 3, 4].map((q) => [1, 2].map((p) => guidRef(`${id}-t${q}-gp${p}`, 'academicSession')));

  const add = (s: AcademicSession): void => {
    stores.academicSessions.set(s);
    ctx.sessionDates.set(s.sourcedId, { startDate: s.startDate, endDate: s.endDate });
  };
  add({
    sourcedId: id, status: 'active', dateLastModified: stamp(), title: `${label} School Year`,
    ...dates(bounds[0]!, bounds[4]!), type: 'schoolYear', children: frozen(semRefs), schoolYear: sy,
  });
  for (let s = 0; s < 2; s++) {
    add({
      sourcedId: semRefs[s]!.sourcedId, status: 'active', dateLastModified: stamp(),
      title: `${label} Semester ${s + 1}`, ...dates(bounds[s * 2]!, bounds[s * 2 + 2]!), type: 'semester',
      parent: yearRef, children: frozen([termRefs[s * 2]!, termRefs[s * 2 + 1]!]), schoolYear: sy,
    });
  }
  for (let q = 0; q < 4; q++) {
    const a = bounds[q]!;
    const b = bounds[q + 1]!;
    const mid = a + Math.round((b - a) / week / 2) * week;
    const gps = gpRefs[q]!;
    add({
      sourcedId: termRefs[q]!.sourcedId, status: 'active', dateLastModified: stamp(),
      title: `${label} Quarter ${q + 1}`, ...dates(a, b), type: 'term',
      parent: semRefs[q < 2 ? 0 : 1]!, children: frozen([...gps]), schoolYear: sy,
    });
    for (let p = 0; p < 2; p++) {
      add({
        sourcedId: gps[p]!.sourcedId, status: 'active', dateLastModified: stamp(),
        title: `${label} Q${q + 1} Grading Period ${p + 1}`, ...(p === 0 ? dates(a, mid) : dates(mid, b)),
        type: 'gradingPeriod', parent: termRefs[q]!, schoolYear: sy,
      });
    }
  }
}

interface SessionRefs {
  year: ClassSlotDates & { terms: GuidRef[] };
  yearLong: ClassSlotDates & { terms: GuidRef[] };
  sem: Array<ClassSlotDates & { terms: GuidRef[]; tag: string }>;
}
interface ClassSlotDates {
  beginDate: string;
  endDate: string;
}

function sessionRefs(ctx: DistrictContext): SessionRefs {
  const id = ctx.yearRef.sourcedId;
  const d = (sid: string) => ctx.sessionDates.get(sid)!;
  const s1 = guidRef(`${id}-s1`, 'academicSession');
  const s2 = guidRef(`${id}-s2`, 'academicSession');
  const y = d(id);
  return {
    // Homerooms reference the schoolYear; year-long courses list both semesters (both forms occur in SIS data).
    year: { terms: frozen([ctx.yearRef]), beginDate: y.startDate, endDate: y.endDate },
    yearLong: { terms: frozen([s1, s2]), beginDate: y.startDate, endDate: y.endDate },
    sem: [
      { terms: frozen([s1]), beginDate: d(s1.sourcedId).startDate, endDate: d(s1.sourcedId).endDate, tag: 'S1' },
      { terms: frozen([s2]), beginDate: d(s2.sourcedId).startDate, endDate: d(s2.sourcedId).endDate, tag: 'S2' },
    ],
  };
}

interface Roster {
  /** Student refs per grade. */
  byGrade: Map<string, GuidRef[]>;
}

interface ClassDraft {
  record: Class;
  slot: ClassSlot;
  subject: string;
  homeroom: boolean;
  special: boolean; // has its own room
  students: GuidRef[];
}

/**
 * Generates a whole district. Pure: same options → same records. Dirty data is applied
 * separately (dirty.ts) so that it never perturbs the clean records.
 */
export function generateDistrict(size: DistrictSize, seed: number, now: Date): GeneratedDistrict {
  const nowMs = now.getTime();
  if (!Number.isFinite(nowMs)) throw new RangeError('now must be a valid Date');
  const profile = SIZE_PROFILES[size];
  if (!profile) throw new RangeError(`unknown district size: ${String(size)}`);
  const rng = new Rng(seed, 'generate');
  const stores = createStores();

  // District org.
  const place = rng.pick(PLACE_NAMES);
  const state = rng.pick(US_STATES);
  const leaId = `${pad(US_STATES.indexOf(state) + 1, 2)}${pad(rng.int(100_000), 5)}`;
  const districtRef = guidRef('dst-001', 'org');
  const localAreas = rng.shuffle([...AREA_CODES]).slice(0, 4);
  const ctx: DistrictContext = {
    size, seed, startMs: nowMs, districtRef,
    domain: `${slug(place)}sd.example`, state, areaCodes: localAreas,
    schools: [], schoolById: new Map(), yearRef: districtRef /* set by buildSessions */,
    sessionDates: new Map(),
    counters: { student: 0, contact: 0, teacher: 0, course: 0, class: 0, enrollment: 0 },
  };
  buildSessions(rng, stores, ctx, nowMs);

  // Schools, named without repeats from places and namesakes.
  const namePool = rng.shuffle([...PLACE_NAMES.filter((p) => p !== place), ...SCHOOL_NAMESAKES]);
  const levels: SchoolLevel[] = [];
  for (const level of ['elementary', 'middle', 'high', 'micro'] as const) {
    for (let i = 0; i < profile.schools[level]; i++) levels.push(level);
  }
  const zones = Math.max(1, profile.schools.high);
  const perLevelIndex: Record<SchoolLevel, number> = { elementary: 0, middle: 0, high: 0, micro: 0 };
  const schoolRefs: GuidRef[] = [];
  levels.forEach((level, i) => {
    const id = schoolId(i + 1);
    const ref = guidRef(id, 'org');
    const base = namePool[i % namePool.length]!;
    const name = `${base} ${TEMPLATES[level].suffix}${i >= namePool.length ? ` ${Math.floor(i / namePool.length) + 1}` : ''}`;
    const info: SchoolInfo = {
      id, ref, level, orgs: frozen([ref]), zone: perLevelIndex[level]++ % zones,
      grades: TEMPLATES[level].grades, schedule: new Map(),
    };
    ctx.schools.push(info);
    ctx.schoolById.set(id, info);
    schoolRefs.push(ref);
    stores.orgs.set({
      sourcedId: id, status: 'active', dateLastModified: pastStamp(rng, nowMs, 30, 365), name, type: 'school',
      identifier: `${leaId}${pad(i + 1, 5)}`, parent: districtRef,
    } satisfies Org);
  });
  const districtOrg: Org = {
    sourcedId: districtRef.sourcedId, status: 'active', dateLastModified: pastStamp(rng, nowMs, 30, 365),
    name: `${place} ${rng.pick(['Unified School District', 'Public Schools', 'Independent School District', 'County Schools'])}`,
    type: 'district', identifier: leaId, children: frozen(schoolRefs),
  };
  // District first in iteration order, as providers usually list it.
  const schoolOrgs = [...stores.orgs.byId.values()];
  stores.orgs.byId.clear();
  stores.orgs.set(districtOrg);
  for (const o of schoolOrgs) stores.orgs.set(o);

  // Families → students, contacts, demographics; rosters per school and grade.
  const allGrades = [...new Set(ctx.schools.flatMap((s) => s.grades))];
  const servers = new Map<string, SchoolInfo[][]>(); // grade → zone → schools
  for (const g of allGrades) {
    const byZone: SchoolInfo[][] = Array.from({ length: zones }, () => []);
    for (const s of ctx.schools) if (s.grades.includes(g)) byZone[s.zone]!.push(s);
    servers.set(g, byZone);
  }
  const rosters = new Map<string, Roster>(ctx.schools.map((s) => [s.id, { byGrade: new Map() }]));
  const peopleStamps = new StampPool(rng, nowMs, 0.05, 150);
  const orgsCache = new Map<string, GuidRef[]>();
  const kidsWeights = [0.5, 0.33, 0.13, 0.04];
  while (ctx.counters.student < profile.students) {
    const familyName = rng.pick(FAMILY_NAMES);
    const traits = familyTraits(rng);
    const zone = rng.int(zones);
    const kids = rng.weighted([1, 2, 3, 4], kidsWeights);
    const grades: string[] = [];
    for (let k = 0; k < kids; k++) {
      let g = rng.pick(allGrades);
      if (grades.includes(g)) g = rng.pick(allGrades); // twins happen, but rarely
      grades.push(g);
    }
    const kidSchools = grades.map((g) => {
      const byZone = servers.get(g)!;
      const local = byZone[zone]!;
      return local.length ? rng.pick(local) : rng.pick(byZone.flat());
    });
    const roles = familyContactRoles(rng);
    const contactRefs = roles.map(() => guidRef(contactId(++ctx.counters.contact), 'user'));
    const agentsOfKids = frozen(contactRefs);
    const students = grades.map((g, k) =>
      makeStudent(rng, ctx, ++ctx.counters.student, kidSchools[k]!, g, familyName, traits, agentsOfKids, peopleStamps.next()),
    );
    const kidRefs = frozen(students.map((s) => s.ref));
    const schoolKey = [...new Set(kidSchools.map((s) => s.id))].sort().join(',');
    let contactOrgs = orgsCache.get(schoolKey);
    if (!contactOrgs) {
      contactOrgs = frozen(schoolKey.split(',').map((id) => ctx.schoolById.get(id)!.ref));
      orgsCache.set(schoolKey, contactOrgs);
    }
    roles.forEach((role, c) => {
      const n = Number(contactRefs[c]!.sourcedId.slice(4));
      const sameName = role !== 'relative' ? rng.chance(0.8) : rng.chance(0.4);
      stores.users.set(
        makeContact(rng, ctx, n, role, sameName ? familyName : rng.pick(FAMILY_NAMES), kidRefs, contactOrgs!, peopleStamps.next()),
      );
    });
    students.forEach((s, k) => {
      stores.users.set(s.user);
      stores.demographics.set(s.demographics);
      const byGrade = rosters.get(kidSchools[k]!.id)!.byGrade;
      const g = grades[k]!;
      let list = byGrade.get(g);
      if (!list) byGrade.set(g, (list = []));
      list.push(s.ref);
    });
  }

  // Per school: courses, classes, teachers, enrollments.
  const refs = sessionRefs(ctx);
  const stamps = {
    course: new StampPool(rng, nowMs, 10, 120),
    teacher: new StampPool(rng, nowMs, 5, 200),
    enrollment: new StampPool(rng, nowMs, 0.05, 60),
  };
  for (const school of ctx.schools) buildSchool(rng, stores, ctx, school, rosters.get(school.id)!, refs, stamps);
  return { stores, ctx };
}

function buildSchool(
  rng: Rng,
  stores: Stores,
  ctx: DistrictContext,
  school: SchoolInfo,
  roster: Roster,
  sessions: SessionRefs,
  stamps: { course: StampPool; teacher: StampPool; enrollment: StampPool },
): void {
  const t = TEMPLATES[school.level];
  const drafts: ClassDraft[] = [];
  const stampCourse = (): string => stamps.course.next();
  const schoolYearRef = ctx.yearRef;

  const newCourse = (code: string, title: string, grades: string[], subject: string): GuidRef => {
    const id = courseId(++ctx.counters.course);
    stores.courses.set({
      sourcedId: id, status: 'active', dateLastModified: stampCourse(), title, schoolYear: schoolYearRef,
      courseCode: code, grades, subjects: subjectsOf(subject), org: school.ref,
    } satisfies Course);
    return guidRef(id, 'course');
  };
  const newClass = (
    course: GuidRef, courseCode: string, title: string, grade: string, subject: string, classType: 'homeroom' | 'scheduled',
    when: ClassSlotDates & { terms: GuidRef[] }, termTag: string, section: number, period: string, location: string | undefined,
  ): ClassDraft => {
    const id = classId(++ctx.counters.class);
    const ref = guidRef(id, 'class');
    const record: Class = {
      sourcedId: id, status: 'active', dateLastModified: stampCourse(), title,
      classCode: `${courseCode}-${termTag}-${pad(section + 1, 2)}`, classType,
      location: location ?? '', grades: gradesOf(grade), subjects: subjectsOf(subject), course, school: school.ref,
      terms: when.terms, periods: periodsOf(period),
    };
    const draft: ClassDraft = {
      record, subject, homeroom: classType === 'homeroom', special: location !== undefined, students: [],
      slot: { ref, school: school.ref, beginDate: when.beginDate, endDate: when.endDate },
    };
    drafts.push(draft);
    return draft;
  };
  const letter = (i: number): string => String.fromCharCode(65 + (i % 26)) + (i >= 26 ? String(Math.floor(i / 26)) : '');

  // Elective courses are one per school, spanning its grades.
  const electiveCourses = t.electives.map((e) => newCourse(e.code, e.title(''), frozen([...t.grades]), e.subject));

  for (const grade of t.grades) {
    const students = roster.byGrade.get(grade) ?? [];
    const n = students.length;
    const schedule: ScheduleSlot[] = [];
    school.schedule.set(grade, schedule);
    if (n === 0) continue;
    const gs = gradeShort(grade);

    // Homeroom / advisory: year-long, classType homeroom (§3.4 class.classType).
    const hrCode = `HR${grade}`;
    const hrCourse = newCourse(hrCode, t.homeroomTitle(grade), gradesOf(grade), 'Homeroom');
    const hrCount = Math.max(1, Math.round(n / t.homeroomSize));
    const hr = Array.from({ length: hrCount }, (_, s) =>
      newClass(hrCourse, hrCode, `${t.homeroomTitle(grade)} ${letter(s)}`, grade, 'Homeroom', 'homeroom', sessions.year, 'Y', s, 'HR', undefined),
    );
    students.forEach((st, i) => hr[i % hrCount]!.students.push(st));
    schedule.push({ pick: 1, groups: [hr.map((d) => d.slot)] });

    // Core courses: everyone in the grade takes each, sections balanced by a per-course shuffle.
    t.core.forEach((spec, ci) => {
      const code = `${spec.code}-${gs.padStart(2, '0')}`;
      const title = spec.title(grade);
      const course = newCourse(code, title, gradesOf(grade), spec.subject);
      const sections = Math.max(1, Math.ceil(n / t.classSize));
      const terms = t.coreBySemester ? sessions.sem : [{ ...sessions.yearLong, tag: 'Y' }];
      const order = rng.shuffle(Array.from({ length: n }, (_, i) => i));
      for (const when of terms) {
        const cls = Array.from({ length: sections }, (_, s) => {
          const period = String(((ci * 3 + s) % t.periods) + 1);
          return newClass(course, code, `${title} - P${period}`, grade, spec.subject, 'scheduled', when, when.tag, s, period, spec.location);
        });
        order.forEach((si, pos) => cls[pos % sections]!.students.push(students[si]!));
        schedule.push({ pick: 1, groups: [cls.map((d) => d.slot)] });
      }
    });

    // Electives: each student picks `electivesPerSemester` distinct courses per semester.
    if (t.electives.length > 0) {
      const pool = t.electives.length;
      const k = Math.min(t.electivesPerSemester, pool);
      sessions.sem.forEach((when) => {
        const takers: GuidRef[][] = Array.from({ length: pool }, () => []);
        for (const st of students) for (const e of rng.sample(pool, k)) takers[e]!.push(st);
        const groups: ClassSlot[][] = [];
        takers.forEach((list, e) => {
          if (list.length === 0) return;
          const spec = t.electives[e]!;
          const sections = Math.max(1, Math.ceil(list.length / t.classSize));
          const cls = Array.from({ length: sections }, (_, s) => {
            const period = String(((e + s + 3) % t.periods) + 1);
            return newClass(electiveCourses[e]!, `${spec.code}-${gs.padStart(2, '0')}`, `${spec.title(grade)} ${gradeShort(grade)} - P${period}`,
              grade, spec.subject, 'scheduled', when, when.tag, s, period, spec.location);
          });
          list.forEach((st, i) => cls[i % sections]!.students.push(st));
          groups.push(cls.map((d) => d.slot));
        });
        schedule.push({ pick: k, groups });
      });
    }
  }

  // Teachers: about one per `studentsPerTeacher` students, allocated to departments by load.
  let enrolled = 0;
  for (const list of roster.byGrade.values()) enrolled += list.length;
  const teacherCount = Math.max(3, Math.round(enrolled / t.studentsPerTeacher));
  const teachers: GuidRef[] = [];
  const rooms: string[] = [];
  const floorBase = 100;
  for (let i = 0; i < teacherCount; i++) {
    const n = ++ctx.counters.teacher;
    const id = teacherId(n);
    const female = rng.chance(0.75);
    const givenName = rng.pick(female ? GIVEN_NAMES_FEMALE : GIVEN_NAMES_MALE);
    const familyName = rng.pick(FAMILY_NAMES);
    const username = `${slug(givenName).charAt(0)}${slug(familyName)}${n}`;
    // A few itinerant teachers (music, special education) belong to two schools.
    const other = ctx.schools.length > 1 && rng.chance(0.04) ? rng.pick(ctx.schools.filter((s) => s !== school)) : undefined;
    const teacher: User = {
      sourcedId: id, status: 'active', dateLastModified: stamps.teacher.next(),
      username, userIds: [{ type: 'LDAP', identifier: username }], enabledUser: true, givenName, familyName,
      role: 'teacher', identifier: `T${pad(n, 6)}`, email: `${username}@${ctx.domain}`,
      orgs: other ? frozen([school.ref, other.ref]) : school.orgs,
    };
    stores.users.set(teacher);
    teachers.push(guidRef(id, 'user'));
    rooms.push(roomName(floorBase * (1 + Math.floor(i / 30)) + (i % 30) + 1));
  }

  // Departments: contiguous teacher ranges sized by weighted class counts (largest remainder).
  const weights = new Map<string, number>();
  for (const d of drafts) {
    if (d.homeroom && t.homeroomWeight === 0) continue;
    weights.set(d.subject, (weights.get(d.subject) ?? 0) + (d.homeroom ? t.homeroomWeight : 1));
  }
  const subjects = [...weights.keys()];
  const teacherRange = new Map<string, number[]>();
  if (teacherCount >= subjects.length) {
    const spare = teacherCount - subjects.length;
    const total = [...weights.values()].reduce((a, b) => a + b, 0);
    const exact = subjects.map((s) => ((weights.get(s) ?? 0) / total) * spare);
    const alloc = exact.map((x) => Math.floor(x));
    let left = spare - alloc.reduce((a, b) => a + b, 0);
    const byRemainder = exact.map((x, i) => [x - Math.floor(x), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    for (const [, i] of byRemainder) {
      if (left-- <= 0) break;
      alloc[i]!++;
    }
    let next = 0;
    subjects.forEach((s, i) => {
      const count = 1 + alloc[i]!;
      teacherRange.set(s, Array.from({ length: count }, (_, k) => next + k));
      next += count;
    });
  } else {
    subjects.forEach((s, i) => teacherRange.set(s, [i % teacherCount]));
  }
  const rr = new Map<string, number>();
  let hrNext = 0;
  const assigned: number[] = drafts.map((d) => {
    if (d.homeroom && t.homeroomWeight === 0) return hrNext++ % teacherCount;
    const range = teacherRange.get(d.subject)!;
    const k = rr.get(d.subject) ?? 0;
    rr.set(d.subject, k + 1);
    return range[k % range.length]!;
  });

  // Emit classes and their enrollments: primary teacher, maybe a co-teacher, then students.
  const stampEnr = (): string => stamps.enrollment.next();
  drafts.forEach((d, i) => {
    const ti = assigned[i]!;
    if (!d.special) d.record.location = rooms[ti]!;
    stores.classes.set(d.record);
    const teacherEnrollment = (who: GuidRef, primary: boolean): Enrollment => ({
      sourcedId: enrollmentId(++ctx.counters.enrollment), status: 'active', dateLastModified: stampEnr(),
      user: who, class: d.slot.ref, school: school.ref, role: 'teacher', primary,
      beginDate: d.slot.beginDate, endDate: d.slot.endDate,
    });
    stores.enrollments.set(teacherEnrollment(teachers[ti]!, true));
    // Co-teaching (special education inclusion, student teachers): ~8% of scheduled classes.
    if (!d.homeroom && teacherCount > 1 && rng.chance(0.08)) {
      const co = (ti + 1 + rng.int(teacherCount - 1)) % teacherCount;
      stores.enrollments.set(teacherEnrollment(teachers[co]!, false));
    }
    for (const st of d.students) stores.enrollments.set(makeStudentEnrollment(++ctx.counters.enrollment, st, d.slot, stampEnr()));
  });
}
