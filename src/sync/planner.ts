/**
 * The sync's decisions as pure functions (DESIGN.md "Conventions": the planner is pure so it is
 * table-testable): which collections to pull in which order, what each observed record means for
 * the live row, and whether a completely read collection may be applied.
 */
import type { CollectionName, Status } from '../oneroster/types.ts';
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

export interface SyncPolicy {
  /**
   * A complete collection that came back empty while the store holds live rows for it: `apply`
   * (tombstone them all, the plain full-sync rule) or `keep` (keep last-known-good and report the
   * collection as `kept`). Default `apply`; the deletion-guard issue will hold such runs instead.
   */
  emptyCollection: 'apply' | 'keep';
}

export const DEFAULT_POLICY: SyncPolicy = { emptyCollection: 'apply' };

/** Whether a completely read collection is applied or kept (see `SyncPolicy`). */
export function collectionVerdict(read: { fetched: number; liveEmpty: boolean }, policy: SyncPolicy): 'apply' | 'keep' {
  if (read.fetched === 0 && !read.liveEmpty && policy.emptyCollection === 'keep') return 'keep';
  return 'apply';
}
