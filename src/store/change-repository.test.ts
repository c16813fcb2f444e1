import assert from 'node:assert/strict';
import { seedChanges, seedConnections } from './change-test-support.ts';
import { forEachDialect } from './test-dialects.ts';
import type { Store } from './store.ts';

async function setup(open: () => Promise<Store>): Promise<{ store: Store; seqs: number[] }> {
  const store = await open();
  await seedConnections(store, [{ id: 'c1' }, { id: 'c2' }, { id: 'c3', tenantId: 't2' }]);
  const seqs = await seedChanges(store, [
    { sourcedId: 'u1', kind: 'created', runId: 1, at: '2026-03-01T10:00:00.000Z' },
    { sourcedId: 'u2', kind: 'created', runId: 1, at: '2026-03-01T10:00:00.000Z' },
    { sourcedId: 'e1', entity: 'enrollments', kind: 'created', runId: 1, at: '2026-03-01T10:00:00.000Z' },
    { sourcedId: 'x1', connectionId: 'c2', kind: 'created', runId: 2, at: '2026-03-02T10:00:00.000Z' },
    { sourcedId: 'u1', kind: 'updated', runId: 3, at: '2026-03-03T10:00:00.000Z', fields: { email: { before: 'a@x.org', after: 'b@x.org' } } },
    { sourcedId: 'u2', kind: 'deleted', runId: 4, applied: 0, at: '2026-03-04T10:00:00.000Z' },
    { sourcedId: 'y1', connectionId: 'c3', tenantId: 't2', kind: 'created', runId: 5, at: '2026-03-05T10:00:00.000Z' },
    { sourcedId: 'u1', kind: 'deleted', runId: 6, at: '2026-03-06T10:00:00.000Z', fields: { status: { before: 'active', after: 'tobedeleted' } } },
  ]);
  return { store, seqs };
}

