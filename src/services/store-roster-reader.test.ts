import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { FULL_RECORDS } from '../oneroster/sample-records.ts';
import type { User } from '../oneroster/types.ts';
import { exportOneRosterCsv } from '../outputs/oneroster-csv.ts';
import { readZipEntries } from '../outputs/zip-entries.ts';
import { seedChanges, seedConnections } from '../store/change-test-support.ts';
import { openStore, type Store } from '../store/store.ts';
import { StoreRosterReader } from './store-roster-reader.ts';

/** Writes a live users row as the engine would leave it. */
async function liveUser(store: Store, id: string, givenName: string, updatedRun: number, deletedRun?: number): Promise<void> {
  const record: User = { ...FULL_RECORDS.users, sourcedId: id, givenName, status: deletedRun === undefined ? 'active' : 'tobedeleted' };
  await store.db
    .insertInto('live_users')
    .values({
      tenant_id: 'default', connection_id: 'c1', sourced_id: id, status: record.status!, date_last_modified: record.dateLastModified ?? null,
      content_hash: `h-${id}-${updatedRun}`, data: JSON.stringify(record), raw: null, raw_fp: null, first_seen_run: 1, updated_run: updatedRun,
      row_version: 1, deleted_at: deletedRun === undefined ? null : '2026-03-03T10:00:00.000Z', deleted_run: deletedRun ?? null,
      role: 'student', email: null, username: null, enabled_user: 1,
    })
    .execute();
}

describe('StoreRosterReader delta from the change history', () => {
  let store: Store;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'rostersync-delta-'));
    store = await openStore({ url: ':memory:' });
    await seedConnections(store, [{ id: 'c1' }]);
    for (const run of [1, 3, 4]) {
      await store.db.insertInto('runs').values({
        id: run, tenant_id: 'default', connection_id: 'c1', mode: 'full', status: 'succeeded', started_at: `2026-03-0${run}T10:00:00.000Z`,
        entities: '{}', requests: '{}', issues: '{}',
      }).execute();
    }
    await liveUser(store, 'u1', 'Una', 1); // unchanged since run 1
    await liveUser(store, 'u2', 'Ugo', 3); // updated in run 3
    await liveUser(store, 'u3', 'Ute', 3, 3); // deleted in run 3 (tombstone)
    await liveUser(store, 'u4', 'Uma', 4); // created in run 4
    await liveUser(store, 'u5', 'Uli', 3); // rewritten in run 3 without a recorded change
    await liveUser(store, 'u6', 'Ulf', 1); // only a held plan (applied = 0) touches it
    await seedChanges(store, [
      { sourcedId: 'u1', kind: 'created', runId: 1 },
      { sourcedId: 'u2', kind: 'created', runId: 1 },
      { sourcedId: 'u3', kind: 'created', runId: 1 },
      { sourcedId: 'u5', kind: 'created', runId: 1 },
      { sourcedId: 'u6', kind: 'created', runId: 1 },
      { sourcedId: 'u2', kind: 'updated', runId: 3, fields: { givenName: { before: 'Ada', after: 'Ugo' } } },
      { sourcedId: 'u3', kind: 'deleted', runId: 3, fields: { status: { before: 'active', after: 'tobedeleted' } } },
      { sourcedId: 'u2', entity: 'enrollments', kind: 'created', runId: 3 }, // same id, other entity: not a user change
      { sourcedId: 'u4', kind: 'created', runId: 4 },
      { sourcedId: 'u6', kind: 'deleted', runId: 5, applied: 0 },
    ]);
  });
  after(async () => {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  });

  const ids = async (since: number, includeDeleted = true, batchSize = 1) => {
    const out: string[] = [];
    for await (const batch of new StoreRosterReader(store, 'c1').rows('users', { changedSinceRun: since, includeDeleted, batchSize })) {
      for (const r of batch) out.push(`${r.record.sourcedId}${r.deleted ? ':deleted' : ''}`);
    }
    return out;
  };

  it('yields the rows changed by applied runs after N, tombstones included, in sourcedId order', async () => {
    assert.deepEqual(await ids(2), ['u2', 'u3:deleted', 'u4'], 'no u1 (older), no u5 (no recorded change), no u6 (plan only)');
    assert.deepEqual(await ids(2, false), ['u2', 'u4'], 'live rows only when deletions are not asked for');
    assert.deepEqual(await ids(3), ['u4']);
    assert.deepEqual(await ids(4), []);
    assert.deepEqual(await ids(0, true, 100), ['u1', 'u2', 'u3:deleted', 'u4', 'u5', 'u6'], 'since run 0: everything with history');
  });

  it('export oneroster-csv --since writes the changed users with the deletion as tobedeleted', async () => {
    const out = join(dir, 'delta.zip');
    const summary = await exportOneRosterCsv(new StoreRosterReader(store, 'c1'), { outFile: out, sinceRun: 2 });
    assert.equal(summary.mode, 'delta');
    assert.deepEqual(summary.files.users, { rows: 3, deleted: 1 });
    const zip = new Map(readZipEntries(await readFile(out)).map((e) => [e.name, e.data.toString('utf8')]));
    const users = parse(zip.get('users.csv')!, { columns: true }) as Array<Record<string, string>>;
    assert.deepEqual(users.map((u) => [u.sourcedId, u.status, u.givenName]), [['u2', 'active', 'Ugo'], ['u3', 'tobedeleted', 'Ute'], ['u4', 'active', 'Uma']]);
    assert.equal(users[0]!.dateLastModified, '2026-03-03T10:00:00.000Z', "our change time: the writing run's start");
    const manifest = new Map((parse(zip.get('manifest.csv')!) as string[][]).map((r) => [r[0], r[1]]));
    assert.equal(manifest.get('file.users'), 'delta');
    assert.equal(manifest.get('file.enrollments'), 'absent', 'no live enrollment rows changed');
  });
});
