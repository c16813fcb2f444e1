/**
 * End to end on PostgreSQL: a simulated district (tiny, over HTTP) fully synced into a PostgreSQL
 * store through the same services, sync engine and repositories as SQLite. Checks the counts
 * against the simulator, that a second sync of unchanged data writes nothing, that churn is
 * applied, and that the live rows equal those of the same syncs into SQLite.
 */
import { strict as assert } from 'node:assert';
import type { TestContext } from 'node:test';
import { sql } from 'kysely';
import { COLLECTIONS, type CollectionName } from '../src/oneroster/types.ts';
import { syncConnection } from '../src/services/sync-service.ts';
import { startSimulator, type RunningSimulator } from '../src/simulate/server.ts';
import { liveTable } from '../src/store/schema.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { forEachDialect } from '../src/store/test-dialects.ts';

const SYNCED = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'enrollments'] as const satisfies readonly CollectionName[];

/** sourcedId → `status/content_hash/row_version` of every live row (tombstones included), per collection. */
async function snapshot(store: Store, connectionId: string): Promise<Record<string, Record<string, string>>> {
  const out: Record<string, Record<string, string>> = {};
  for (const c of COLLECTIONS) {
    const rows = await store.db
      .selectFrom(liveTable(c))
      .select(['sourced_id', 'status', 'content_hash', 'row_version'])
      .where('connection_id', '=', connectionId)
      .orderBy('sourced_id')
      .execute();
    out[c] = Object.fromEntries(rows.map((r) => [r.sourced_id, `${r.status}/${r.content_hash}/${r.row_version}`]));
  }
  return out;
}

async function advance(sim: RunningSimulator, days: number): Promise<void> {
  const res = await fetch(new URL('/simulator/advance', sim.baseUrl).toString(), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ days }),
  });
  assert.equal(res.status, 200, 'simulator advanced');
}

