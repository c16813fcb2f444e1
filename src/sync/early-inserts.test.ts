/**
 * Early inserts (store/early-inserts.ts) through whole syncs on PostgreSQL: a first sync ends
 * exactly as it does without them, nothing shows before the apply commits, and every way a run can
 * end early (a failed collection, a hold, the server ending the transaction) leaves the store as
 * the apply alone would. Also: another run's apply does not wait for a run's open early inserts.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import { createSdsCodec } from '../services/sds-codec.ts';
import type { FetchedPage, PageReader, ReadOptions } from '../source/page-reader.ts';
import { earlySlotCount, type Store } from '../store/store.ts';
import { forEachDialect } from '../store/test-dialects.ts';
import { runSync } from './full-sync.ts';
import { MemoryPageReader, type MemoryItems } from './memory-page-reader.ts';

const T = '2025-01-01T00:00:00.000Z';
const ref = (sourcedId: string, type: string) => ({ sourcedId, type });
const org = (id: string) => ({ sourcedId: id, status: 'active', dateLastModified: T, name: `School ${id}`, type: 'school', identifier: `ORG-${id}` });
const session = (id: string) => ({
  sourcedId: id, status: 'active', dateLastModified: T, title: 'Year', startDate: '2024-08-01', endDate: '2025-07-01', type: 'schoolYear', schoolYear: '2025',
});
const klass = (id: string) => ({ sourcedId: id, status: 'active', dateLastModified: T, title: `Class ${id}`, school: ref('s1', 'org'), terms: [ref('y1', 'academicSession')] });
const user = (id: string) => ({
  sourcedId: id, status: 'active', dateLastModified: T, username: id, enabledUser: true, givenName: 'Given', familyName: 'Family', role: 'student', orgs: [ref('s1', 'org')],
  identifier: `ID-${id}`,
});
const enr = (id: string, u: string, k: string) => ({ sourcedId: id, status: 'active', dateLastModified: T, user: ref(u, 'user'), class: ref(k, 'class'), school: ref('s1', 'org'), role: 'student' });

/** A first sync: every collection is fresh, so every one goes in early. */
function data(): MemoryItems {
  return {
    orgs: [org('s1')],
    academicSessions: [session('y1')],
    classes: ['k1', 'k2', 'k3'].map(klass),
    users: ['u1', 'u2', 'u3', 'u4', 'u5'].map(user),
    enrollments: [
      enr('e1', 'u1', 'k1'), enr('e2', 'u2', 'k1'), enr('e3', 'u3', 'k2'), enr('e4', 'u4', 'k3'),
      enr('e5', 'u5', 'k3'), enr('e6', 'u1', 'k2'), enr('e7', 'u2', 'k3'),
      { ...enr('e8', 'u3', 'k3'), status: 'tobedeleted' }, // never seen live: nothing to write
    ],
  };
}

/** Runs `hook` when the reader is about to hand over page `index` of `collection`. */
class HookedReader implements PageReader {
  readonly #inner: PageReader;
  readonly #at: { collection: CollectionName; index: number };
  readonly #hook: () => Promise<void>;

  constructor(inner: PageReader, at: { collection: CollectionName; index: number }, hook: () => Promise<void>) {
    this.#inner = inner;
    this.#at = at;
    this.#hook = hook;
  }

  async *readPages(collection: CollectionName, options?: ReadOptions): AsyncIterable<FetchedPage> {
    for await (const page of this.#inner.readPages(collection, options)) {
      if (collection === this.#at.collection && page.index === this.#at.index) await this.#hook();
      yield page;
    }
  }
}

const reader = (d: MemoryItems = data(), extra: ConstructorParameters<typeof MemoryPageReader>[1] = {}) =>
  new MemoryPageReader(d, { pageSize: 2, applyFilter: false, ...extra });

/** Live rows and history of a store, without run ids and times. */
async function snapshot(store: Store, conn = 'sis'): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const c of ['orgs', 'academicSessions', 'classes', 'users', 'enrollments'] as const) {
    const rows = await store.records.list(c, conn, { includeDeleted: true });
    out[c] = rows.map((r) => JSON.stringify([r.sourcedId, r.status, r.rowVersion, r.contentHash, r.deletedRun !== undefined, r.record, r.raw ?? null])).sort();
  }
  const changes = await sql<{ entity: string; sourced_id: string; kind: string; fields: string | null; applied: number }>`
    select entity, sourced_id, kind, fields, applied from changes where connection_id = ${conn} order by seq`.execute(store.db);
  out['changes'] = changes.rows.map((r) => [r.entity, r.sourced_id, r.kind, r.fields, Number(r.applied)]);
  return out;
}

