import assert from 'node:assert/strict';
import type { CollectionName } from '../oneroster/types.ts';
import { isStoreError } from './errors.ts';
import { purgeExpired, purgedTotal } from './retention.ts';
import { liveTable } from './schema.ts';
import type { Store } from './store.ts';
import { forEachDialect } from './test-dialects.ts';

const NOW = new Date('2025-06-30T12:00:00.000Z');
const daysAgo = (d: number): string => new Date(NOW.getTime() - d * 86_400_000).toISOString();

async function setup(open: () => Promise<Store>): Promise<Store> {
  const store = await open();
  for (const id of ['a', 'b']) await store.connections.create({ id, name: id, baseUrl: `https://${id}.example/ims/oneroster/v1p1`, authKind: 'none' });
  return store;
}

/** A live row; `deletedDaysAgo` makes it a tombstone deleted that long ago. */
async function live(store: Store, c: CollectionName, connectionId: string, sourcedId: string, deletedDaysAgo?: number): Promise<void> {
  const deleted = deletedDaysAgo !== undefined;
  await store.db
    .insertInto(liveTable(c))
    .values({
      tenant_id: 'default',
      connection_id: connectionId,
      sourced_id: sourcedId,
      status: deleted ? 'tobedeleted' : 'active',
      date_last_modified: daysAgo(90),
      content_hash: 'h',
      data: '{}',
      raw: null,
      raw_fp: null,
      first_seen_run: 1,
      updated_run: 1,
      row_version: 1,
      deleted_at: deleted ? daysAgo(deletedDaysAgo) : null,
      deleted_run: deleted ? 1 : null,
    } as never)
    .execute();
}

async function change(store: Store, connectionId: string, runId: number, atDaysAgo: number, applied = 1): Promise<void> {
  await store.db
    .insertInto('changes')
    .values({ tenant_id: 'default', connection_id: connectionId, run_id: runId, entity: 'users', kind: 'deleted', sourced_id: 'u', fields: null, applied, at: daysAgo(atDaysAgo) })
    .execute();
}

async function ids(store: Store, c: CollectionName, connectionId: string): Promise<string[]> {
  const rows = await store.db.selectFrom(liveTable(c)).select('sourced_id').where('connection_id', '=', connectionId).orderBy('sourced_id').execute();
  return rows.map((r) => r.sourced_id);
}

forEachDialect('purgeExpired', ({ it, open }) => {
  it('hard-deletes tombstones older than the retention from every live table, of that connection only', async () => {
    const store = await setup(open);
    for (const c of ['users', 'enrollments', 'orgs', 'demographics', 'academicSessions', 'classes', 'courses'] as const) {
      await live(store, c, 'a', `${c}-old`, 31); // past retention
      await live(store, c, 'a', `${c}-recent`, 29); // within retention
      await live(store, c, 'a', `${c}-active`); // not a tombstone
      await live(store, c, 'b', `${c}-old`, 31); // other connection
    }
    const r = await purgeExpired(store, { connectionId: 'a', now: NOW, retentionDays: 30 });
    assert.equal(r.cutoff, daysAgo(30));
    for (const c of ['users', 'enrollments', 'orgs', 'demographics', 'academicSessions', 'classes', 'courses'] as const) {
      assert.equal(r.tombstones[c], 1, `${c}: one tombstone purged`);
      assert.deepEqual(await ids(store, c, 'a'), [`${c}-active`, `${c}-recent`], `${c}: active row and recent tombstone stay`);
      assert.deepEqual(await ids(store, c, 'b'), [`${c}-old`], `${c}: other connection untouched`);
    }
    assert.equal(purgedTotal(r), 7);
  });

  it('a shorter retention purges more; a second purge finds nothing', async () => {
    const store = await setup(open);
    await live(store, 'users', 'a', 'u1', 8);
    await live(store, 'users', 'a', 'u2', 6);
    const r7 = await purgeExpired(store, { connectionId: 'a', now: NOW, retentionDays: 7 });
    assert.equal(r7.tombstones.users, 1);
    assert.deepEqual(await ids(store, 'users', 'a'), ['u2']);
    const again = await purgeExpired(store, { connectionId: 'a', now: NOW, retentionDays: 7 });
    assert.equal(purgedTotal(again), 0, 'idempotent');
  });

  it('deletes change rows older than the retention but keeps the plan of a pending hold', async () => {
    const store = await setup(open);
    const held = await store.runs.start({ connectionId: 'a', mode: 'full', leaseOwner: 'test' });
    await store.runs.finish(held.id, { status: 'held', entities: {}, requests: {}, issues: { bySeverity: { error: 0, warning: 0 }, byRule: {}, stored: 0 } });
    await store.db.updateTable('runs').set({ hold_state: 'pending' }).where('id', '=', held.id).execute();
    const resolved = await store.runs.start({ connectionId: 'a', mode: 'full', leaseOwner: 'test' });
    await store.runs.finish(resolved.id, { status: 'held', entities: {}, requests: {}, issues: { bySeverity: { error: 0, warning: 0 }, byRule: {}, stored: 0 } });
    await store.db.updateTable('runs').set({ hold_state: 'discarded' }).where('id', '=', resolved.id).execute();

    await change(store, 'a', 1, 40); // old history: goes
    await change(store, 'a', 1, 31); // old history: goes
    await change(store, 'a', 1, 10); // recent history: stays
    await change(store, 'a', held.id, 45, 0); // old plan of a pending hold: stays
    await change(store, 'a', resolved.id, 45, 0); // old plan of a resolved hold: goes
    await change(store, 'b', 1, 40); // other connection: stays
    const r = await purgeExpired(store, { connectionId: 'a', now: NOW, retentionDays: 30 });
    assert.equal(r.changes, 3);
    const left = await store.db.selectFrom('changes').select(['connection_id', 'run_id', 'at', 'applied']).orderBy('seq').execute();
    assert.deepEqual(
      left.map((x) => `${x.connection_id}/${x.run_id}/${x.applied}/${x.at}`),
      [`a/1/1/${daysAgo(10)}`, `a/${held.id}/0/${daysAgo(45)}`, `b/1/1/${daysAgo(40)}`],
    );
  });

  it('purges change rows in batches (more than one batch)', async () => {
    const store = await setup(open);
    const at = daysAgo(60);
    const rows = Array.from({ length: 25_000 }, (_, i) => ({ tenant_id: 'default', connection_id: 'a', run_id: 1, entity: 'enrollments', kind: 'created', sourced_id: `e${i}`, fields: null, at }));
    for (let i = 0; i < rows.length; i += 2000) await store.db.insertInto('changes').values(rows.slice(i, i + 2000)).execute();
    const r = await purgeExpired(store, { connectionId: 'a', now: NOW, retentionDays: 30 });
    assert.equal(r.changes, 25_000);
    const n = await store.db.selectFrom('changes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    assert.equal(Number(n.n), 0);
  });

  it('refuses a retention that is not a positive whole number of days', async () => {
    const store = await setup(open);
    for (const d of [0, -1, 1.5]) {
      await assert.rejects(purgeExpired(store, { connectionId: 'a', now: NOW, retentionDays: d }), (e) => isStoreError(e, 'invalid_input'));
    }
  });
});