// Both stagers: `native` (pg-stager.ts, the default) and `portable` (Kysely only).
for (const bulk of ['native', 'portable'] as const) {
  forEachDialect(
    `full sync into PostgreSQL (${bulk} staging)`,
    ({ it, open }) => {
      it(
        'first sync matches the simulator, a re-sync writes nothing, churn applies, and the rows equal a SQLite store',
        async (t) => {
          const sim = await startSimulator({ size: 'tiny', auth: 'none', seed: 42 });
          const lite = await openStore({ url: ':memory:', bulk: 'portable' });
          t.after(async () => {
            await lite.close();
            await sim.close();
          });
          const pg = await open({ bulk });
          assert.equal(pg.dialect, 'postgres');
          const access = { baseUrl: sim.baseUrl, auth: { kind: 'none' as const } };
          const sync = (store: Store) => syncConnection({ store, access, connectionName: 'sim', optional: { courses: true } });

          const first = await sync(pg);
          assert.equal(first.result.status, 'succeeded', `first sync: ${JSON.stringify(first.result.error ?? null)}`);
          const stats = sim.district.stats();
          const live = await pg.records.countLive(first.connection.id);
          for (const c of SYNCED) {
            assert.equal(first.result.entities[c]?.created, stats.counts[c].active, `${c} created`);
            assert.deepEqual(live[c], { active: stats.counts[c].active, deleted: 0 }, `${c} live rows`);
          }
          const before = await snapshot(pg, first.connection.id);

          const again = await sync(pg);
          assert.equal(again.result.status, 'succeeded');
          for (const c of SYNCED) {
            const n = again.result.entities[c];
            assert.deepEqual([n?.created, n?.updated, n?.deleted], [0, 0, 0], `${c}: unchanged data writes nothing`);
          }
          assert.deepEqual(await snapshot(pg, first.connection.id), before, 'no row rewritten (row_version unchanged)');

          // Stale fingerprints (as after a codec version change) are refreshed by the next sync
          // (apply.ts UPDATE … FROM the stage table), without a change row or a new row version.
          const fps = async () => (await pg.db.selectFrom('live_users').select(['sourced_id', 'raw_fp']).where('connection_id', '=', first.connection.id).orderBy('sourced_id').execute());
          const fresh = await fps();
          const history = async () => Number((await sql<{ n: number }>`select count(*) as n from changes where connection_id = ${first.connection.id}`.execute(pg.db)).rows[0]?.n);
          const changesBefore = await history();
          await pg.db.updateTable('live_users').set({ raw_fp: 'stale' }).where('connection_id', '=', first.connection.id).execute();
          const refreshed = await sync(pg);
          assert.equal(refreshed.result.status, 'succeeded');
          assert.deepEqual([refreshed.result.entities.users?.updated, refreshed.result.entities.users?.unchanged], [0, stats.counts.users.active]);
          assert.deepEqual(await fps(), fresh, 'every fingerprint stored again');
          assert.equal(await history(), changesBefore, 'no change rows');
          assert.deepEqual(await snapshot(pg, first.connection.id), before, 'row versions unchanged');

          await advance(sim, 30);
          const churn = await sync(pg);
          assert.equal(churn.result.status, 'succeeded');
          const changed = SYNCED.reduce((n, c) => n + (churn.result.entities[c]?.created ?? 0) + (churn.result.entities[c]?.updated ?? 0) + (churn.result.entities[c]?.deleted ?? 0), 0);
          assert.ok(changed > 0, 'churn produced changes');
          const after = sim.district.stats();
          const live2 = await pg.records.countLive(first.connection.id);
          for (const c of SYNCED) assert.equal(live2[c].active, after.counts[c].active, `${c} active after churn`);

          // The same three syncs into SQLite (the simulator is at day 30 now, so replay day 0 first
          // is not possible): compare the final state instead, which only depends on the district.
          const l1 = await sync(lite);
          assert.equal(l1.result.status, 'succeeded');
          const pgRows = await snapshot(pg, first.connection.id);
          const liteRows = await snapshot(lite, l1.connection.id);
          for (const c of SYNCED) {
            const active = (rows: Record<string, string>) =>
              Object.fromEntries(Object.entries(rows).filter(([, v]) => v.startsWith('active/')).map(([k, v]) => [k, v.split('/')[1]]));
            assert.deepEqual(active(pgRows[c]!), active(liteRows[c]!), `${c}: the same active rows and content hashes on both dialects`);
          }
          const changes = await sql<{ n: number }>`select count(*) as n from changes where connection_id = ${first.connection.id}`.execute(pg.db);
          assert.ok(Number(changes.rows[0]?.n) > 0, 'change history written on PostgreSQL');
        },
      );
    },
    { dialects: ['postgres'] },
  );
}

for (const bulk of ['native', 'portable'] as const) {
  forEachDialect(`concurrent syncs into one store (${bulk} staging)`, ({ it, open }) => {
    // SQLite serialises the two syncs on its one connection; on PostgreSQL they use several pooled
    // connections, so the (UNLOGGED, persistent) stage tables must be visible to all of them.
    const name = 'two connections synced at the same time into one store';
    const body = async (t: TestContext): Promise<void> => {
      const simA = await startSimulator({ size: 'tiny', auth: 'none', seed: 1 });
      const simB = await startSimulator({ size: 'tiny', auth: 'none', seed: 2 });
      t.after(async () => {
        await simA.close();
        await simB.close();
      });
      const store = await open({ bulk });
      const [a, b] = await Promise.all(
        [simA, simB].map((sim, i) => syncConnection({ store, access: { baseUrl: sim.baseUrl, auth: { kind: 'none' } }, connectionName: `sim${i}` })),
      );
      for (const [sim, r] of [[simA, a!], [simB, b!]] as const) {
        assert.equal(r.result.status, 'succeeded', `sync of ${r.connection.name}: ${JSON.stringify(r.result.error ?? null)}`);
        const live = await store.records.countLive(r.connection.id);
        assert.equal(live.users.active, sim.district.stats().counts.users.active, `${r.connection.name} users`);
        // (The run's own counts in the message: a failure here was seen once under CI load and not reproduced.)
        assert.equal(live.enrollments.active, sim.district.stats().counts.enrollments.active, `${r.connection.name} enrollments; run: ${JSON.stringify(r.result.entities.enrollments)}`);
      }
    };
    it(name, body);
  });
}
