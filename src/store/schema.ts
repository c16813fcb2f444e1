/**
 * The store's tables as Kysely sees them, and the names of the per-entity live and staging tables.
 *
 * Layout (why per-entity tables, not one `records` table): the largest collection (enrollments,
 * ~1.1M rows per district) gets its own narrow indexes (class, user) that the re-served API needs,
 * smaller collections do not pay for them, every index key is shorter (no `entity` prefix), and the
 * serving layer gets real typed columns to filter on. The engine stays generic: every live table
 * shares the columns of `LiveCommon`, and `entity-columns.ts` lists the few extra columns per entity.
 *
 * Portability (PostgreSQL later): only TEXT and INTEGER columns, ISO-8601 text timestamps, JSON as
 * TEXT; every statement is written through Kysely or in SQL that both dialects accept.
 */
import type { Generated } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';

export interface TenantTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ConnectionTable {
  id: string;
  tenant_id: string;
  name: string;
  base_url: string;
  /** `oauth1` | `oauth2` | `none`. */
  auth_kind: string;
  /** Non-secret options (JSON object). */
  options: string;
  /** AES-256-GCM envelope of the secret (see secret-box.ts), or null when there is none. */
  secret_ciphertext: string | null;
  created_at: string;
  updated_at: string;
}

export interface RunTable {
  id: Generated<number>;
  tenant_id: string;
  connection_id: string;
  mode: string;
  /** `running` | `succeeded` | `partial` | `failed` (later also `held`). */
  status: string;
  started_at: string;
  finished_at: string | null;
  heartbeat_at: string | null;
  lease_owner: string | null;
  /** JSON: per-entity counts (`EntityCounts` by collection). */
  entities: string;
  /** JSON: per-endpoint `{requests, bytes}`. */
  requests: string;
  /** JSON: issue counts by severity and by rule. */
  issues: string;
  error_code: string | null;
  error_message: string | null;
  /** 1: a dry run (planned, applied nothing). Migration 0003. */
  dry_run: Generated<number>;
  /** SDS run status (completed / completedWithWarnings / completedWithErrors / failed). */
  sds_status: string | null;
  /** JSON `HoldReason[]` when the run was held. */
  hold: string | null;
  /** `pending` | `approved` | `discarded` for held runs. */
  hold_state: string | null;
  hold_resolved_by: string | null;
  hold_resolved_at: string | null;
  /** For an approved hold: the run that applied it. */
  approved_run: number | null;
  /** For an approval re-run: the held run it applies. */
  approval_of: number | null;
  /** Delta runs: the `dateLastModified` they asked from. */
  cursor: string | null;
  /** How often a killed run was taken over and continued. */
  resumes: Generated<number>;
}

/** Change history (migration 0003): one row per applied change; `applied = 0` rows are a held run's plan. */
export interface ChangeTable {
  seq: Generated<number>;
  tenant_id: string;
  connection_id: string;
  run_id: number;
  entity: string;
  /** `created` | `updated` | `deleted` | `restored`. */
  kind: string;
  sourced_id: string;
  /** JSON `{field: {before, after}}`; null for `created`. */
  fields: string | null;
  applied: Generated<number>;
  at: string;
}

/** What each page of a collection's last full read held (migration 0009, sync/page-summary.ts). */
export interface PageSummaryTable {
  connection_id: string;
  collection: string;
  body_hash: string;
  item_count: number;
  first_id: string;
  last_id: string;
  agg: string;
  run_id: number;
}

/** Delta cursors per connection and collection (migration 0003). */
export interface SyncCursorTable {
  connection_id: string;
  collection: string;
  cursor: string;
  run_id: number;
  updated_at: string;
}

/** Downstream API clients of the re-served OneRoster API (migration 0004). */
export interface ApiClientTable {
  id: string;
  tenant_id: string;
  connection_id: string;
  name: string;
  /** Public OAuth client id / OAuth 1.0a consumer key. */
  client_id: string;
  /** scrypt hash of the secret (`store/secret-hash.ts`). */
  secret_hash: string;
  /** SecretBox envelope of the secret, for OAuth 1.0a clients only (HMAC needs the secret). */
  secret_ciphertext: string | null;
  /** JSON array of short scope names (`roster-core`, `roster`, `demographics`). */
  scopes: string;
  created_at: string;
  rotated_at: string | null;
  revoked_at: string | null;
  last_used_at: string | null;
}

/** Webhook subscribers (migration 0005); the signing secret is sealed (SecretBox). */
export interface WebhookSubscriberTable {
  id: string;
  tenant_id: string;
  /** Null: every connection of the tenant. */
  connection_id: string | null;
  url: string;
  /** JSON array of collections; null for all. */
  entities: string | null;
  secret_ciphertext: string;
  /** Seq of the last acknowledged event (null: none yet). */
  cursor_seq: number | string | null;
  consecutive_failures: Generated<number>;
  last_error: string | null;
  last_failure_at: string | null;
  disabled_at: string | null;
  disabled_reason: string | null;
  created_at: string;
  last_delivery_at: string | null;
}

/** Change-history retention watermark per connection (migration 0005). */
export interface ChangePurgeTable {
  connection_id: string;
  purged_through_seq: number | string;
  purged_through_run: number;
  purged_at: string;
}

