/**
 * The PostgreSQL stager (pg-stager.ts) against a real server: what `CollectionStager` promises —
 * duplicates within a run (the first kept), the checkpoint committed with its page and nothing when
 * the page fails, point and range lookups (range in byte order under a linguistic default
 * collation), live data reads — and that it stages exactly what the portable stager stages,
 * including values that defeat its packed-text encoding.
 */
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { sql } from 'kysely';
import pg from 'pg';
import { PgStagerFactory } from './pg-stager.ts';
import { StageOp, stageTable } from './schema.ts';
import { create } from './stage-test-support.ts';
import { PortableStagerFactory, stageColumns, type StageRow } from './staging.ts';
import type { Store } from './store.ts';
import { forEachDialect } from './test-dialects.ts';

async function setup(store: Store, name = 'pg stager'): Promise<{ connectionId: string; tenantId: string; run: () => Promise<number> }> {
  const conn = await store.connections.create({ name, baseUrl: 'http://127.0.0.1:1/ims/oneroster/v1p1', authKind: 'none' });
  return {
    connectionId: conn.id,
    tenantId: conn.tenantId,
    // One running run per connection: finish the previous one by hand before starting the next.
    run: async () => {
      await store.db.updateTable('runs').set({ status: 'succeeded' }).where('connection_id', '=', conn.id).where('status', '=', 'running').execute();
      return (await store.runs.start({ connectionId: conn.id, mode: 'full', leaseOwner: 'test' })).id;
    },
  };
}

