/**
 * The sync's decisions as pure functions (DESIGN.md "Conventions": the planner is pure so it is
 * table-testable): which collections to pull in which order, what each observed record means for
 * the live row, and whether a completely read collection may be applied.
 */
import type { CollectionName, Status } from '../oneroster/types.ts';
import { runStatus } from '../sds/rules.ts';
import type { IssueSummary, RunStatus } from '../store/run-repository.ts';
import { StageOp } from '../store/schema.ts';
import type { KnownRow } from '../store/staging.ts';

/**
 * Apply order: referenced entities before the entities that reference them (anchors §2.2.8), so
 * a reader of the store never sees an enrollment before its class and user.
 */
export const DEPENDENCY_ORDER: readonly CollectionName[] = [
  'orgs',
  'academicSessions',
  'courses',
  'classes',
  'users',
  'demographics',
  'enrollments',
];

/** The five endpoints SDS requires ("/academicSessions, /orgs, /users, /classes, /enrollments"). */
export const REQUIRED_COLLECTIONS: readonly CollectionName[] = ['orgs', 'academicSessions', 'classes', 'users', 'enrollments'];

/** Pulled only when enabled for the connection. */
export const OPTIONAL_COLLECTIONS: readonly CollectionName[] = ['courses', 'demographics'];

/**
 * The collections to pull, deduplicated and in dependency order.
 * @throws RangeError on a name that is not a base collection.
 */
export function orderCollections(entities: readonly string[]): CollectionName[] {
  const wanted = new Set<string>(entities);
  for (const e of wanted) {
    if (!(DEPENDENCY_ORDER as readonly string[]).includes(e)) throw new RangeError(`unknown collection: ${e}`);
  }
  return DEPENDENCY_ORDER.filter((c) => wanted.has(c));
}

/** What a valid observed record is, for classification. */
export interface Observed {
  hash: string;
  status: Status;
}

/**
 * What an observed (valid) record means for its live row:
 * - active, no live row → `create`; live tombstone → `restore`; same hash → `unchanged`; else `update`;
 * - `tobedeleted` and the live row is active → `delete` (a tombstone, oneroster-spec-notes §5);
 *   `tobedeleted` for a row we do not hold as active → `unchanged` (nothing to remove; the key is
 *   still staged so the row is not treated as absent).
 */
export function classify(observed: Observed, known: Pick<KnownRow, 'hash' | 'deleted'> | undefined): StageOp {
  if (observed.status === 'tobedeleted') return known !== undefined && !known.deleted ? StageOp.delete : StageOp.unchanged;
  if (known === undefined) return StageOp.create;
  if (known.deleted) return StageOp.restore;
  return known.hash === observed.hash ? StageOp.unchanged : StageOp.update;
}

/**
 * Safeguard thresholds for one entity (issue 4, "what SDS lacks and Clever, ClassLink, Entra have").
 * Deletions hold a run when they exceed BOTH `deleteCount` and `deletePercent` of the live rows;
 * updates when they exceed both `updateCount` and `updatePercent`. (The update count floor is ours:
 * without it, renaming 2 of a district's 6 orgs would hold the run.)
 */
export interface Thresholds {
  deletePercent: number;
  deleteCount: number;
  updatePercent: number;
  updateCount: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { deletePercent: 10, deleteCount: 50, updatePercent: 30, updateCount: 50 };

/** Why a run was held, per entity. */
export interface HoldReason {
  entity: CollectionName;
  rule: 'deletions' | 'updates' | 'empty-collection';
  /** Planned changes of that kind (approved ones excluded). */
  planned: number;
  /** Active live rows before the run. */
  live: number;
  /** What was crossed, in words. */
  message: string;
}

/** What the run plans for one collection, for the hold check. */
export interface PlannedCounts {
  /** Active live rows before the run. */
  live: number;
  /** Deletions (arrived `tobedeleted` + absent), minus approved ones. */
  deletes: number;
  /** Updates, minus approved ones. */
  updates: number;
  /** A complete full-sync read that returned nothing. */
  emptyFullRead: boolean;
  /** An approval covers emptying this collection. */
  emptyApproved: boolean;
}

const pct = (n: number, of: number): number => (of === 0 ? (n > 0 ? 100 : 0) : (n * 100) / of);

/**
 * The hold reasons of one collection (pure). "A collection that comes back empty when the store has
 * rows for it never deletes those rows without an explicit approval": that holds regardless of
 * the thresholds.
 */
export function holdReasons(entity: CollectionName, p: PlannedCounts, t: Thresholds): HoldReason[] {
  const out: HoldReason[] = [];
  if (p.emptyFullRead && p.live > 0 && !p.emptyApproved) {
    out.push({ entity, rule: 'empty-collection', planned: p.live, live: p.live, message: `${entity} came back empty while the store holds ${p.live} active rows; deleting them all needs approval` });
    return out;
  }
  const dp = pct(p.deletes, p.live);
  if (p.deletes > t.deleteCount && dp > t.deletePercent) {
    out.push({ entity, rule: 'deletions', planned: p.deletes, live: p.live, message: `${p.deletes} deletions (${dp.toFixed(1)}% of ${p.live}) exceed the threshold of ${t.deleteCount} and ${t.deletePercent}%` });
  }
  const up = pct(p.updates, p.live);
  if (p.updates > t.updateCount && up > t.updatePercent) {
    out.push({ entity, rule: 'updates', planned: p.updates, live: p.live, message: `${p.updates} updates (${up.toFixed(1)}% of ${p.live}) exceed the threshold of ${t.updateCount} and ${t.updatePercent}%` });
  }
  return out;
}

export interface SyncPolicy {
  /**
   * A complete collection that came back empty while the store holds live rows for it: `hold`
   * (the default: the run is held until an admin approves), `apply` (tombstone them all, the plain
   * full-sync rule) or `keep` (keep last-known-good, report the collection as `kept`).
   */
  emptyCollection: 'apply' | 'keep' | 'hold';
  /** Thresholds for every entity; `perEntity` overrides some. `false` turns holds off. */
  thresholds: Thresholds | false;
  perEntity?: Partial<Record<CollectionName, Partial<Thresholds>>>;
}

export const DEFAULT_POLICY: SyncPolicy = { emptyCollection: 'hold', thresholds: DEFAULT_THRESHOLDS };

/** The thresholds for one entity under a policy (undefined: holds off). */
export function thresholdsFor(policy: SyncPolicy, entity: CollectionName): Thresholds | undefined {
  if (policy.thresholds === false) return undefined;
  return { ...policy.thresholds, ...policy.perEntity?.[entity] };
}

/**
 * The run's outcome in School Data Sync's words (sds-notes §3.2): `held` for a held run, `failed`
 * when it stopped, `completedWithErrors` when a record was dropped or a collection kept its
 * last-known-good rows (`partial`), `completedWithWarnings` when only values were dropped, else
 * `completed`.
 */
export function sdsRunStatus(result: { status: Exclude<RunStatus, 'running'>; issues: IssueSummary }): ReturnType<typeof runStatus> | 'held' {
  if (result.status === 'held') return 'held';
  return runStatus({
    errors: result.issues.bySeverity.error + (result.status === 'partial' ? 1 : 0),
    warnings: result.issues.bySeverity.warning,
    failed: result.status === 'failed',
  });
}

/** Whether a completely read collection is applied or kept (see `SyncPolicy`). */
export function collectionVerdict(read: { fetched: number; liveEmpty: boolean }, policy: SyncPolicy): 'apply' | 'keep' {
  if (read.fetched === 0 && !read.liveEmpty && policy.emptyCollection === 'keep') return 'keep';
  return 'apply';
}
