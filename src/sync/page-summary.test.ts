import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { sql } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import type { Store } from '../store/store.ts';
import { forEachDialect } from '../store/test-dialects.ts';
import { runSync, type RunResult } from './full-sync.ts';
import { MemoryPageReader, type MemoryItems } from './memory-page-reader.ts';
import { ORDER_UNSAFE, PageSummaryBuilder, matchesLive, pairsDigest } from './page-summary.ts';
import { DEFAULT_CODEC, type RecordCodec } from './record-codec.ts';

const T = '2025-01-01T00:00:00.000Z';
const ref = (sourcedId: string, type: string) => ({ sourcedId, type });
const org = (id: string) => ({ sourcedId: id, status: 'active', dateLastModified: T, name: `School ${id}`, type: 'school' });
const user = (id: string, extra: Record<string, unknown> = {}) => ({
  sourcedId: id, status: 'active', dateLastModified: T, username: id, enabledUser: true, givenName: 'Given', familyName: 'Family',
  role: 'student', orgs: [ref('s1', 'org')], ...extra,
});

/** Users u1..u5, two per page: [u1 u2] [u3 u4] [u5]. */
function data(users = ['u1', 'u2', 'u3', 'u4', 'u5'].map((id) => user(id))): MemoryItems {
  return { orgs: [org('s1')], users };
}

const COLLECTIONS: CollectionName[] = ['orgs', 'users'];

async function sync(store: Store, items: MemoryItems, extra: { codec?: RecordCodec; mode?: 'full' | 'delta' } = {}): Promise<RunResult> {
  const reader = new MemoryPageReader(items, { pageSize: 2, viaJson: true });
  return runSync({ store, reader, connectionId: 'sis', entities: COLLECTIONS, ...extra });
}

async function liveVersions(store: Store): Promise<string[]> {
  const rows = await store.records.list('users', 'sis', { includeDeleted: true });
  return rows.map((r) => `${r.sourcedId}:${r.rowVersion}/${r.updatedRun}/${r.status}`);
}

describe('page summaries (pure parts)', () => {
  it('a builder summarises only strictly ascending, order-safe ids, and nothing once a record is rejected', () => {
    const ok = new PageSummaryBuilder();
    ok.add('a', 'F1');
    ok.add('b', 'F2');
    assert.deepEqual(ok.summary('H', 2), { hash: 'H', count: 2, firstId: 'a', lastId: 'b', agg: pairsDigest(['a', 'b'], ['F1', 'F2']) });
    assert.equal(ok.summary('H', 3), undefined, 'a page with items it did not add (count differs)');
    const down = new PageSummaryBuilder();
    down.add('b', 'F');
    down.add('a', 'F');
    assert.equal(down.summary('H', 2), undefined, 'descending');
    const same = new PageSummaryBuilder();
    same.add('a', 'F');
    same.add('a', 'F');
    assert.equal(same.summary('H', 2), undefined, 'repeated id');
    const unsafe = new PageSummaryBuilder();
    unsafe.add('a\uE000', 'F');
    assert.ok(ORDER_UNSAFE.test('a\uE000'));
    assert.equal(unsafe.summary('H', 1), undefined, 'an id whose JS order may differ from the store order');
    const rejected = new PageSummaryBuilder();
    rejected.add('a', 'F');
    rejected.reject();
    rejected.add('b', 'F');
    assert.equal(rejected.summary('H', 2), undefined);
    assert.equal(new PageSummaryBuilder().summary('H', 0), undefined, 'an empty page');
  });

  it('the digest is unambiguous and order-sensitive', () => {
    assert.notEqual(pairsDigest(['a|b'], ['c']), pairsDigest(['a'], ['b|c']));
    assert.notEqual(pairsDigest(['1:a'], ['F']), pairsDigest(['1'], [':aF']));
    assert.notEqual(pairsDigest(['a', 'b'], ['F', 'G']), pairsDigest(['b', 'a'], ['G', 'F']));
    assert.notEqual(pairsDigest(['a'], [null]), pairsDigest(['a'], ['']));
  });

  it('the live range matches only the same ids with the same fingerprints; tombstones are passed over', () => {
    const s = { hash: 'H', count: 2, firstId: 'a', lastId: 'c', agg: pairsDigest(['a', 'c'], ['F1', 'F3']) };
    const row = (fp: string | null, deleted = false) => ({ fp, deleted });
    assert.ok(matchesLive(s, [['a', row('F1')], ['c', row('F3')]]));
    assert.ok(matchesLive(s, [['a', row('F1')], ['b', row('F2', true)], ['c', row('F3')]]), 'a tombstone between them');
    assert.ok(!matchesLive(s, [['a', row('F1')], ['b', row('F2')], ['c', row('F3')]]), 'an extra live row the page would pass over');
    assert.ok(!matchesLive(s, [['a', row('F1')], ['c', row('F9')]]), 'another fingerprint');
    assert.ok(!matchesLive(s, [['a', row('F1')], ['c', row(null)]]), 'a row stored without a fingerprint (it had issues)');
    assert.ok(!matchesLive(s, [['a', row('F1')], ['c', row('F3', true)]]), 'a record of the page was deleted');
    assert.ok(!matchesLive(s, [['a', row('F1')]]), 'a record of the page is missing');
  });
});

