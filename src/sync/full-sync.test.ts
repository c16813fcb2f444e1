import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import type { FetchedPage, PageReader, ReadOptions } from '../source/page-reader.ts';
import { isStoreError } from '../store/errors.ts';
import { openStore, type Store } from '../store/store.ts';
import { forEachDialect } from '../store/test-dialects.ts';
import { runSync, type SyncProgress } from './full-sync.ts';
import { DEFAULT_CODEC } from './record-codec.ts';
import { MemoryPageReader, type MemoryItems } from './memory-page-reader.ts';

const T = '2025-01-01T00:00:00.000Z';
const ref = (sourcedId: string, type: string) => ({ sourcedId, type });
const org = (id: string, name = `School ${id}`) => ({ sourcedId: id, status: 'active', dateLastModified: T, name, type: 'school' });
const session = (id: string) => ({
  sourcedId: id, status: 'active', dateLastModified: T, title: 'Year', startDate: '2024-08-01', endDate: '2025-07-01', type: 'schoolYear', schoolYear: '2025',
});
const klass = (id: string) => ({
  sourcedId: id, status: 'active', dateLastModified: T, title: `Class ${id}`, school: ref('s1', 'org'), terms: [ref('y1', 'academicSession')],
});
const user = (id: string, extra: Record<string, unknown> = {}) => ({
  sourcedId: id, status: 'active', dateLastModified: T, username: id, enabledUser: true, givenName: 'Given', familyName: 'Family',
  role: 'student', orgs: [ref('s1', 'org')], ...extra,
});
const enr = (id: string, u: string, k: string) => ({
  sourcedId: id, status: 'active', dateLastModified: T, user: ref(u, 'user'), class: ref(k, 'class'), school: ref('s1', 'org'), role: 'student',
});

type Data = Record<'orgs' | 'academicSessions' | 'classes' | 'users' | 'enrollments', Array<Record<string, unknown>>>;

function baseData(): Data {
  return {
    orgs: [org('s1'), org('s2')],
    academicSessions: [session('y1')],
    classes: [klass('k1'), klass('k2'), klass('k3')],
    users: ['u1', 'u2', 'u3', 'u4', 'u5'].map((id) => user(id)),
    enrollments: [enr('e1', 'u1', 'k1'), enr('e2', 'u2', 'k1'), enr('e3', 'u3', 'k2'), enr('e4', 'u4', 'k3')],
  };
}

async function newStore(bulk: 'native' | 'portable', connections: string[] = ['sis']): Promise<Store> {
  const store = await openStore({ url: ':memory:', bulk });
  for (const id of connections) await store.connections.create({ id, name: id, baseUrl: `https://${id}.example/ims/oneroster/v1p1`, authKind: 'none' });
  return store;
}

function reader(data: MemoryItems, pageSize = 2, extra: ConstructorParameters<typeof MemoryPageReader>[1] = {}): MemoryPageReader {
  return new MemoryPageReader(data, { pageSize, ...extra });
}

async function versions(store: Store, c: CollectionName, conn = 'sis'): Promise<Map<string, string>> {
  const rows = await store.records.list(c, conn, { includeDeleted: true });
  return new Map(rows.map((r) => [r.sourcedId, `${r.rowVersion}/${r.updatedRun}/${r.contentHash}`]));
}

