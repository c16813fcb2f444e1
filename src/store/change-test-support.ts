/**
 * Test support: a store with connections and hand-written change history, for the tests of the
 * history readers (repository, events API, webhooks, CLI, CSV delta) while they do not depend on
 * the sync engine writing history.
 */
import type { ChangeKind, FieldChange } from '../outputs/change-events.ts';
import type { Store } from './store.ts';

export interface SeedChange {
  connectionId?: string;
  tenantId?: string;
  runId?: number;
  entity?: string;
  sourcedId: string;
  kind?: ChangeKind;
  fields?: Record<string, FieldChange> | null;
  /** Default 1; 0 = a held run's plan. */
  applied?: number;
  at?: string;
}

/** Inserts change rows in order (seq follows insertion) and returns their seqs. */
export async function seedChanges(store: Store, changes: readonly SeedChange[]): Promise<number[]> {
  const seqs: number[] = [];
  for (const c of changes) {
    const row = await store.db
      .insertInto('changes')
      .values({
        tenant_id: c.tenantId ?? 'default',
        connection_id: c.connectionId ?? 'c1',
        run_id: c.runId ?? 1,
        entity: c.entity ?? 'users',
        sourced_id: c.sourcedId,
        kind: c.kind ?? 'updated',
        fields: c.fields === undefined ? (c.kind === 'created' ? null : JSON.stringify({ givenName: { before: 'Ann', after: 'Anna' } })) : c.fields === null ? null : JSON.stringify(c.fields),
        applied: c.applied ?? 1,
        at: c.at ?? '2026-03-01T10:00:00.000Z',
      })
      .returning('seq')
      .executeTakeFirstOrThrow();
    seqs.push(Number(row.seq));
  }
  return seqs;
}

/** Creates connections (authKind none) in existing tenants; `default` exists from migration 0001. */
export async function seedConnections(store: Store, list: ReadonlyArray<{ id: string; tenantId?: string }>): Promise<void> {
  for (const c of list) {
    if (c.tenantId !== undefined && !(await store.tenants.get(c.tenantId))) await store.tenants.create({ id: c.tenantId, name: c.tenantId });
    await store.connections.create({ id: c.id, name: c.id, baseUrl: 'http://127.0.0.1:1/ims/oneroster/v1p1', authKind: 'none', ...(c.tenantId !== undefined ? { tenantId: c.tenantId } : {}) });
  }
}
