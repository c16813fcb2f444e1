/**
 * Change-history order across concurrent applies (PostgreSQL, several workers): a feed reader that
 * has passed seq N must never see an applied seq below N appear later. Two stores on one database
 * stand for two worker processes; the first apply is held open inside its transaction, after its
 * history rows are written, while the second one runs.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import { create } from './stage-test-support.ts';
import type { Store } from './store.ts';
import { forEachDialect } from './test-dialects.ts';

/** A connection of its own with one run that has staged `ids` as users. */
async function stagedRun(store: Store, name: string, ids: string[]) {
  const conn = await store.connections.create({ name, baseUrl: `http://127.0.0.1:1/${name}/ims/oneroster/v1p1`, authKind: 'none' });
  const runId = (await store.runs.start({ connectionId: conn.id, mode: 'full', leaseOwner: name })).id;
  const stager = await store.staging.open({ runId, tenantId: conn.tenantId, connectionId: conn.id, collection: 'users' });
  await stager.write(ids.map((id) => create(id)));
  const ctx = { runId, tenantId: conn.tenantId, connectionId: conn.id, now: new Date() };
  return { connectionId: conn.id, apply: (s: Store, finish: Parameters<Store['staging']['apply']>[2]) => s.staging.apply(ctx, new Map([['users', { absence: { kind: 'none' as const }, writes: ids.length }]]), finish) };
}

/** Applied history as a reader sees it now: [seq, connection] in seq order. */
async function visible(store: Store): Promise<Array<[number, string]>> {
  const rows = await store.db.selectFrom('changes').select(['seq', 'connection_id']).where('applied', '=', 1).orderBy('seq').execute();
  return rows.map((r) => [Number(r.seq), r.connection_id]);
}

forEachDialect(
  'change history order',
  ({ it, freshUrl, openAt }) => {
    it('a second worker applies only after the first committed, so seqs become visible in order', async () => {
      const url = await freshUrl();
      const first = await openAt(url);
      const second = await openAt(url);
      const reader = await openAt(url);
      const a = await stagedRun(first, 'a', ['a1', 'a2', 'a3']);
      const b = await stagedRun(second, 'b', ['b1', 'b2']);

      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let aInside!: () => void;
      const aWritten = new Promise<void>((resolve) => (aInside = resolve));
      // A writes its history, then waits inside its transaction.
      let idleTimeout: string | undefined;
      const aDone = a.apply(first, async (trx) => {
        idleTimeout = (await sql<{ t: string }>`select current_setting('idle_in_transaction_session_timeout') as t`.execute(trx)).rows[0]?.t;
        aInside();
        await gate;
      });
      await aWritten;
      let bFinished = false;
      let bDone: Promise<unknown> | undefined;
      try {
        bDone = b.apply(second, async () => {
          bFinished = true;
        });
        await sleep(400);
        // Without the lock B would have taken seqs after A's and committed first: a reader would pass
        // them, and A's lower seqs would appear behind its back.
        assert.equal(bFinished, false, 'B waits while A holds its apply open');
        assert.deepEqual(await visible(reader), [], 'nothing committed yet');
      } finally {
        // Never leave A's transaction open (a failed assertion would otherwise hang the store's close).
        release();
        await aDone;
        await bDone;
      }
      assert.equal(bFinished, true);
      assert.equal(idleTimeout, '1min', 'a dead worker cannot hold the lock for longer than a minute of silence');
      const seen = await visible(reader);
      assert.deepEqual(
        seen.map(([, c]) => c),
        [a.connectionId, a.connectionId, a.connectionId, b.connectionId, b.connectionId],
        'every seq of A below every seq of B',
      );
    });
  },
  { dialects: ['postgres'] },
);