for (const bulk of ['native', 'portable'] as const) {
  describe(`full sync (${bulk} staging)`, () => {
    it('first sync creates everything, in dependency order, reading active records only', async () => {
      const store = await newStore(bulk);
      const r = reader(baseData());
      const progress: SyncProgress[] = [];
      const res = await runSync({ store, reader: r, connectionId: 'sis', onProgress: (p) => progress.push(p) });
      assert.equal(res.status, 'succeeded');
      assert.deepEqual(r.reads.map((x) => x.collection), ['orgs', 'academicSessions', 'classes', 'users', 'enrollments']);
      assert.ok(r.reads.every((x) => x.filter === "status='active'"));
      assert.deepEqual(
        Object.fromEntries(Object.entries(res.entities).map(([c, n]) => [c, [n.fetched, n.created, n.updated, n.unchanged, n.deleted, n.invalid]])),
        { orgs: [2, 2, 0, 0, 0, 0], academicSessions: [1, 1, 0, 0, 0, 0], classes: [3, 3, 0, 0, 0, 0], users: [5, 5, 0, 0, 0, 0], enrollments: [4, 4, 0, 0, 0, 0] },
      );
      assert.equal(res.requests.perEndpoint['/users']?.requests, 3, '5 users at 2 per page');
      const live = await store.records.countLive('sis');
      assert.deepEqual(live.users, { active: 5, deleted: 0 });
      assert.deepEqual(live.courses, { active: 0, deleted: 0 });
      const u1 = await store.records.get('users', 'sis', 'u1');
      assert.equal(u1?.record.givenName, 'Given');
      assert.equal(u1?.raw, undefined, 'a clean record keeps no separate raw copy');
      assert.equal(u1?.firstSeenRun, res.runId);
      const usersProgress = progress.filter((p) => p.collection === 'users');
      assert.deepEqual(usersProgress.map((p) => [p.pages, p.records, p.total, p.done]), [[1, 2, 5, false], [2, 4, 5, false], [3, 5, 5, false], [3, 5, 5, true]]);
      const stored = await store.runs.get(res.runId);
      assert.equal(stored?.status, 'succeeded');
      assert.equal(stored?.entities.users?.created, 5);
      assert.ok(stored?.finishedAt);
      const staged = await sql<{ n: number }>`select count(*) as n from stage_users`.execute(store.db);
      assert.equal(Number(staged.rows[0]?.n), 0, 'staging is emptied after the run');
      await store.close();
    });

    it('keeps the raw provider record when normalisation changed it', async () => {
      const store = await newStore(bulk);
      const data = baseData();
      data.users[0] = user('u1', { middleName: null, sis_extra: 'kept', role: 'Student' });
      const res = await runSync({ store, reader: reader(data), connectionId: 'sis' });
      assert.equal(res.entities.users?.created, 5);
      assert.equal(res.issues.byRule['enum-case'], 1, 'warning counted, record still applied');
      const u1 = await store.records.get('users', 'sis', 'u1');
      assert.equal(u1?.record.role, 'student');
      assert.deepEqual((u1?.raw as Record<string, unknown>)['sis_extra'], 'kept');
      assert.equal((u1?.raw as Record<string, unknown>)['role'], 'Student');
      await store.close();
    });

    it('a second sync of unchanged data writes nothing', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
      const before = await versions(store, 'users');
      const beforeEnr = await versions(store, 'enrollments');
      // Same data, different key order and page size: still unchanged (canonical hashing).
      const shuffled = baseData();
      shuffled.users = shuffled.users.map((u) => Object.fromEntries(Object.entries(u).reverse()));
      const res = await runSync({ store, reader: reader(shuffled, 3), connectionId: 'sis' });
      assert.equal(res.status, 'succeeded');
      for (const [c, n] of Object.entries(res.entities)) {
        assert.equal(n.created + n.updated + n.restored + n.deleted, 0, `${c} wrote nothing`);
        assert.equal(n.unchanged, n.fetched, `${c} all unchanged`);
      }
      assert.deepEqual(await versions(store, 'users'), before, 'row versions and updated_run untouched');
      assert.deepEqual(await versions(store, 'enrollments'), beforeEnr);
      await store.close();
    });

    it('counts updates, absence deletes, tobedeleted tombstones, creates and restores', async () => {
      const store = await newStore(bulk);
      const first = await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
      const d = baseData();
      d.users[1] = user('u2', { givenName: 'Changed' });
      d.users[2] = user('u3', { status: 'tobedeleted' });
      d.users.push(user('u6'));
      d.enrollments = d.enrollments.filter((e) => e['sourcedId'] !== 'e4');
      // A provider that ignores the active filter and sends a tobedeleted record.
      const second = await runSync({ store, reader: reader(d, 2, { applyFilter: false }), connectionId: 'sis' });
      const u = second.entities.users!;
      assert.deepEqual([u.created, u.updated, u.unchanged, u.deleted, u.deletedByAbsence], [1, 1, 3, 1, 0]);
      const e = second.entities.enrollments!;
      assert.deepEqual([e.unchanged, e.deleted, e.deletedByAbsence], [3, 1, 1]);
      const u2 = await store.records.get('users', 'sis', 'u2');
      assert.equal(u2?.record.givenName, 'Changed');
      assert.equal(u2?.updatedRun, second.runId);
      assert.equal(u2?.rowVersion, 2);
      assert.equal(u2?.firstSeenRun, first.runId);
      const u3 = await store.records.get('users', 'sis', 'u3');
      assert.equal(u3?.status, 'tobedeleted');
      assert.equal(u3?.deletedRun, second.runId);
      assert.ok(u3?.deletedAt);
      const e4 = await store.records.get('enrollments', 'sis', 'e4');
      assert.equal(e4?.status, 'tobedeleted', 'absent row kept as a tombstone');
      assert.equal(e4?.deletedRun, second.runId);
      assert.deepEqual((await store.records.countLive('sis')).enrollments, { active: 3, deleted: 1 });

      // e4 returns and u3 is active again: restored, tombstone cleared.
      const third = await runSync({ store, reader: reader({ ...baseData(), users: [...baseData().users, user('u6')] }), connectionId: 'sis' });
      assert.equal(third.entities.enrollments?.restored, 1);
      assert.equal(third.entities.users?.restored, 1);
      assert.equal(third.entities.users?.updated, 1, 'u2 changed back');
      const e4again = await store.records.get('enrollments', 'sis', 'e4');
      assert.equal(e4again?.status, 'active');
      assert.equal(e4again?.deletedAt, undefined);
      assert.equal(e4again?.deletedRun, undefined);
      assert.equal(e4again?.firstSeenRun, first.runId);
      await store.close();
    });

    it('a reader that fails mid-collection keeps that collection last-known-good and applies the others (partial)', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
      const before = await versions(store, 'users');
      const d = baseData();
      d.orgs[0] = org('s1', 'Renamed School');
      d.users = [user('u1', { givenName: 'WouldChange' })]; // page 1 only, then the read dies
      const failure = Object.assign(new Error('GET /users returned 503 too many times'), { code: 'too_many_retries' });
      const res = await runSync({
        store,
        reader: reader(d, 1, { failAfter: { users: { pages: 1, error: failure } } }),
        connectionId: 'sis',
      });
      assert.equal(res.status, 'partial');
      assert.deepEqual(res.error, { code: 'too_many_retries', message: 'GET /users returned 503 too many times' });
      assert.equal(res.entities.users?.outcome, 'failed');
      assert.deepEqual(res.entities.users?.error, res.error);
      assert.equal(res.entities.orgs?.outcome, 'applied');
      assert.equal(res.entities.orgs?.updated, 1);
      assert.equal(res.entities.enrollments?.outcome, 'applied', 'collections after the failure still run');
      assert.deepEqual(await versions(store, 'users'), before, 'no user touched: not updated, not deleted by absence');
      assert.equal((await store.records.get('orgs', 'sis', 's1'))?.record.name, 'Renamed School');
      const stored = await store.runs.get(res.runId);
      assert.equal(stored?.status, 'partial');
      assert.equal(stored?.error?.code, 'too_many_retries');
      assert.equal(stored?.entities.users?.outcome, 'failed');
      await store.close();
    });

    it('an empty complete collection holds the run by default, is kept under keep, tombstones under apply', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
      const held = await runSync({ store, reader: reader({ ...baseData(), classes: [] }), connectionId: 'sis' });
      assert.equal(held.status, 'held');
      assert.equal(held.sdsStatus, 'held');
      assert.deepEqual(held.hold?.map((r) => [r.entity, r.rule, r.planned]), [['classes', 'empty-collection', 3]]);
      assert.equal(held.entities.classes?.outcome, 'held');
      assert.deepEqual((await store.records.countLive('sis')).classes, { active: 3, deleted: 0 }, 'a held run deletes nothing');
      const heldRun = await store.runs.get(held.runId);
      assert.equal(heldRun?.holdState, 'pending');
      const kept = await runSync({ store, reader: reader({ ...baseData(), classes: [] }), connectionId: 'sis', policy: { emptyCollection: 'keep' } });
      assert.equal(kept.status, 'partial');
      assert.equal(kept.entities.classes?.outcome, 'kept');
      assert.equal(kept.error?.code, 'empty_collection');
      assert.deepEqual((await store.records.countLive('sis')).classes, { active: 3, deleted: 0 });
      const applied = await runSync({ store, reader: reader({ ...baseData(), classes: [] }), connectionId: 'sis', policy: { emptyCollection: 'apply' } });
      assert.equal(applied.status, 'succeeded');
      assert.equal(applied.entities.classes?.deletedByAbsence, 3);
      assert.deepEqual((await store.records.countLive('sis')).classes, { active: 0, deleted: 3 });
      await store.close();
    });

    it('invalid records are counted, reported, not applied, and not treated as absent', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
      const d = baseData();
      const { givenName: _drop, ...noGiven } = user('u1', { familyName: 'New' });
      d.users[0] = noGiven; // u1 now invalid: live row must keep its last-known-good data
      d.users.push({ ...user('x'), sourcedId: '' }); // no usable sourcedId
      d.users.push({ ...user('u9'), role: 'wizard' }); // new and invalid
      const res = await runSync({ store, reader: reader(d), connectionId: 'sis' });
      assert.equal(res.status, 'succeeded', 'data problems are not run failures');
      const u = res.entities.users!;
      assert.deepEqual([u.fetched, u.invalid, u.unchanged, u.created, u.deleted], [7, 3, 4, 0, 0]);
      const u1 = await store.records.get('users', 'sis', 'u1');
      assert.equal(u1?.status, 'active');
      assert.equal(u1?.record.familyName, 'Family', 'last-known-good kept');
      assert.equal(res.issues.bySeverity.error, 3);
      const stored = await store.issues.list(res.runId, { severity: 'error' });
      const byId = new Map(stored.map((i) => [i.sourcedId ?? '(none)', i]));
      assert.deepEqual(
        [byId.get('u1')?.rule, byId.get('u1')?.entity, byId.get('u1')?.field],
        ['required-field', 'users', 'givenName'],
      );
      assert.equal(byId.get('(none)')?.rule, 'missing-sourced-id');
      assert.equal(byId.get('u9')?.rule, 'invalid-enum');
      assert.equal(await store.records.get('users', 'sis', 'u9'), undefined);
      await store.close();
    });

    it('duplicate sourcedIds in one run: the first is kept and the rest reported', async () => {
      const store = await newStore(bulk);
      const d = baseData();
      d.users.push(user('u1', { givenName: 'Second' })); // lands on a later page
      d.users.splice(1, 0, user('u1', { givenName: 'SamePage' })); // same page as the first u1
      const res = await runSync({ store, reader: reader(d), connectionId: 'sis' });
      assert.equal(res.entities.users?.duplicates, 2);
      assert.equal(res.entities.users?.created, 5);
      assert.equal(res.issues.byRule['duplicate-sourced-id'], 2);
      assert.equal((await store.records.get('users', 'sis', 'u1'))?.record.givenName, 'Given');
      const issues = await store.issues.list(res.runId, { rule: 'duplicate-sourced-id' });
      assert.deepEqual(issues.map((i) => [i.sourcedId, i.entity, i.severity]), [['u1', 'users', 'error'], ['u1', 'users', 'error']]);
      await store.close();
    });

    it('two connections with the same sourcedIds do not clash', async () => {
      const store = await newStore(bulk, ['a', 'b']);
      await runSync({ store, reader: reader(baseData()), connectionId: 'a' });
      const d = baseData();
      d.users = d.users.map((u) => ({ ...u, givenName: 'FromB' }));
      const rb = await runSync({ store, reader: reader(d), connectionId: 'b' });
      assert.equal(rb.entities.users?.created, 5, 'b creates its own rows');
      assert.equal((await store.records.get('users', 'a', 'u1'))?.record.givenName, 'Given');
      assert.equal((await store.records.get('users', 'b', 'u1'))?.record.givenName, 'FromB');
      // Emptying b's enrollments deletes only b's.
      await runSync({ store, reader: reader({ ...d, enrollments: [] }), connectionId: 'b', policy: { emptyCollection: 'apply' } });
      assert.deepEqual((await store.records.countLive('a')).enrollments, { active: 4, deleted: 0 });
      assert.deepEqual((await store.records.countLive('b')).enrollments, { active: 0, deleted: 4 });
      await store.close();
    });

    it('rejects a concurrent run on the same connection, allows one on another', async () => {
      const store = await newStore(bulk, ['a', 'b']);
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      let entered!: () => void;
      const started = new Promise<void>((r) => (entered = r));
      const inner = reader(baseData());
      const blocking: PageReader = {
        async *readPages(c: CollectionName, o?: ReadOptions): AsyncIterable<FetchedPage> {
          entered();
          await gate;
          yield* inner.readPages(c, o);
        },
      };
      const first = runSync({ store, reader: blocking, connectionId: 'a' });
      await started;
      await assert.rejects(runSync({ store, reader: reader(baseData()), connectionId: 'a' }), (e) => isStoreError(e, 'run_in_progress'));
      const other = await runSync({ store, reader: reader(baseData()), connectionId: 'b' });
      assert.equal(other.status, 'succeeded');
      release();
      const res = await first;
      assert.equal(res.status, 'succeeded');
      assert.equal(res.entities.users?.created, 5);
      assert.equal((await store.runs.list({ connectionId: 'a' })).length, 1, 'the rejected run left no row');
      await store.close();
    });

    it('sorted re-sync finds absences at the head, middle and tail without staging unchanged rows', async () => {
      const store = await newStore(bulk);
      const ids = Array.from({ length: 10 }, (_, i) => `u${String(i).padStart(2, '0')}`);
      await runSync({ store, reader: reader({ ...baseData(), users: ids.map((id) => user(id)) }), connectionId: 'sis', entities: ['users'] });
      const kept = ids.filter((id) => !['u00', 'u04', 'u05', 'u09'].includes(id));
      const r = reader({ users: kept.map((id) => user(id)) }, 3);
      const res = await runSync({ store, reader: r, connectionId: 'sis', entities: ['users'] });
      const u = res.entities.users!;
      assert.equal(u.order, 'sorted');
      assert.deepEqual([u.unchanged, u.deleted, u.deletedByAbsence], [6, 4, 4]);
      assert.equal(r.reads.length, 1, 'read once');
      const live = await store.records.list('users', 'sis', { includeDeleted: true });
      assert.deepEqual(live.filter((x) => x.deletedAt).map((x) => x.sourcedId), ['u00', 'u04', 'u05', 'u09']);
      await store.close();
    });

    it('an unsorted provider is re-read once in general mode and remembered for the next run', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis', entities: ['users'] });
      const d = baseData();
      d.users = [user('u4'), { ...user('u2'), role: 'Student' }, user('u1'), user('u5')]; // unsorted; u3 absent; u2 has a warning
      const r1 = reader(d, 2);
      const res = await runSync({ store, reader: r1, connectionId: 'sis', entities: ['users'] });
      assert.equal(res.status, 'succeeded');
      assert.deepEqual(r1.reads.map((x) => x.collection), ['users', 'users'], 'restarted once');
      const u = res.entities.users!;
      assert.equal(u.order, 'unsorted');
      assert.deepEqual([u.fetched, u.unchanged, u.updated, u.deletedByAbsence], [4, 4, 0, 1]);
      assert.equal(res.issues.byRule['enum-case'], 1, 'issues of the abandoned first read are not counted twice');
      assert.equal(await store.issues.count(res.runId), 1);
      assert.equal((await store.records.get('users', 'sis', 'u3'))?.status, 'tobedeleted');
      const r2 = reader(d, 2);
      const again = await runSync({ store, reader: r2, connectionId: 'sis', entities: ['users'] });
      assert.equal(r2.reads.length, 1, 'the hint skips the sorted attempt');
      assert.equal(again.entities.users?.unchanged, 4);
      await store.close();
    });

    it('adjacent duplicates in a sorted re-sync keep the first', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis', entities: ['users'] });
      const d = baseData();
      d.users.splice(2, 0, user('u2', { givenName: 'Dup' })); // u1 u2 | u2' u3 | u4 u5: the copy opens the next page
      const res = await runSync({ store, reader: reader(d), connectionId: 'sis', entities: ['users'] });
      assert.equal(res.entities.users?.duplicates, 1);
      assert.equal(res.entities.users?.updated, 0);
      assert.equal((await store.records.get('users', 'sis', 'u2'))?.record.givenName, 'Given');
      await store.close();
    });

    it('records with warnings are read again every run (their issues are reported each time)', async () => {
      const store = await newStore(bulk);
      const d = baseData();
      d.users[0] = user('u1', { role: 'Student' });
      const first = await runSync({ store, reader: reader(d), connectionId: 'sis', entities: ['users'] });
      const second = await runSync({ store, reader: reader(d), connectionId: 'sis', entities: ['users'] });
      assert.equal(first.issues.byRule['enum-case'], 1);
      assert.equal(second.issues.byRule['enum-case'], 1);
      assert.equal(second.entities.users?.unchanged, 5);
      await store.close();
    });

    it('a new codec version reads unchanged provider JSON again, and writes only what it changes', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis', entities: ['users'] });
      let reads = 0;
      const counting = {
        version: DEFAULT_CODEC.version,
        readEntity: (c: CollectionName, raw: unknown) => {
          reads++;
          return DEFAULT_CODEC.readEntity(c, raw);
        },
        canonicalJson: DEFAULT_CODEC.canonicalJson,
      };
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis', entities: ['users'], codec: counting });
      assert.equal(reads, 0, 'same version, same JSON: nothing read');
      const same = await runSync({ store, reader: reader(baseData()), connectionId: 'sis', entities: ['users'], codec: { ...counting, version: `${DEFAULT_CODEC.version}-next` } });
      assert.equal(reads, 5, 'new version: every record read again');
      assert.equal(same.entities.users?.unchanged, 5, 'same output: no writes');
      assert.equal(same.entities.users?.refreshed, 5, 'every fingerprint refreshed');
      const history = await store.db.selectFrom('changes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      const again = await runSync({ store, reader: reader(baseData()), connectionId: 'sis', entities: ['users'], codec: { ...counting, version: `${DEFAULT_CODEC.version}-next` } });
      assert.equal(reads, 5, 'the fingerprints were refreshed with the unchanged rows: nothing read the second time');
      assert.equal(again.entities.users?.unchanged, 5);
      const after = await store.db.selectFrom('changes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(history.n), 'a refreshed fingerprint is not a change');
      assert.equal((await store.records.get('users', 'sis', 'u1'))?.rowVersion, 1, 'nor a new row version');
      const upper = {
        version: `${DEFAULT_CODEC.version}-next2`,
        readEntity: (c: CollectionName, raw: unknown) => {
          const r = DEFAULT_CODEC.readEntity(c, raw);
          if (r.record && 'familyName' in r.record) r.record = { ...r.record, familyName: r.record.familyName.toUpperCase() };
          return r;
        },
        canonicalJson: DEFAULT_CODEC.canonicalJson,
      };
      const changed = await runSync({ store, reader: reader(baseData()), connectionId: 'sis', entities: ['users'], codec: upper });
      assert.equal(changed.entities.users?.updated, 5);
      assert.equal((await store.records.get('users', 'sis', 'u1'))?.record.familyName, 'FAMILY');
      await store.close();
    });

    it('a failure inside the apply transaction leaves the live tables untouched', async () => {
      const store = await newStore(bulk);
      await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
      const before = await versions(store, 'users');
      const d = baseData();
      d.users = [user('u1', { givenName: 'X' }), user('u2'), user('u9')]; // updates, creates and absences pending
      const finish = store.runs.finish.bind(store.runs);
      let calls = 0;
      store.runs.finish = async (...args: Parameters<typeof finish>) => {
        if (calls++ === 0) throw new Error('disk full (simulated) while finishing the run');
        return finish(...args);
      };
      await assert.rejects(runSync({ store, reader: reader(d), connectionId: 'sis' }), /disk full/);
      store.runs.finish = finish;
      assert.deepEqual(await versions(store, 'users'), before, 'no update, create or tombstone survived the rollback');
      const [last] = await store.runs.list({ connectionId: 'sis', limit: 1 });
      assert.equal(last?.status, 'failed');
      assert.equal(last?.error?.message, 'disk full (simulated) while finishing the run');
      assert.equal((await runSync({ store, reader: reader(baseData()), connectionId: 'sis' })).status, 'succeeded', 'the connection is free again');
      await store.close();
    });

    it('an aborted run applies nothing and ends failed', async () => {
      const store = await newStore(bulk);
      const ac = new AbortController();
      const res = await runSync({
        store,
        reader: reader(baseData()),
        connectionId: 'sis',
        signal: ac.signal,
        onProgress: (p) => {
          if (p.collection === 'classes') ac.abort();
        },
      });
      assert.equal(res.status, 'failed');
      assert.equal(res.error?.code, 'aborted');
      assert.equal(res.entities.orgs?.outcome, 'skipped', 'read completely but not applied');
      assert.equal(res.entities.enrollments?.outcome, 'skipped');
      assert.deepEqual((await store.records.countLive('sis')).orgs, { active: 0, deleted: 0 });
      assert.equal((await store.runs.get(res.runId))?.status, 'failed');
      await store.close();
    });
  });
}

