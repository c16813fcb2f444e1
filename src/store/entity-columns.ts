/**
 * The few per-entity columns copied out of each record into real (indexable) columns of its live
 * table, beside the full canonical JSON in `data`. Everything else is read from `data`.
 *
 * Chosen for the queries the sync and the re-served OneRoster API make (oneroster-spec-notes §1.2):
 * enrollments by class / user / school (`/classes/{id}/students`, `/schools/{id}/enrollments`),
 * classes by school and course, users by role, orgs and sessions by parent. Migration 0001 creates
 * exactly these columns; a test checks the two stay in step (add columns with a new migration).
 */
import type { AnyEntity, CollectionName, GuidRef } from '../oneroster/types.ts';

/** A column value as both SQLite and PostgreSQL store it. */
export type ColumnValue = string | number | null;

export interface EntityColumn {
  /** Column name in both the live and the staging table. */
  readonly name: string;
  readonly type: 'text' | 'integer';
  /** Reads the value from a normalised record (reader.ts output). */
  readonly get: (record: AnyEntity) => ColumnValue;
}

type Loose = Record<string, unknown>;

function text(field: string): (r: AnyEntity) => ColumnValue {
  return (r) => {
    const v = (r as unknown as Loose)[field];
    return typeof v === 'string' ? v : null;
  };
}

function ref(field: string): (r: AnyEntity) => ColumnValue {
  return (r) => {
    const v = (r as unknown as Loose)[field] as GuidRef | undefined;
    return v !== undefined && typeof v === 'object' && typeof v.sourcedId === 'string' ? v.sourcedId : null;
  };
}

function bool(field: string): (r: AnyEntity) => ColumnValue {
  return (r) => {
    const v = (r as unknown as Loose)[field];
    return typeof v === 'boolean' ? (v ? 1 : 0) : null;
  };
}

/** Extra columns per collection, in table order. */
export const ENTITY_COLUMNS: Readonly<Record<CollectionName, readonly EntityColumn[]>> = {
  academicSessions: [
    { name: 'type', type: 'text', get: text('type') },
    { name: 'school_year', type: 'text', get: text('schoolYear') },
    { name: 'parent_id', type: 'text', get: ref('parent') },
    { name: 'start_date', type: 'text', get: text('startDate') },
    { name: 'end_date', type: 'text', get: text('endDate') },
  ],
  orgs: [
    { name: 'type', type: 'text', get: text('type') },
    { name: 'identifier', type: 'text', get: text('identifier') },
    { name: 'parent_id', type: 'text', get: ref('parent') },
  ],
  courses: [
    { name: 'org_id', type: 'text', get: ref('org') },
    { name: 'school_year_id', type: 'text', get: ref('schoolYear') },
    { name: 'course_code', type: 'text', get: text('courseCode') },
  ],
  classes: [
    { name: 'school_id', type: 'text', get: ref('school') },
    { name: 'course_id', type: 'text', get: ref('course') },
    { name: 'class_type', type: 'text', get: text('classType') },
  ],
  users: [
    { name: 'role', type: 'text', get: text('role') },
    { name: 'email', type: 'text', get: text('email') },
    { name: 'username', type: 'text', get: text('username') },
    { name: 'enabled_user', type: 'integer', get: bool('enabledUser') },
  ],
  enrollments: [
    { name: 'user_id', type: 'text', get: ref('user') },
    { name: 'class_id', type: 'text', get: ref('class') },
    { name: 'school_id', type: 'text', get: ref('school') },
    { name: 'role', type: 'text', get: text('role') },
    { name: 'is_primary', type: 'integer', get: bool('primary') },
  ],
  demographics: [],
};

/**
 * Secondary indexes of the live tables (besides the key and the covering `_fp` index), each led by
 * connection_id, for the re-served API's nested routes. Migration 0001 creates exactly these (a
 * test checks). Class and user ids arrive in random order, so on a 1.1M-row first sync these
 * cost ~10 µs per row as B-tree inserts; `StagingArea.apply` drops and rebuilds them by sort
 * around very large writes instead (SQLite).
 */
export const SECONDARY_INDEXES: Readonly<Partial<Record<CollectionName, ReadonlyArray<{ name: string; column: string }>>>> = {
  enrollments: [
    { name: 'live_enrollments_class_id', column: 'class_id' },
    { name: 'live_enrollments_user_id', column: 'user_id' },
  ],
  classes: [{ name: 'live_classes_school_id', column: 'school_id' }],
};

/** `dateLastModified`, then the entity's columns in order: a staged record's indexed values. */
export function recordValues(c: CollectionName, record: AnyEntity): ColumnValue[] {
  const out: ColumnValue[] = [record.dateLastModified ?? null];
  for (const col of ENTITY_COLUMNS[c]) out.push(col.get(record));
  return out;
}