forEachDialect('ChangeRepository', ({ it, open }) => {
  it('lists applied history in seq order; keyset pages cover it exactly once; plans never show', async () => {
    const { store, seqs } = await setup(open);
    const all = await store.changes.list({ limit: 100 });
    assert.deepEqual(all.map((c) => c.seq), seqs.filter((_, i) => i !== 5), 'every applied row, in seq order, without the held plan');
    const paged: number[] = [];
    for (let after = 0; ; ) {
      const page = await store.changes.list({ afterSeq: after, limit: 3 });
      if (page.length === 0) break;
      paged.push(...page.map((c) => c.seq));
      after = page[page.length - 1]!.seq;
    }
    assert.deepEqual(paged, all.map((c) => c.seq), 'keyset paging returns the same rows, once each');
    const desc = await store.changes.list({ order: 'desc', limit: 2 });
    assert.deepEqual(desc.map((c) => c.seq), [seqs[7], seqs[6]], 'newest first');
    const older = await store.changes.list({ order: 'desc', beforeSeq: desc[1]!.seq, limit: 2 });
    assert.deepEqual(older.map((c) => c.seq), [seqs[4], seqs[3]], 'paging backwards');
  });

  it('filters by tenant, connection(s), run, entity, sourcedId, time and seq window', async () => {
    const { store, seqs } = await setup(open);
    const ids = async (q: Parameters<Store['changes']['list']>[0]) => (await store.changes.list(q)).map((c) => c.seq);
    assert.deepEqual(await ids({ tenantId: 't2', limit: 10 }), [seqs[6]]);
    assert.deepEqual(await ids({ connectionId: 'c2', limit: 10 }), [seqs[3]]);
    assert.deepEqual(await ids({ connectionIds: ['c2', 'c3'], limit: 10 }), [seqs[3], seqs[6]]);
    assert.deepEqual(await ids({ connectionIds: [], limit: 10 }), [], 'an empty list matches nothing');
    assert.deepEqual(await ids({ runId: 1, limit: 10 }), seqs.slice(0, 3));
    assert.deepEqual(await ids({ entity: 'enrollments', limit: 10 }), [seqs[2]]);
    assert.deepEqual(await ids({ entities: ['enrollments', 'orgs'], limit: 10 }), [seqs[2]]);
    assert.deepEqual(await ids({ connectionId: 'c1', sourcedId: 'u1', limit: 10 }), [seqs[0], seqs[4], seqs[7]]);
    assert.deepEqual(await ids({ since: '2026-03-05T00:00:00.000Z', limit: 10 }), [seqs[6], seqs[7]]);
    assert.deepEqual(await ids({ afterSeq: seqs[1]!, throughSeq: seqs[3]!, limit: 10 }), [seqs[2], seqs[3]]);
  });

  it('history of one record, with parsed fields; oldest and head seqs', async () => {
    const { store, seqs } = await setup(open);
    const h = await store.changes.history('c1', 'users', 'u1');
    assert.deepEqual(h.map((c) => c.kind), ['created', 'updated', 'deleted']);
    assert.equal(h[0]!.fields, null, 'created carries no fields');
    assert.deepEqual(h[1]!.fields, { email: { before: 'a@x.org', after: 'b@x.org' } });
    assert.equal(h[1]!.runId, 3);
    assert.equal(typeof h[1]!.seq, 'number', 'seq is a number on every driver');
    assert.equal(await store.changes.oldestSeq(), seqs[0]);
    assert.equal(await store.changes.oldestSeq('c2'), seqs[3]);
    assert.equal(await store.changes.oldestSeq('nope'), undefined);
    assert.equal(await store.changes.headSeq(), seqs[7]);
    const empty = await open();
    assert.equal(await empty.changes.headSeq(), 0, 'an empty history has head 0');
  });

  it('purge deletes old applied history in batches, keeps pending plans and other connections, raises the watermark first', async () => {
    const { store, seqs } = await setup(open);
    // Run 4 is a pending hold: its plan (seq[5]) must survive any purge.
    await store.db.insertInto('runs').values({
      id: 4, tenant_id: 'default', connection_id: 'c1', mode: 'full', status: 'held', started_at: '2026-03-04T10:00:00.000Z',
      entities: '{}', requests: '{}', issues: '{}', hold_state: 'pending',
    }).execute();
    assert.equal(await store.changes.purgedThrough({ connectionIds: ['c1'] }), undefined, 'never purged');
    assert.equal(await store.changes.coversRunsAfter('c1', 0), true);
    const r = await store.changes.purge({ connectionId: 'c1', before: '2026-03-05T00:00:00.000Z', batchSize: 1 });
    assert.equal(r.deleted, 4, 'u1 created, u2 created, e1 created, u1 updated');
    assert.equal(r.throughSeq, seqs[4]);
    assert.equal(r.throughRun, 3);
    const left = (await store.db.selectFrom('changes').select('seq').orderBy('seq').execute()).map((x) => Number(x.seq));
    assert.deepEqual(left, [seqs[3], seqs[5], seqs[6], seqs[7]], 'c2, the pending plan, c3 and the newer c1 row stay');
    assert.deepEqual(await store.changes.purgedThrough({ connectionIds: ['c1'] }), { throughSeq: seqs[4], throughRun: 3 });
    assert.deepEqual(await store.changes.purgedThrough({ tenantId: 'default' }), { throughSeq: seqs[4], throughRun: 3 }, 'tenant scope covers c1');
    assert.equal(await store.changes.purgedThrough({ tenantId: 't2' }), undefined, 'other tenants untouched');
    assert.equal(await store.changes.purgedThrough({ connectionIds: ['c2'] }), undefined);
    assert.equal(await store.changes.coversRunsAfter('c1', 2), false, 'run 3 history is gone');
    assert.equal(await store.changes.coversRunsAfter('c1', 3), true);
    // A later purge with an earlier cutoff never lowers the watermark.
    const again = await store.changes.purge({ connectionId: 'c1', before: '2026-01-01T00:00:00.000Z' });
    assert.equal(again.deleted, 0);
    assert.deepEqual(await store.changes.purgedThrough({ connectionIds: ['c1'] }), { throughSeq: seqs[4], throughRun: 3 });
    // Purging everything leaves the head where it was (seqs are never reused).
    await store.changes.purge({ connectionId: 'c1', before: '2027-01-01T00:00:00.000Z' });
    assert.equal((await store.changes.purgedThrough({ connectionIds: ['c1'] }))!.throughSeq, seqs[7]);
    assert.equal(await store.changes.headSeq(), seqs[7], 'head survives purging the top rows');
  });
});
