/**
 * Issue 4 convergence: after several simulator churn days, a chain of delta syncs leaves the store
 * equal to a fresh full sync (same live rows, same content hashes), except for hard deletes, which
 * deltas cannot see and the periodic full sync reconciles; tombstones match for the same records.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { CollectionName } from '../src/oneroster/types.ts';
import { syncConnection, type ProviderAccess } from '../src/services/sync-service.ts';
import { startSimulator, type RunningSimulator } from '../src/simulate/server.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { liveTable } from '../src/store/schema.ts';

const COLLECTIONS: CollectionName[] = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'demographics', 'enrollments'];
const toggles = { contacts: true, demographics: true, userFlags: true };

interface Snapshot {
  active: Map<string, string>;
  deleted: Set<string>;
}

async function snapshot(store: Store, connectionId: string): Promise<Snapshot> {
  const active = new Map<string, string>();
  const deleted = new Set<string>();
  for (const c of COLLECTIONS) {
    const rows = await (store.db as any)
      .selectFrom(liveTable(c))
      .select(['sourced_id', 'content_hash', 'deleted_at'])
      .where('connection_id', '=', connectionId)
      .execute();
    for (const r of rows as Array<{ sourced_id: string; content_hash: string; deleted_at: string | null }>) {
      if (r.deleted_at === null) active.set(`${c}/${r.sourced_id}`, r.content_hash);
      else deleted.add(`${c}/${r.sourced_id}`);
    }
  }
  return { active, deleted };
}

describe('delta chain converges with a full sync', () => {
  let sim: RunningSimulator;
  let access: ProviderAccess;
  before(async () => {
    sim = await startSimulator({ size: 'small', seed: 11, auth: 'none' });
    access = { baseUrl: sim.baseUrl, auth: { kind: 'none' } };
  });
  after(async () => {
    await sim.close();
  });

  it('4 churn days of deltas == a fresh full sync, and a final full sync reconciles hard deletes', async () => {
    const chain = await openStore({ url: ':memory:' });
    const twoFulls = await openStore({ url: ':memory:' });
    const start = await syncConnection({ store: chain, access, connectionName: 'sim', toggles, mode: 'delta' });
    assert.equal(start.result.mode, 'full', 'the first delta request is a full sync');
    const day0 = await snapshot(chain, start.connection.id);
    const t0 = await syncConnection({ store: twoFulls, access, connectionName: 'sim', toggles });
    assert.equal(t0.result.status, 'succeeded');

    let deltaRecords = 0;
    for (let day = 1; day <= 4; day++) {
      sim.district.advance(1);
      const d = await syncConnection({ store: chain, access, connectionName: 'sim', toggles, mode: 'delta', policy: { thresholds: false } });
      assert.equal(d.result.mode, 'delta');
      assert.equal(d.result.status, 'succeeded', `day ${day}: ${JSON.stringify(d.result.error)}`);
      deltaRecords += Object.values(d.result.entities).reduce((n, c) => n + (c?.fetched ?? 0), 0);
    }
    assert.ok(deltaRecords > 0, 'churn produced changes the deltas saw');

    const fresh = await openStore({ url: ':memory:' });
    const f = await syncConnection({ store: fresh, access, connectionName: 'sim', toggles });
    const want = await snapshot(fresh, f.connection.id);
    const got = await snapshot(chain, start.connection.id);

    // Every record active at the provider is active in the chain with the same content hash.
    const mismatched = [...want.active].filter(([k, h]) => got.active.get(k) !== h).map(([k]) => k);
    assert.deepEqual(mismatched.slice(0, 10), [], `${mismatched.length} records differ`);
    // The chain's extra active rows are exactly hard deletes: records the provider no longer has at all.
    const extra = [...got.active.keys()].filter((k) => !want.active.has(k));
    const notHardDeleted = extra.filter((k) => {
      const [c, id] = k.split('/') as [CollectionName, string];
      return sim.district.get(c, id) !== undefined;
    });
    assert.deepEqual(notHardDeleted, [], 'only hard-deleted records may linger after deltas');

    // The periodic full sync reconciles them: now the live rows are equal.
    const reconcile = await syncConnection({ store: chain, access, connectionName: 'sim', toggles, policy: { thresholds: false } });
    assert.equal(reconcile.result.status, 'succeeded');
    const total = Object.values(reconcile.result.entities).reduce((n, c) => n + (c?.deletedByAbsence ?? 0), 0);
    assert.equal(total, extra.length, 'the full sync tombstones exactly the hard-deleted rows');
    const final = await snapshot(chain, start.connection.id);
    assert.deepEqual([...final.active].sort(), [...want.active].sort());

    // Tombstones: for every record known at day 0, the chain and a second full sync agree.
    const t1 = await syncConnection({ store: twoFulls, access, connectionName: 'sim', toggles, policy: { thresholds: false } });
    assert.equal(t1.result.status, 'succeeded');
    const ref = await snapshot(twoFulls, t0.connection.id);
    const known = [...day0.active.keys()];
    const diff = known.filter((k) => final.deleted.has(k) !== ref.deleted.has(k));
    assert.deepEqual(diff.slice(0, 10), [], `${diff.length} tombstones differ`);
    assert.ok(ref.deleted.size > 0, 'churn deleted something');
    await Promise.all([chain.close(), twoFulls.close(), fresh.close()]);
  });
});