export interface RunIssueTable {
  run_id: number;
  seq: number;
  severity: string;
  rule: string;
  entity: string;
  sourced_id: string | null;
  field: string | null;
  value: string | null;
  message: string;
}

/** Columns every live entity table has. */
export interface LiveCommon {
  tenant_id: string;
  connection_id: string;
  sourced_id: string;
  /** `active` or `tobedeleted` (tombstones always read `tobedeleted`). */
  status: string;
  date_last_modified: string | null;
  /** sha256 hex of `data`. */
  content_hash: string;
  /** Canonical JSON of the normalised record. */
  data: string;
  /** The provider's record as sent, when it differs from `data` (null: `data` says it all). */
  raw: string | null;
  /**
   * sha256 of the provider's JSON text of the record (salted with the codec version), kept only
   * for records that had no issues: when the next run sees the same fingerprint the record is
   * unchanged without normalising it again.
   */
  raw_fp: string | null;
  first_seen_run: number;
  /** Last run that wrote this row (created, updated, restored or tombstoned it). */
  updated_run: number;
  /** Starts at 1, +1 on every write: lets tests and caches prove a row was not rewritten. */
  row_version: number;
  deleted_at: string | null;
  deleted_run: number | null;
}

/** Columns every staging table has (one row per sourcedId seen in a run's collection). */
export interface StageCommon {
  run_id: number;
  sourced_id: string;
  /** A `StageOp` code. */
  op: number;
  content_hash: string | null;
  status: string | null;
  date_last_modified: string | null;
  data: string | null;
  raw: string | null;
  raw_fp: string | null;
  /** JSON field diff against the live row (updates, restores, deletes). */
  diff: string | null;
}

type Cols<K extends string> = { [P in K]: string | number | null };

export interface AcademicSessionCols extends Cols<'type' | 'school_year' | 'parent_id' | 'start_date' | 'end_date'> {}
export interface OrgCols extends Cols<'type' | 'identifier' | 'parent_id'> {}
export interface CourseCols extends Cols<'org_id' | 'school_year_id' | 'course_code'> {}
export interface ClassCols extends Cols<'school_id' | 'course_id' | 'class_type'> {}
export interface UserCols extends Cols<'role' | 'email' | 'username' | 'enabled_user'> {}
export interface EnrollmentCols extends Cols<'user_id' | 'class_id' | 'school_id' | 'role' | 'is_primary'> {}

export interface Database {
  tenants: TenantTable;
  connections: ConnectionTable;
  runs: RunTable;
  run_issues: RunIssueTable;
  changes: ChangeTable;
  sync_cursors: SyncCursorTable;
  page_summaries: PageSummaryTable;
  webhook_subscribers: WebhookSubscriberTable;
  api_clients: ApiClientTable;
  change_purges: ChangePurgeTable;
  live_academic_sessions: LiveCommon & AcademicSessionCols;
  live_orgs: LiveCommon & OrgCols;
  live_courses: LiveCommon & CourseCols;
  live_classes: LiveCommon & ClassCols;
  live_users: LiveCommon & UserCols;
  live_enrollments: LiveCommon & EnrollmentCols;
  live_demographics: LiveCommon;
  stage_academic_sessions: StageCommon & AcademicSessionCols;
  stage_orgs: StageCommon & OrgCols;
  stage_courses: StageCommon & CourseCols;
  stage_classes: StageCommon & ClassCols;
  stage_users: StageCommon & UserCols;
  stage_enrollments: StageCommon & EnrollmentCols;
  stage_demographics: StageCommon;
}

const SNAKE: Record<CollectionName, string> = {
  academicSessions: 'academic_sessions',
  orgs: 'orgs',
  courses: 'courses',
  classes: 'classes',
  users: 'users',
  enrollments: 'enrollments',
  demographics: 'demographics',
};

export type LiveTableName = `live_${(typeof SNAKE)[CollectionName]}` & keyof Database;
export type StageTableName = `stage_${(typeof SNAKE)[CollectionName]}` & keyof Database;

/** The live table of a collection. */
export function liveTable(collection: CollectionName): LiveTableName {
  return `live_${SNAKE[collection]}` as LiveTableName;
}

/** The staging table of a collection. */
export function stageTable(collection: CollectionName): StageTableName {
  return `stage_${SNAKE[collection]}` as StageTableName;
}

/**
 * What a run decided for one staged sourcedId. Codes below `STAGE_WRITE_MIN` carry only the key
 * (and hash) and are not written to the live table: `unchanged`/`invalid` prove the record was
 * present (the anti-join absence check spares them), `absent` marks a row to tombstone.
 */
export const StageOp = {
  /** Same hash as the live row: nothing to write. */
  unchanged: 0,
  /** Dropped by an error-severity issue: live row (if any) keeps its last-known-good data. */
  invalid: 1,
  /** A live row the (sorted) read passed over without seeing: tombstoned at apply. */
  absent: 2,
  /** New sourcedId, active. */
  create: 3,
  /** Hash differs from the live row. */
  update: 4,
  /** The live row was a tombstone and the record is active again. */
  restore: 5,
  /** Arrived with status `tobedeleted`: becomes a tombstone. */
  delete: 6,
} as const;
export type StageOp = (typeof StageOp)[keyof typeof StageOp];

/** Ops at or above this code carry full data and are written at apply time. */
export const STAGE_WRITE_MIN = StageOp.create;