/** Stages `rows` in one run and applies them (no absence), so they become live rows. */
async function makeLive(store: Store, env: Awaited<ReturnType<typeof setup>>, rows: StageRow[]): Promise<number> {
  const runId = await env.run();
  const stager = await store.staging.open({ runId, tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' });
  await stager.write(rows);
  const ctx = { runId, tenantId: env.tenantId, connectionId: env.connectionId, now: new Date('2026-01-02T00:00:00.000Z') };
  await store.staging.apply(ctx, new Map([['users', { absence: { kind: 'none' }, writes: rows.length }]]), async () => {});
  await store.staging.discard(runId);
  return runId;
}

async function stagedRows(store: Store, runId: number): Promise<Array<Record<string, unknown>>> {
  const cols = stageColumns('users', true).filter((c) => c !== 'run_id');
  const r = await sql<Record<string, unknown>>`select ${sql.join(cols.map((c) => sql.ref(c)))} from ${sql.table(stageTable('users'))}
    where run_id = ${runId} order by sourced_id`.execute(store.db);
  return r.rows;
}

forEachDialect(
  'PostgreSQL stager',
  ({ it, open, freshUrl, openAt }) => {
    /** A store plus a pg pool of its own on the same database (for a factory built by hand). */
    const openWithPool = async (): Promise<{ store: Store; pool: pg.Pool }> => {
      const url = await freshUrl();
      const store = await openAt(url, { bulk: 'native' });
      const pool = new pg.Pool({ connectionString: url, max: 2 });
      pool.on('error', () => {});
      return { store, pool };
    };

    it('sees whether the connection has live rows', async () => {
      const store = await open({ bulk: 'native' });
      const env = await setup(store);
      const ctx = { runId: await env.run(), tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' as const };
      const before = await store.staging.open(ctx);
      assert.equal(before.liveEmpty, true, 'no live rows yet');
      await makeLive(store, env, [create('u1')]);
      const after = await store.staging.open({ ...ctx, runId: await env.run() });
      assert.equal(after.liveEmpty, false, 'live rows after an apply');
      // One statement per page, one parameter per column: a page far above 65,535 / 17
      // parameters per row goes through in one write.
      const big = Array.from({ length: 6000 }, (_, i): StageRow => ({ sourcedId: `k${String(i).padStart(5, '0')}`, op: StageOp.unchanged, hash: `h${i}` }));
      const inserted = await after.write(big);
      assert.equal(inserted.filter(Boolean).length, 6000, 'every key row of a 6,000-row page staged');
    });

    it('reports duplicates within a page and across pages, keeping the first, with the checkpoint in the same transaction', async () => {
      const store = await open({ bulk: 'native' });
      const env = await setup(store);
      const runId = await env.run();
      const stager = await store.staging.open({ runId, tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' });
      let seen: readonly boolean[] = [];
      const page1 = [create('a', { username: 'first' }), create('b'), create('a', { username: 'second' }), { sourcedId: 'c', op: StageOp.invalid } satisfies StageRow];
      const r1 = await stager.write(page1, (inserted) => {
        seen = [...inserted];
        return JSON.stringify({ page: 1, inserted });
      });
      assert.deepEqual(r1, [true, true, false, true], 'the second "a" of the page is a duplicate');
      assert.deepEqual(seen, r1, 'the checkpoint callback sees the same per-row results');
      const r2 = await stager.write([create('d'), create('b', { username: 'again' }), { sourcedId: 'c', op: StageOp.unchanged, hash: 'x' }], () => JSON.stringify({ page: 2 }));
      assert.deepEqual(r2, [true, false, false], '"b" and "c" were staged by the first page');
      const rows = await stagedRows(store, runId);
      assert.deepEqual(rows.map((r) => r['sourced_id']), ['a', 'b', 'c', 'd'], 'one stage row per sourcedId');
      assert.equal(rows.find((r) => r['sourced_id'] === 'a')?.['username'], 'first', 'the first occurrence is kept');
      assert.equal(rows.find((r) => r['sourced_id'] === 'b')?.['username'], 'b', 'a later page does not overwrite');
      assert.deepEqual(await store.staging.checkpoints(runId), new Map([['users', JSON.stringify({ page: 2 })]]), 'latest checkpoint');

      // A page whose checkpoint cannot be computed commits nothing: neither rows nor checkpoint.
      await assert.rejects(
        stager.write([create('e')], () => {
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.deepEqual((await stagedRows(store, runId)).map((r) => r['sourced_id']), ['a', 'b', 'c', 'd'], 'the failed page staged no row');
      assert.deepEqual(await store.staging.checkpoints(runId), new Map([['users', JSON.stringify({ page: 2 })]]), 'the checkpoint did not move');
      // The client went back to the pool in a usable state: the same page stages now.
      assert.deepEqual(await stager.write([create('e')], () => JSON.stringify({ page: 3 })), [true], 'the retried page stages');
      assert.deepEqual(await store.staging.checkpoints(runId), new Map([['users', JSON.stringify({ page: 3 })]]), 'checkpoint of the retried page');
    });

    it('looks rows up by id and by range in byte order, tombstones included, other connections excluded', async () => {
      const store = await open({ bulk: 'native' });
      const env = await setup(store);
      // Under the harness's ICU en-US default collation these sort differently: 'a_b' < 'ab',
      // 'B' between 'a…' and 'c', 'é' beside 'e'. Byte order is what the sync's order check uses.
      const ids = ['a', 'B', 'a_b', 'ab', 'Z', 'e', 'é', 'A-1', 'a1', 'c'];
      const rows = ids.map((id) => create(id));
      rows.push(create('gone', { status: 'tobedeleted' }, { op: StageOp.delete }));
      await makeLive(store, env, rows);
      const other = await setup(store, 'other');
      await makeLive(store, other, [create('a'), create('b2')]);

      const stager = await store.staging.open({ runId: await env.run(), tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' });
      const sorted = [...ids, 'gone'].sort(); // JS order = UTF-8 byte order for these (no astral characters)
      const all = await stager.lookupRange(undefined, '\u{10FFFF}');
      assert.deepEqual(all.map(([id]) => id), sorted, 'every row of this connection, in byte order');
      assert.deepEqual(all.find(([id]) => id === 'gone')?.[1], { fp: 'fp-gone', deleted: true }, 'tombstone flagged');
      assert.deepEqual(all.find(([id]) => id === 'ab')?.[1], { fp: 'fp-ab', deleted: false }, 'fingerprint of a live row');
      const mid = await stager.lookupRange('B', 'a_b');
      assert.deepEqual(mid.map(([id]) => id), sorted.filter((id) => id > 'B' && id <= 'a_b'), 'after < id <= through, byte order');
      assert.deepEqual((await stager.lookupRange(undefined, 'B')).map(([id]) => id), sorted.filter((id) => id <= 'B'), 'no lower bound');

      const found = await stager.lookup(['ab', 'missing', 'gone', 'ab', 'b2']);
      assert.deepEqual(found, [{ hash: 'h-ab', fp: 'fp-ab', deleted: false }, undefined, { hash: 'h-gone', fp: 'fp-gone', deleted: true }, { hash: 'h-ab', fp: 'fp-ab', deleted: false }, undefined], 'same order as asked; other connections not seen');
      assert.deepEqual(await stager.lookup([]), [], 'empty lookup');

      const data = await stager.loadData(['é', 'missing', 'B']);
      assert.deepEqual([...data.keys()].sort(), ['B', 'é'], 'data of existing rows only');
      assert.deepEqual(JSON.parse(data.get('é')!), JSON.parse(rows[ids.indexOf('é')]!.data!), 'live data as applied');
    });

    it('stages exactly what the portable stager stages, by COPY and by INSERT, including values the packed encoding cannot carry', async (t) => {
      const { store, pool } = await openWithPool();
      t.after(() => pool.end());
      const env = await setup(store);
      const nasty = [
        create('q1', { username: 'quote " and \\ backslash, {braces}, NULL', email: '' }),
        create('q2', { username: 'record\u001eseparator' }), // forces the array fallback for this column
        create('q3', { username: '\u001f', email: null }), // a lone null marker is a value, not NULL
        create('q4', { enabledUser: false, role: 'teacher' }, { rawJson: '{"raw":"\\u0000"}', diff: '{"f":1}' }),
        create('q5', { dateLastModified: undefined }, { fp: null }),
        { sourcedId: 'k1', op: StageOp.unchanged, hash: 'hk' } satisfies StageRow,
        { sourcedId: 'k2', op: StageOp.absent } satisfies StageRow,
        create('ünï€ødé ✓'),
        create('NULL'),
      ];
      const runNative = await env.run();
      const native = await store.staging.open({ runId: runNative, tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' });
      assert.deepEqual(await native.write(nasty), nasty.map(() => true), 'native: all staged');
      const runPortable = await env.run();
      const portable = await new PortableStagerFactory(store.db).open({ runId: runPortable, tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' });
      assert.deepEqual(await portable.write(nasty), nasty.map(() => true), 'portable: all staged');
      const runInsert = await env.run();
      const byInsert = await new PgStagerFactory(pool, { write: 'insert' }).open({ runId: runInsert, tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' });
      assert.deepEqual(await byInsert.write(nasty), nasty.map(() => true), 'insert path: all staged');
      const a = await stagedRows(store, runNative);
      const b = await stagedRows(store, runPortable);
      assert.equal(a.length, nasty.length, 'one row per record');
      assert.deepEqual(a, b, 'identical stage rows: native (COPY) and portable');
      assert.deepEqual(await stagedRows(store, runInsert), b, 'identical stage rows: INSERT path and portable');
      const q3 = a.find((r) => r['sourced_id'] === 'q3');
      assert.deepEqual([q3?.['username'], q3?.['email']], ['\u001f', null], 'lone US kept as text, null as NULL');
      assert.equal(a.find((r) => r['sourced_id'] === 'q2')?.['username'], 'record\u001eseparator', 'RS inside a value survives');
    });

    it('falls back to ON CONFLICT when another session stages one of the ids between the pre-check and the COPY', async (t) => {
      const { store, pool } = await openWithPool();
      t.after(() => pool.end());
      const env = await setup(store);
      const runId = await env.run();
      await store.staging.ensureTables();
      const stager = await new PgStagerFactory(pool).open({ runId, tenantId: env.tenantId, connectionId: env.connectionId, collection: 'users' });
      await stager.write([create('first')]);
      const other = await pool.connect();
      try {
        // An uncommitted row the pre-check cannot see; the COPY then waits on its key.
        await other.query('begin');
        await other.query(`insert into ${stageTable('users')} (run_id, sourced_id, op) values ($1, 'z', ${StageOp.unchanged})`, [runId]);
        const writing = stager.write([create('y'), create('z')], (inserted) => JSON.stringify({ inserted }));
        for (let i = 0; ; i++) {
          const w = await store.db.executeQuery<{ n: number }>(
            sql`select count(*)::int as n from pg_stat_activity where wait_event_type = 'Lock' and query like 'copy %'`.compile(store.db),
          );
          if (Number(w.rows[0]?.n) > 0) break;
          assert.ok(i < 200, 'the COPY waits on the uncommitted key');
          await sleep(25);
        }
        await other.query('commit');
        assert.deepEqual(await writing, [true, false], '"z" counts as already staged after the retry');
      } finally {
        other.release();
      }
      const rows = await stagedRows(store, runId);
      assert.deepEqual(rows.map((r) => [r['sourced_id'], r['op']]), [['first', StageOp.create], ['y', StageOp.create], ['z', StageOp.unchanged]], 'the other session\'s row kept, the rest staged once');
      assert.deepEqual(await store.staging.checkpoints(runId), new Map([['users', JSON.stringify({ inserted: [true, false] })]]), 'checkpoint of the retried page');
    });
  },
  { dialects: ['postgres'] },
);