describe('secondary index rebuild on large applies', () => {
  it('drops and rebuilds the indexes inside the apply, leaving the same definitions and correct rows', async () => {
    const store = await openStore({ url: ':memory:', indexRebuildMinWrites: 3 });
    await store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://x', authKind: 'none' });
    const defs = async () =>
      (await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and tbl_name = 'live_enrollments' order by name`.execute(store.db)).rows;
    const roots = async () =>
      (await sql<{ name: string; rootpage: number }>`select name, rootpage from sqlite_master where name in ('live_enrollments_class_id', 'live_enrollments_key') order by name`.execute(store.db)).rows;
    const byClass = async () =>
      (await sql<{ sourced_id: string }>`select sourced_id from live_enrollments where connection_id = 'sis' and class_id = 'k1' order by sourced_id`.execute(store.db)).rows.map((r) => r.sourced_id);
    const before = await defs();
    const rootsBefore = await roots();
    const res = await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
    assert.equal(res.entities.enrollments?.created, 4);
    assert.deepEqual(await defs(), before, 'same index set and definitions after the rebuild');
    const rootsAfter = await roots();
    assert.notEqual(rootsAfter[0]?.rootpage, rootsBefore[0]?.rootpage, 'class index was rebuilt (4 writes ≥ 3, ≥ table size 0)');
    assert.equal(rootsAfter[1]?.rootpage, rootsBefore[1]?.rootpage, 'the key index is never dropped');
    const plan = await sql<{ detail: string }>`explain query plan select sourced_id from live_enrollments where connection_id = 'sis' and class_id = 'k1'`.execute(store.db);
    assert.match(plan.rows.map((r) => r.detail).join(' '), /live_enrollments_class_id/);
    assert.deepEqual(await byClass(), ['e1', 'e2']);
    // A small write into a bigger table keeps the indexes as they are.
    const d = baseData();
    d.enrollments.push(enr('e5', 'u5', 'k1'));
    await runSync({ store, reader: reader(d), connectionId: 'sis' });
    assert.deepEqual(await roots(), rootsAfter, 'no rebuild for 1 write into 4 rows');
    assert.deepEqual(await byClass(), ['e1', 'e2', 'e5']);
    await store.close();
  });
});

forEachDialect(
  'secondary index rebuild on PostgreSQL',
  (d) => {
    d.it('rebuilds only when the live table is empty (DROP INDEX locks the table until commit)', async () => {
      // Without early inserts, whose rows are indexed as they go in (early-inserts.test.ts).
      const store = await d.open({ indexRebuildMinWrites: 3, earlyInserts: false });
      for (const id of ['sis', 'other']) await store.connections.create({ id, name: id, baseUrl: 'https://x', authKind: 'none' });
      const oid = async (): Promise<number> => Number((await sql<{ oid: number }>`select 'live_enrollments_class_id'::regclass::oid as oid`.execute(store.db)).rows[0]!.oid);
      const defs = async (): Promise<string[]> =>
        (await sql<{ indexdef: string }>`select indexdef from pg_indexes where tablename = 'live_enrollments' order by indexname`.execute(store.db)).rows.map((r) => r.indexdef);
      const before = { oid: await oid(), defs: await defs() };
      const res = await runSync({ store, reader: reader(baseData()), connectionId: 'sis' });
      assert.equal(res.entities.enrollments?.created, 4);
      const rebuilt = await oid();
      assert.notEqual(rebuilt, before.oid, 'an apply into the empty table rebuilt the class index');
      assert.deepEqual(await defs(), before.defs, 'same index definitions after the rebuild');
      // Another connection's first sync: its 4 writes are as many as the table holds, but the table is not empty.
      const other = await runSync({ store, reader: reader(baseData()), connectionId: 'other' });
      assert.equal(other.entities.enrollments?.created, 4);
      assert.equal(await oid(), rebuilt, 'no rebuild into a table that holds rows of another connection');
      const byClass = (await sql<{ sourced_id: string }>`select sourced_id from live_enrollments where connection_id = 'sis' and class_id = 'k1' order by sourced_id`.execute(store.db)).rows;
      assert.deepEqual(byClass.map((r) => r.sourced_id), ['e1', 'e2'], 'the rebuilt index answers');
    });
  },
  { dialects: ['postgres'] },
);

describe('full sync against a simulated district', () => {
  it('applies exactly the active records of District small', async () => {
    const { District } = await import('../simulate/district.ts');
    const { toWire } = await import('../oneroster/serialize.ts');
    const district = District.generate({ size: 'small', seed: 7 });
    const stats = district.stats();
    const all: CollectionName[] = ['orgs', 'academicSessions', 'courses', 'classes', 'users', 'demographics', 'enrollments'];
    const items: MemoryItems = {};
    for (const c of all) items[c] = [...district.records(c)].map((r) => toWire(c, r, 'https://sim.example/ims/oneroster/v1p1'));
    const store = await newStore('native');
    const res = await runSync({ store, reader: new MemoryPageReader(items, { pageSize: 500 }), connectionId: 'sis', entities: all });
    assert.equal(res.status, 'succeeded');
    for (const c of all) {
      const n = res.entities[c]!;
      assert.equal(n.fetched, stats.counts[c].active, `${c} fetched`);
      assert.equal(n.created, stats.counts[c].active, `${c} created`);
      assert.equal(n.invalid + n.duplicates, 0, `${c} clean`);
    }
    const live = await store.records.countLive('sis');
    for (const c of all) assert.equal(live[c].active, stats.counts[c].active, `${c} live`);
    const again = await runSync({ store, reader: new MemoryPageReader(items, { pageSize: 500 }), connectionId: 'sis', entities: all });
    for (const c of all) assert.equal(again.entities[c]!.unchanged, stats.counts[c].active, `${c} unchanged on re-sync`);
    await store.close();
  });
});
