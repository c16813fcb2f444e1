/**
 * Runs: "one row per run (connection, mode, status, start/finish, per-entity counts, per-endpoint
 * request counts and bytes, error). One run per connection at a time."
 *
 * The one-at-a-time rule is enforced by the database (the partial unique index
 * `runs_one_running_per_connection` over `status = 'running'`), so it holds across processes, not
 * only inside one. `lease_owner` + `heartbeat_at` are kept up to date for crash detection: a later
 * reaper can fail a `running` row whose heartbeat is stale.
 */
import { sql, type Kysely, type Selectable } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import { StoreError, isUniqueViolation } from './errors.ts';
import type { Database, RunTable } from './schema.ts';

export const RUN_STATUSES = ['running', 'succeeded', 'partial', 'failed', 'held'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export type RunMode = 'full' | 'delta' | 'dry-run';

/** What happened to one collection in a run. */
export type CollectionOutcome =
  /** Pulled completely and applied. */
  | 'applied'
  /** The read failed; staged rows were discarded and the live rows kept (last-known-good). */
  | 'failed'
  /** Pulled completely but not applied by policy (e.g. an empty collection while rows exist). */
  | 'kept'
  /** Not attempted (the run was aborted or failed before it). */
  | 'skipped'
  /** Pulled completely; the run was held, so nothing was applied (the plan is kept for review). */
  | 'held'
  /** Pulled completely in a dry run: planned, not applied. */
  | 'planned';

/** Per-entity counts of a run. `fetched = created + updated + restored + unchanged + deleted(arrived) + invalid + duplicates`. */
export interface EntityCounts {
  outcome: CollectionOutcome;
  /** Items the provider sent (pages' items, dirty ones included). */
  fetched: number;
  created: number;
  updated: number;
  /** Tombstoned rows that came back active. */
  restored: number;
  unchanged: number;
  /** Rows tombstoned: by absence from the complete collection, or arriving as `tobedeleted`. */
  deleted: number;
  /** Of `deleted`, those deleted because they were absent. */
  deletedByAbsence: number;
  /**
   * Of `unchanged`, records read again because the live row held another raw fingerprint (a codec
   * version change, or provider JSON that changed without changing the record); the apply stores
   * the new one.
   */
  refreshed?: number;
  /** Records dropped by an error-severity issue (not applied, and not treated as absent). */
  invalid: number;
  /** Repeats of a sourcedId already seen in this run's collection (the first one is kept). */
  duplicates: number;
  /** Records not ingested by choice (an optional-data toggle is off); treated as absent. */
  skipped?: number;
  pages: number;
  /** Of `pages`, those recognised by their body and skipped unparsed, all unchanged (sync/page-summary.ts). */
  knownPages?: number;
  bytes: number;
  /** `X-Total-Count` when the provider sent one. */
  total?: number;
  /** Whether the provider paged this collection in sourcedId order (a hint for the next run's read mode). */
  order?: 'sorted' | 'unsorted';
  error?: RunError;
}

export interface EndpointCounts {
  requests: number;
  bytes: number;
}

export interface IssueSummary {
  bySeverity: { error: number; warning: number };
  byRule: Record<string, number>;
  /** Issues written to `run_issues` (capped; the counts above are always complete). */
  stored: number;
}

export interface RunError {
  code: string;
  message: string;
}

export interface Run {
  id: number;
  tenantId: string;
  connectionId: string;
  mode: RunMode;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  heartbeatAt?: string;
  leaseOwner?: string;
  entities: Partial<Record<CollectionName, EntityCounts>>;
  requests: Record<string, EndpointCounts>;
  issues: IssueSummary;
  error?: RunError;
  /** A dry run: planned, applied nothing (its plan is in `changes` with `applied = 0`). */
  dryRun: boolean;
  /** SDS run status (completed / completedWithWarnings / completedWithErrors / failed). */
  sdsStatus?: string;
  /** Why the run was held (status `held`, or a dry run that would have been). */
  hold?: unknown[];
  holdState?: 'pending' | 'approved' | 'discarded';
  holdResolvedBy?: string;
  holdResolvedAt?: string;
  /** Approved hold: the run that applied the approval. */
  approvedRun?: number;
  /** Approval re-run: the held run it applies. */
  approvalOf?: number;
  /** Delta runs: the `dateLastModified` they asked from. */
  cursor?: string;
  /** How often a killed run was taken over and continued. */
  resumes: number;
}

/** The final state a run is written with. */
export interface RunOutcome {
  status: Exclude<RunStatus, 'running'>;
  entities: Partial<Record<CollectionName, EntityCounts>>;
  requests: Record<string, EndpointCounts>;
  issues: IssueSummary;
  error?: RunError;
  sdsStatus?: string;
  /** Hold reasons (a held run, or a dry run that would be held). */
  hold?: unknown[];
}

export function emptyIssueSummary(): IssueSummary {
  return { bySeverity: { error: 0, warning: 0 }, byRule: {}, stored: 0 };
}

function toRun(r: Selectable<RunTable>): Run {
  const run: Run = {
    id: r.id,
    tenantId: r.tenant_id,
    connectionId: r.connection_id,
    mode: r.mode as RunMode,
    status: r.status as RunStatus,
    startedAt: r.started_at,
    entities: JSON.parse(r.entities) as Run['entities'],
    requests: JSON.parse(r.requests) as Run['requests'],
    issues: JSON.parse(r.issues) as IssueSummary,
    dryRun: Number(r.dry_run) === 1,
    resumes: Number(r.resumes ?? 0),
  };
  if (r.sds_status !== null) run.sdsStatus = r.sds_status;
  if (r.hold !== null) run.hold = JSON.parse(r.hold) as unknown[];
  if (r.hold_state !== null) run.holdState = r.hold_state as NonNullable<Run['holdState']>;
  if (r.hold_resolved_by !== null) run.holdResolvedBy = r.hold_resolved_by;
  if (r.hold_resolved_at !== null) run.holdResolvedAt = r.hold_resolved_at;
  if (r.approved_run !== null) run.approvedRun = Number(r.approved_run);
  if (r.approval_of !== null) run.approvalOf = Number(r.approval_of);
  if (r.cursor !== null) run.cursor = r.cursor;
  if (r.finished_at !== null) run.finishedAt = r.finished_at;
  if (r.heartbeat_at !== null) run.heartbeatAt = r.heartbeat_at;
  if (r.lease_owner !== null) run.leaseOwner = r.lease_owner;
  if (r.error_code !== null) run.error = { code: r.error_code, message: r.error_message ?? '' };
  return run;
}

/** Starts, heartbeats, finishes and reads runs. */
export class RunRepository {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  /**
   * Inserts a `running` run for the connection.
   * @throws StoreError `run_in_progress` when the connection already has a running run,
   *   `not_found` when the connection does not exist.
   */
  async start(input: {
    connectionId: string;
    mode: RunMode;
    leaseOwner: string;
    now?: Date;
    dryRun?: boolean;
    approvalOf?: number;
    cursor?: string;
  }): Promise<Run> {
    const conn = await this.#db.selectFrom('connections').select('tenant_id').where('id', '=', input.connectionId).executeTakeFirst();
    if (!conn) throw new StoreError('not_found', `connection ${input.connectionId} does not exist`);
    const now = (input.now ?? new Date()).toISOString();
    try {
      const row = await this.#db
        .insertInto('runs')
        .values({
          tenant_id: conn.tenant_id,
          connection_id: input.connectionId,
          mode: input.mode,
          status: 'running',
          started_at: now,
          heartbeat_at: now,
          lease_owner: input.leaseOwner,
          entities: '{}',
          requests: '{}',
          issues: JSON.stringify(emptyIssueSummary()),
          dry_run: input.dryRun ? 1 : 0,
          approval_of: input.approvalOf ?? null,
          cursor: input.cursor ?? null,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toRun(row);
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
      const other = await this.findRunning(input.connectionId);
      throw new StoreError(
        'run_in_progress',
        `connection ${input.connectionId} already has a running run${other ? ` (run ${other.id}, started ${other.startedAt}, owner ${other.leaseOwner ?? '?'})` : ''}`,
        { cause: err },
      );
    }
  }

  /** The running run of a connection, if any. */
  async findRunning(connectionId: string): Promise<Run | undefined> {
    const r = await this.#db
      .selectFrom('runs')
      .selectAll()
      .where('connection_id', '=', connectionId)
      .where('status', '=', 'running')
      .executeTakeFirst();
    return r && toRun(r);
  }

  /** Refreshes the lease. @throws StoreError `run_not_running` when the run is no longer ours to run. */
  async heartbeat(id: number, leaseOwner: string, now: Date = new Date()): Promise<void> {
    const res = await this.#db
      .updateTable('runs')
      .set({ heartbeat_at: now.toISOString() })
      .where('id', '=', id)
      .where('status', '=', 'running')
      .where('lease_owner', '=', leaseOwner)
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new StoreError('run_not_running', `run ${id} is no longer running under this lease`);
  }

  /**
   * Writes the final state of a running run. Pass the apply transaction as `db` so the live
   * changes and the run's final state commit together (a crash leaves neither).
   * @throws StoreError `run_not_running` when the run is not `running` (under `leaseOwner`, when given).
   */
  async finish(id: number, outcome: RunOutcome, db: Kysely<Database> = this.#db, now: Date = new Date(), leaseOwner?: string): Promise<void> {
    let q = db
      .updateTable('runs')
      .set({
        status: outcome.status,
        finished_at: now.toISOString(),
        entities: JSON.stringify(outcome.entities),
        requests: JSON.stringify(outcome.requests),
        issues: JSON.stringify(outcome.issues),
        error_code: outcome.error?.code ?? null,
        error_message: outcome.error?.message ?? null,
        sds_status: outcome.sdsStatus ?? null,
        hold: outcome.hold && outcome.hold.length > 0 ? JSON.stringify(outcome.hold) : null,
        // Only a real held run waits for a decision; a dry run's would-be hold is information.
        hold_state: sql<string | null>`case when ${outcome.status} = 'held' and dry_run = 0 then 'pending' else null end`,
      })
      .where('id', '=', id)
      .where('status', '=', 'running');
    // With the owner: a process that lost its lease (another one adopted the run) cannot finish it.
    if (leaseOwner !== undefined) q = q.where('lease_owner', '=', leaseOwner);
    const res = await q.executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) throw new StoreError('run_not_running', `run ${id} is not running${leaseOwner !== undefined ? ' under this lease' : ''}`);
  }

  /**
   * Takes over a run whose process died (failed with `lease_expired`) to continue it: `running`
   * again under `leaseOwner`, `resumes` + 1. Returns false when it is not such a run, or another
   * run of the connection is running meanwhile.
   */
  async adopt(id: number, leaseOwner: string, now: Date = new Date()): Promise<boolean> {
    try {
      const res = await this.#db
        .updateTable('runs')
        .set((eb) => ({
          status: 'running',
          lease_owner: leaseOwner,
          heartbeat_at: now.toISOString(),
          finished_at: null,
          error_code: null,
          error_message: null,
          resumes: eb('resumes', '+', 1),
        }))
        .where('id', '=', id)
        .where('status', '=', 'failed')
        .where('error_code', 'in', ['lease_expired', 'released'])
        .executeTakeFirst();
      return Number(res.numUpdatedRows) === 1;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  /** Held runs waiting for a decision (oldest first). */
  async pendingHolds(filter: { connectionId?: string; tenantId?: string } = {}): Promise<Run[]> {
    let q = this.#db.selectFrom('runs').selectAll().where('hold_state', '=', 'pending');
    if (filter.connectionId !== undefined) q = q.where('connection_id', '=', filter.connectionId);
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    return (await q.orderBy('id').execute()).map(toRun);
  }

  /**
   * Records the decision on a pending hold.
   * @throws StoreError `not_found` / `not_held` when the run is not a pending hold.
   */
  async resolveHold(id: number, decision: { state: 'approved' | 'discarded'; by: string; now?: Date }): Promise<void> {
    const res = await this.#db
      .updateTable('runs')
      .set({ hold_state: decision.state, hold_resolved_by: decision.by, hold_resolved_at: (decision.now ?? new Date()).toISOString() })
      .where('id', '=', id)
      .where('hold_state', '=', 'pending')
      .executeTakeFirst();
    if (Number(res.numUpdatedRows) === 0) {
      const run = await this.get(id);
      if (!run) throw new StoreError('not_found', `run ${id} does not exist`);
      throw new StoreError('not_held', `run ${id} is not a pending hold (status ${run.status}${run.holdState ? `, hold ${run.holdState}` : ''})`);
    }
  }

  /** Links an approved hold to the run that applied it. */
  async setApprovedRun(id: number, approvedRun: number): Promise<void> {
    await this.#db.updateTable('runs').set({ approved_run: approvedRun }).where('id', '=', id).execute();
  }

  /**
   * Fails `running` runs whose heartbeat is older than `staleBefore` (their process died: the
   * partial unique index would otherwise block the connection forever). Returns the ids failed.
   * Callers choose the cutoff: it must exceed the longest apply transaction, which does not
   * heartbeat (about a minute for a 1.5M-record first sync on a small machine).
   */
  async expireStale(staleBefore: Date, filter: { connectionId?: string } = {}, now: Date = new Date()): Promise<number[]> {
    let q = this.#db
      .updateTable('runs')
      .set({
        status: 'failed',
        finished_at: now.toISOString(),
        error_code: 'lease_expired',
        error_message: `the run's process stopped heartbeating before ${staleBefore.toISOString()}; nothing of it was applied`,
      })
      .where('status', '=', 'running')
      .where('heartbeat_at', '<', staleBefore.toISOString());
    if (filter.connectionId !== undefined) q = q.where('connection_id', '=', filter.connectionId);
    const rows = await q.returning('id').execute();
    return rows.map((r) => r.id);
  }

  /** One run, or undefined. */
  async get(id: number): Promise<Run | undefined> {
    const r = await this.#db.selectFrom('runs').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toRun(r);
  }

  /** Most recent runs first. `limit` defaults to 20 (max 1000). */
  async list(filter: { connectionId?: string; tenantId?: string; status?: RunStatus; limit?: number } = {}): Promise<Run[]> {
    let q = this.#db.selectFrom('runs').selectAll();
    if (filter.connectionId !== undefined) q = q.where('connection_id', '=', filter.connectionId);
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    if (filter.status !== undefined) q = q.where('status', '=', filter.status);
    const limit = Math.max(1, Math.min(filter.limit ?? 20, 1000));
    const rows = await q.orderBy('id', 'desc').limit(limit).execute();
    return rows.map(toRun);
  }
}
