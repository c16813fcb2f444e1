/**
 * Holds (issue 4 safeguards): what a held run planned, and the admin's decision on it. Approving
 * re-runs the sync with an `Approval` built from the held run's plan, so the re-run applies current
 * data but holds again for anything beyond what was approved; discarding drops the plan.
 */
import { sql } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import { StoreError } from '../store/errors.ts';
import type { Run } from '../store/run-repository.ts';
import type { Store } from '../store/store.ts';
import type { Approval } from '../sync/full-sync.ts';
import type { HoldReason } from '../sync/planner.ts';

/** One planned change of a held (or dry) run. */
export interface PlannedChange {
  entity: CollectionName;
  sourcedId: string;
  kind: 'created' | 'updated' | 'deleted' | 'restored';
  fields: Record<string, { before: unknown; after: unknown }> | null;
}

/** A run's plan: counts per entity and kind, and the first rows. */
export interface RunPlan {
  runId: number;
  counts: Partial<Record<CollectionName, Record<PlannedChange['kind'], number>>>;
  /** Up to `limit` rows per entity and kind, deletions first. */
  changes: PlannedChange[];
  truncated: boolean;
}

/**
 * The plan a held or dry run recorded (`changes` rows with `applied = 0`).
 * @param limit rows per entity and kind (default 20; counts are always complete).
 */
export async function runPlan(store: Store, runId: number, options: { limit?: number; kinds?: ReadonlyArray<PlannedChange['kind']> } = {}): Promise<RunPlan> {
  const limit = Math.max(0, options.limit ?? 20);
  const counted = await store.db
    .selectFrom('changes')
    .select(['entity', 'kind', sql<number>`count(*)`.as('n')])
    .where('run_id', '=', runId)
    .where('applied', '=', 0)
    .groupBy(['entity', 'kind'])
    .execute();
  const counts: RunPlan['counts'] = {};
  let truncated = false;
  const changes: PlannedChange[] = [];
  const order: PlannedChange['kind'][] = ['deleted', 'updated', 'restored', 'created'];
  for (const row of counted) {
    const e = row.entity as CollectionName;
    const k = row.kind as PlannedChange['kind'];
    (counts[e] ??= { created: 0, updated: 0, deleted: 0, restored: 0 })[k] = Number(row.n);
  }
  for (const kind of order) {
    if (options.kinds && !options.kinds.includes(kind)) continue;
    for (const [entity, byKind] of Object.entries(counts) as Array<[CollectionName, Record<PlannedChange['kind'], number>]>) {
      if (byKind[kind] === 0) continue;
      if (byKind[kind] > limit) truncated = true;
      if (limit === 0) continue;
      const rows = await store.db
        .selectFrom('changes')
        .select(['sourced_id', 'fields'])
        .where('run_id', '=', runId)
        .where('applied', '=', 0)
        .where('entity', '=', entity)
        .where('kind', '=', kind)
        .orderBy('seq')
        .limit(limit)
        .execute();
      for (const r of rows) changes.push({ entity, sourcedId: r.sourced_id, kind, fields: r.fields === null ? null : (JSON.parse(r.fields) as PlannedChange['fields']) });
    }
  }
  return { runId, counts, changes, truncated };
}

/** A pending hold, or a clear error. */
export async function pendingHold(store: Store, runId: number): Promise<Run> {
  const run = await store.runs.get(runId);
  if (!run) throw new StoreError('not_found', `run ${runId} does not exist`);
  if (run.holdState !== 'pending') {
    throw new StoreError('not_held', `run ${runId} is not a pending hold (status ${run.status}${run.holdState ? `, hold ${run.holdState}` : ''})`);
  }
  return run;
}

/** The approval a re-run applies: the held run's planned deletions and updates, and emptied collections. */
export async function loadApproval(store: Store, run: Run): Promise<Approval> {
  const deletes = new Map<CollectionName, Set<string>>();
  const updates = new Map<CollectionName, Set<string>>();
  const rows = await store.db
    .selectFrom('changes')
    .select(['entity', 'sourced_id', 'kind'])
    .where('run_id', '=', run.id)
    .where('applied', '=', 0)
    .where('kind', 'in', ['deleted', 'updated'])
    .execute();
  for (const r of rows) {
    const into = r.kind === 'deleted' ? deletes : updates;
    const e = r.entity as CollectionName;
    let set = into.get(e);
    if (!set) into.set(e, (set = new Set()));
    set.add(r.sourced_id);
  }
  const emptied = new Set<CollectionName>();
  for (const reason of (run.hold ?? []) as HoldReason[]) if (reason.rule === 'empty-collection') emptied.add(reason.entity);
  return { heldRunId: run.id, deletes, updates, emptied };
}

/** Marks a pending hold approved by `by`; the caller then re-runs the sync with `loadApproval`. */
export async function markApproved(store: Store, runId: number, by: string): Promise<Approval> {
  const run = await pendingHold(store, runId);
  const approval = await loadApproval(store, run);
  await store.runs.resolveHold(runId, { state: 'approved', by });
  return approval;
}

/** Discards a pending hold: records the decision and drops its plan. */
export async function discardHold(store: Store, runId: number, by: string): Promise<void> {
  await pendingHold(store, runId);
  await store.runs.resolveHold(runId, { state: 'discarded', by });
  await store.db.deleteFrom('changes').where('run_id', '=', runId).where('applied', '=', 0).execute();
}