forEachDialect('page summaries in a sync', (d) => {
  const open = async (): Promise<Store> => {
    const store = await d.open();
    await store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'none' });
    return store;
  };

  d.it('a no-change re-sync recognises every page and writes nothing', async () => {
    const store = await open();
    const first = await sync(store, data());
    assert.equal(first.status, 'succeeded');
    assert.equal(first.entities.users?.knownPages, undefined, 'a first sync has nothing to recognise');
    assert.equal((await store.pageSummaries.load('sis', 'users')).size, 3);
    const before = await liveVersions(store);
    const again = await sync(store, data());
    assert.equal(again.status, 'succeeded');
    for (const c of COLLECTIONS) {
      const n = again.entities[c]!;
      assert.equal(n.knownPages, n.pages, `${c}: every page recognised`);
      assert.equal(n.unchanged, n.fetched);
      assert.equal(n.created + n.updated + n.deleted + n.restored, 0);
    }
    assert.equal(again.entities.users?.fetched, 5);
    assert.deepEqual(await liveVersions(store), before, 'no row written');
    assert.equal((await store.pageSummaries.load('sis', 'users')).size, 3, 'the recognised pages keep their summaries');
  });

  d.it('a changed record: its page is read and updated, and recognised again on the next run', async () => {
    const store = await open();
    await sync(store, data());
    const changed = data(['u1', 'u2', 'u3', 'u4', 'u5'].map((id) => user(id, id === 'u3' ? { givenName: 'Renamed' } : {})));
    const r2 = await sync(store, changed);
    assert.equal(r2.entities.users?.knownPages, 2);
    assert.equal(r2.entities.users?.updated, 1);
    assert.equal(r2.entities.users?.unchanged, 4);
    assert.equal((await store.records.get('users', 'sis', 'u3'))?.record.givenName, 'Renamed');
    const r3 = await sync(store, changed);
    assert.equal(r3.entities.users?.knownPages, 3);
    assert.equal(r3.entities.users?.updated, 0);
  });

  d.it('a live row changed behind a summary is not skipped over: a tombstoned record on a known page is restored', async () => {
    const store = await open();
    const first = await sync(store, data());
    await sql`update live_users set status = 'tobedeleted', deleted_at = ${T}, deleted_run = ${first.runId} where sourced_id = 'u3'`.execute(store.db);
    const r2 = await sync(store, data());
    assert.equal(r2.entities.users?.knownPages, 2, 'the page holding u3 was read');
    assert.equal(r2.entities.users?.restored, 1);
    assert.equal((await store.records.get('users', 'sis', 'u3'))?.status, 'active');
  });

  d.it('a live row inside a known page range that the provider no longer sends is found absent', async () => {
    const store = await open();
    await sync(store, data());
    // A delta brings u2a (between u2 and u3); delta reads keep the summaries as they were.
    const later = '2030-01-01T00:00:00.000Z';
    const delta = await sync(store, data([...['u1', 'u2'].map((id) => user(id)), user('u2a', { dateLastModified: later }), ...['u3', 'u4', 'u5'].map((id) => user(id))]), { mode: 'delta' });
    assert.equal(delta.mode, 'delta');
    assert.equal(delta.entities.users?.created, 1);
    assert.equal(delta.entities.users?.knownPages, undefined, 'a delta recognises no page');
    // The full read gets the original pages again: [u1 u2] and [u5] are recognised, [u3 u4] now covers u2a.
    const full = await sync(store, data());
    assert.equal(full.entities.users?.knownPages, 2);
    assert.equal(full.entities.users?.deletedByAbsence, 1);
    assert.equal((await store.records.get('users', 'sis', 'u2a'))?.status, 'tobedeleted');
  });

  d.it('a page with an invalid record is never summarised, so its issue is reported on every run', async () => {
    const store = await open();
    const items = data(['u1', 'u2', 'u3', 'u4', 'u5'].map((id) => user(id, id === 'u3' ? { role: 'wizard' } : {})));
    const first = await sync(store, items);
    assert.equal(first.entities.users?.invalid, 1);
    assert.equal((await store.pageSummaries.load('sis', 'users')).size, 2);
    const again = await sync(store, items);
    assert.equal(again.entities.users?.knownPages, 2);
    assert.equal(again.entities.users?.invalid, 1, 'still reported');
    assert.equal(again.issues.bySeverity.error, first.issues.bySeverity.error);
  });

  d.it('another codec version recognises nothing (its salt differs)', async () => {
    const store = await open();
    await sync(store, data());
    const other = await sync(store, data(), { codec: { ...DEFAULT_CODEC, version: 'reader-test' } });
    assert.equal(other.entities.users?.knownPages, undefined);
    assert.equal(other.entities.users?.unchanged, 5);
  });

  d.it('a dry run and a held run store no summaries; deleting the connection removes them', async () => {
    const store = await open();
    const reader = new MemoryPageReader(data(), { pageSize: 2, viaJson: true });
    const dry = await runSync({ store, reader, connectionId: 'sis', entities: COLLECTIONS, dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.equal((await store.pageSummaries.load('sis', 'users')).size, 0);
    await sync(store, data());
    assert.equal((await store.pageSummaries.load('sis', 'users')).size, 3);
    assert.ok(await store.connections.delete('sis'));
    const left = await sql<{ n: number }>`select count(*) as n from page_summaries`.execute(store.db);
    assert.equal(Number(left.rows[0]!.n), 0);
  });
});