async function addConnections(store: Store, ids: string[]): Promise<void> {
  for (const id of ids) await store.connections.create({ id, name: id, baseUrl: `https://${id}.example/ims/oneroster/v1p1`, authKind: 'none' });
}

/** Live rows of a table that any session can see (committed). */
async function committed(store: Store, table: string): Promise<number> {
  return Number((await sql<{ n: number }>`select count(*) as n from ${sql.table(table)}`.execute(store.db)).rows[0]!.n);
}

/** Waits until another session holds ROW EXCLUSIVE on `table` (an open early insert into it). */
async function untilLocked(store: Store, table: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await sql<{ n: number }>`select count(*) as n from pg_locks l join pg_class c on c.oid = l.relation
      where c.relname = ${table} and l.mode = 'RowExclusiveLock' and l.pid <> pg_backend_pid()`.execute(store.db);
    if (Number(r.rows[0]!.n) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`no session took a lock on ${table}`);
}

forEachDialect(
  'early inserts',
  (d) => {
    d.it('a first sync ends exactly as without early inserts, and nothing shows before the apply commits', async () => {
      const plain = await d.open({ earlyInserts: false });
      await addConnections(plain, ['sis']);
      const expected = await runSync({ store: plain, reader: reader(), connectionId: 'sis' });
      assert.equal(expected.status, 'succeeded');
      assert.equal(expected.timings.early, 0);

      const store = await d.open();
      await addConnections(store, ['sis']);
      const seen: number[] = [];
      const hooked = new HookedReader(reader(), { collection: 'enrollments', index: 2 }, async () => {
        await untilLocked(store, 'live_enrollments'); // the first page of enrollments went in early
        seen.push(await committed(store, 'live_classes'), await committed(store, 'live_enrollments'));
      });
      const res = await runSync({ store, reader: hooked, connectionId: 'sis' });
      assert.equal(res.status, 'succeeded');
      assert.ok(res.timings.early > 0, 'rows were inserted early');
      assert.deepEqual(seen, [0, 0], 'early rows are invisible to other sessions until the apply commits');
      assert.deepEqual(res.entities, expected.entities);
      assert.deepEqual(await snapshot(store), await snapshot(plain));
      assert.equal(await store.records.get('enrollments', 'sis', 'e8'), undefined);
      assert.equal(res.entities.enrollments?.created, 7);
      for (const t of ['stage_users', 'stage_enrollments', 'stage_checkpoints']) assert.equal(await committed(store, t), 0, `${t} emptied after the run`);
      // A re-sync finds everything unchanged.
      const again = await runSync({ store, reader: reader(), connectionId: 'sis' });
      assert.equal(again.entities.enrollments?.unchanged, 8);
      assert.equal(again.timings.early, 0, 'nothing is fresh any more');
    });

    d.it('a record the reference check rewrites after the read is rewritten live too', async () => {
      const d1 = data();
      // u1's agent does not exist: the check after the read drops the agent from the staged record;
      // u2's agent u1 does. Users (and sessions, with a dangling parent) went in early before that.
      (d1.users as Array<Record<string, unknown>>)[0]!['agents'] = [ref('u9', 'user')];
      (d1.users as Array<Record<string, unknown>>)[1]!['agents'] = [ref('u1', 'user')];
      (d1.academicSessions as Array<Record<string, unknown>>)[0]!['parent'] = ref('y0', 'academicSession');
      const plain = await d.open({ earlyInserts: false });
      await addConnections(plain, ['sis']);
      // The SDS codec checks references (the engine's default codec does not).
      const codec = () => createSdsCodec({ contacts: true, demographics: false, userFlags: true });
      const expected = await runSync({ store: plain, reader: reader(d1), connectionId: 'sis', codec: codec() });
      assert.equal((await plain.records.get('users', 'sis', 'u1'))?.record.sourcedId, 'u1');
      const store = await d.open();
      await addConnections(store, ['sis']);
      const res = await runSync({ store, reader: reader(d1), connectionId: 'sis', codec: codec() });
      assert.equal(res.status, 'succeeded');
      assert.ok(res.timings.early > 0);
      assert.deepEqual(res.entities, expected.entities);
      const u1 = await store.records.get('users', 'sis', 'u1');
      assert.equal((u1?.record as { agents?: unknown }).agents, undefined, 'the dangling agent is gone from the live row');
      assert.deepEqual((await store.records.get('users', 'sis', 'u2'))?.record.sourcedId, 'u2');
      assert.deepEqual(await snapshot(store), await snapshot(plain));
    });

    d.it('a collection whose read fails leaves none of its early rows; the other collections apply', async () => {
      const store = await d.open();
      await addConnections(store, ['sis']);
      const failure = Object.assign(new Error('GET /enrollments returned 503 too many times'), { code: 'too_many_retries' });
      const res = await runSync({ store, reader: reader(data(), { failAfter: { enrollments: { pages: 3, error: failure } } }), connectionId: 'sis' });
      assert.equal(res.status, 'partial');
      assert.equal(res.entities.enrollments?.outcome, 'failed');
      assert.ok(res.timings.early > 0, 'enrollments went in early before the read failed');
      assert.equal(await committed(store, 'live_enrollments'), 0);
      assert.equal(await committed(store, 'live_classes'), 3, 'classes, inserted early too, are applied');
      const hist = await sql<{ entity: string; n: number }>`select entity, count(*) as n from changes group by entity order by entity`.execute(store.db);
      assert.deepEqual(hist.rows.map((r) => [r.entity, Number(r.n)]), [['academicSessions', 1], ['classes', 3], ['orgs', 1], ['users', 5]]);
    });

    d.it('a held run leaves nothing of its early rows live, and its plan is recorded', async () => {
      const store = await d.open();
      await addConnections(store, ['sis']);
      // A first sync holds nothing (it neither deletes nor updates), so users come first, then
      // come back empty (the empty-collection hold) while classes are fresh and go in early.
      const first = await runSync({ store, reader: reader(), connectionId: 'sis', entities: ['orgs', 'academicSessions', 'users'] });
      assert.equal(first.status, 'succeeded');
      const res = await runSync({ store, reader: reader({ ...data(), users: [] }), connectionId: 'sis', policy: { emptyCollection: 'hold' } });
      assert.equal(res.status, 'held');
      assert.ok(res.timings.early > 0, 'classes went in early');
      assert.equal(await committed(store, 'live_classes'), 0);
      assert.equal(await committed(store, 'live_enrollments'), 0);
      assert.equal(await committed(store, 'live_users'), 5, 'users kept as they were');
      const plan = await sql<{ n: number }>`select count(*) as n from changes where applied = 0 and entity = 'classes' and kind = 'created'`.execute(store.db);
      assert.equal(Number(plan.rows[0]!.n), 3, "the held run's plan lists the classes it would create");
    });

    d.it('the server ending the early transaction costs only the early inserts: the apply writes every row', async () => {
      const plain = await d.open({ earlyInserts: false });
      await addConnections(plain, ['sis']);
      await runSync({ store: plain, reader: reader(), connectionId: 'sis' });

      const store = await d.open();
      await addConnections(store, ['sis']);
      let ended = 0;
      const hooked = new HookedReader(reader(), { collection: 'enrollments', index: 2 }, async () => {
        await untilLocked(store, 'live_enrollments');
        // The session holding the early rows (not, say, an autovacuum worker that has a transaction open too).
        const r = await sql<{ ok: boolean }>`select pg_terminate_backend(pid) as ok from (select distinct l.pid from pg_locks l
          join pg_class c on c.oid = l.relation where c.relname = 'live_enrollments' and l.mode = 'RowExclusiveLock' and l.pid <> pg_backend_pid()) as x`.execute(store.db);
        ended = r.rows.filter((x) => x.ok).length;
      });
      const res = await runSync({ store, reader: hooked, connectionId: 'sis' });
      assert.equal(ended, 1, 'the early transaction was ended');
      assert.equal(res.status, 'succeeded');
      assert.deepEqual(await snapshot(store), await snapshot(plain));
    });

    for (const [label, options] of [
      ['at most half the pool (2)', { poolSize: 2 }],
      ['earlyInserts: 1 with a pool of 10', { poolSize: 10, earlyInserts: 1 }],
    ] as const) {
      d.it(`one slot (${label}): a run without a slot inserts nothing early`, async () => {
        const store = await d.open(options);
        await addConnections(store, ['a', 'b', 'c']);
        let other: Awaited<ReturnType<typeof runSync>> | undefined;
        const hooked = new HookedReader(reader(), { collection: 'enrollments', index: 2 }, async () => {
          await untilLocked(store, 'live_enrollments');
          other = await runSync({ store, reader: reader(), connectionId: 'b' });
        });
        const a = await runSync({ store, reader: hooked, connectionId: 'a' });
        assert.equal(a.status, 'succeeded');
        assert.ok(a.timings.early > 0, 'a held the slot');
        assert.equal(other?.status, 'succeeded');
        assert.equal(other?.timings.early, 0, 'b found no free slot');
        assert.deepEqual(await snapshot(store, 'b'), await snapshot(store, 'a'));
        const c = await runSync({ store, reader: reader(), connectionId: 'c' });
        assert.ok(c.timings.early > 0, 'the slot was given back');
      });
    }

    d.it("an apply that would rebuild indexes does not wait for another run's open early inserts", async () => {
      const url = await d.freshUrl();
      const a = await d.openAt(url);
      const b = await d.openAt(url, { earlyInserts: false, indexRebuildMinWrites: 3 });
      await addConnections(a, ['a', 'b']);
      const oid = async (): Promise<number> => Number((await sql<{ oid: number }>`select 'live_enrollments_class_id'::regclass::oid as oid`.execute(b.db)).rows[0]!.oid);
      const before = await oid();
      let other: Awaited<ReturnType<typeof runSync>> | undefined;
      const hooked = new HookedReader(reader(), { collection: 'enrollments', index: 2 }, async () => {
        await untilLocked(a, 'live_enrollments');
        // Run b's whole sync while a's early inserts are open. Its apply holds the history-order
        // lock and sees an empty live_enrollments: waiting there for a's lock would never end,
        // since a waits for b here (and at its own apply, for the order lock).
        let timer: NodeJS.Timeout | undefined;
        const limit = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("b's sync waited for a's early inserts")), 20_000);
        });
        try {
          other = await Promise.race([runSync({ store: b, reader: reader(), connectionId: 'b' }), limit]);
        } finally {
          clearTimeout(timer);
        }
      });
      const res = await runSync({ store: a, reader: hooked, connectionId: 'a' });
      assert.equal(other?.status, 'succeeded');
      assert.equal(res.status, 'succeeded');
      assert.equal(await oid(), before, 'b left the indexes as they were');
      assert.deepEqual(await snapshot(a, 'a'), await snapshot(a, 'b'));
      const both = await sql<{ connection_id: string; n: number }>`select connection_id, count(*) as n from live_enrollments
        where class_id = 'k3' group by connection_id order by connection_id`.execute(a.db);
      assert.deepEqual(both.rows.map((r) => [r.connection_id, Number(r.n)]), [['a', 3], ['b', 3]], 'the class index answers for both');
    });
  },
  { dialects: ['postgres'] },
);

describe('earlySlotCount (ROSTERSYNC_EARLY_INSERTS)', () => {
  it('defaults to half the pool, turns off with false, 0 or off, and takes a count up to half the pool', () => {
    const cases: Array<[boolean | number | string | undefined, number]> = [
      [undefined, 5], ['', 5], [true, 5], [false, 0], ['0', 0], ['off', 0], [0, 0], ['1', 1], [' 2 ', 2], [3, 3], ['5', 5],
    ];
    for (const [value, want] of cases) assert.equal(earlySlotCount(value, 10), want, String(value));
    assert.equal(earlySlotCount(undefined, 1), 0, 'a pool of one has no connection to spare');
  });

  it('refuses anything else, naming the variable and the range', () => {
    for (const bad of ['6', 'two', '-1', '1.5', 6, -1, 1.5]) {
      assert.throws(() => earlySlotCount(bad, 10), /early inserts \(ROSTERSYNC_EARLY_INSERTS\) must be off, 0, or a number of runs from 1 to 5 \(half the pool of 10 connections\)/, String(bad));
    }
  });
});
