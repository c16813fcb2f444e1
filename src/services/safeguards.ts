/**
 * A connection's safeguards (issue 4): hold thresholds per entity and what an empty collection
 * does, stored in the connection's options (`options.safeguards`) and read by `storedPolicy` in
 * sync-service.ts. The CLI (`connection safeguards`) and the admin API call this one service.
 */
import type { CollectionName } from '../oneroster/types.ts';
import type { Connection } from '../store/connection-repository.ts';
import { StoreError } from '../store/errors.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_POLICY, DEFAULT_THRESHOLDS, DEPENDENCY_ORDER, thresholdsFor, type SyncPolicy, type Thresholds } from '../sync/planner.ts';
import { storedPolicy } from './sync-service.ts';

export interface SafeguardsChange {
  /** Applies to every entity, or only to this one. */
  entity?: CollectionName;
  thresholds?: Partial<Thresholds>;
  /** Turn holds off (all entities), or back on. */
  enabled?: boolean;
  emptyCollection?: SyncPolicy['emptyCollection'];
  /** Drop the stored safeguards (back to the defaults). */
  reset?: boolean;
}

function check(t: Partial<Thresholds>): void {
  for (const [k, v] of Object.entries(t)) {
    const pct = k.endsWith('Percent');
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (pct && v > 100)) {
      throw new StoreError('invalid_input', `${k} must be a number from 0 to ${pct ? '100' : 'any count'}, got ${String(v)}`);
    }
  }
}

/** Applies a change to the stored safeguards. @throws StoreError `invalid_input`. */
export async function updateSafeguards(store: Store, connection: Connection, change: SafeguardsChange): Promise<Connection> {
  const options = { ...connection.options };
  if (change.reset) {
    delete options.safeguards;
    return store.connections.update(connection.id, { options });
  }
  const sg = { ...((options.safeguards as Record<string, unknown> | undefined) ?? {}) } as {
    thresholds?: Partial<Thresholds> | false;
    perEntity?: Partial<Record<CollectionName, Partial<Thresholds>>>;
    emptyCollection?: SyncPolicy['emptyCollection'];
  };
  if (change.thresholds) {
    check(change.thresholds);
    if (change.entity) {
      if (!DEPENDENCY_ORDER.includes(change.entity)) throw new StoreError('invalid_input', `unknown entity ${change.entity}`);
      sg.perEntity = { ...sg.perEntity, [change.entity]: { ...sg.perEntity?.[change.entity], ...change.thresholds } };
    } else {
      sg.thresholds = { ...(sg.thresholds === false || sg.thresholds === undefined ? {} : sg.thresholds), ...change.thresholds };
    }
  }
  if (change.enabled === false) sg.thresholds = false;
  if (change.enabled === true && sg.thresholds === false) delete sg.thresholds;
  if (change.emptyCollection !== undefined) {
    if (!['hold', 'keep', 'apply'].includes(change.emptyCollection)) throw new StoreError('invalid_input', `emptyCollection must be hold, keep or apply`);
    sg.emptyCollection = change.emptyCollection;
  }
  options.safeguards = sg;
  return store.connections.update(connection.id, { options });
}

/** The effective safeguards of a connection, per entity (for display). */
export function effectiveSafeguards(connection: Connection): {
  holds: boolean;
  emptyCollection: SyncPolicy['emptyCollection'];
  perEntity: Record<CollectionName, Thresholds | null>;
} {
  const policy: SyncPolicy = { ...DEFAULT_POLICY, ...storedPolicy(connection) };
  const perEntity = {} as Record<CollectionName, Thresholds | null>;
  for (const c of DEPENDENCY_ORDER) perEntity[c] = thresholdsFor(policy, c) ?? null;
  return { holds: policy.thresholds !== false, emptyCollection: policy.emptyCollection, perEntity };
}

export { DEFAULT_THRESHOLDS };
