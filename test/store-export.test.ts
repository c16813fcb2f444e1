/**
 * Exports read from the store: a synced tiny district comes back out of StoreRosterReader in
 * sourcedId order, with every live row and none of the tombstones unless asked, and the OneRoster
 * CSV zip holds one row per live record.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore } from '../src/store/store.ts';
import { syncConnection } from '../src/services/sync-service.ts';
import { StoreRosterReader } from '../src/services/store-roster-reader.ts';
import { exportOneRosterCsv } from '../src/outputs/oneroster-csv.ts';
import { readZipEntries } from '../src/outputs/zip-entries.ts';

test('StoreRosterReader streams the synced roster; the OneRoster CSV export matches it', async (t) => {
  const sim = await startSimulator({ size: 'tiny', auth: 'none' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-export-'));
  const store = await openStore({ url: join(dir, 'store.db') });
  t.after(async () => {
    await store.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const { connection, result } = await syncConnection({ store, access: { baseUrl: sim.baseUrl, auth: { kind: 'none' } }, optional: { courses: true, demographics: true } });
  assert.equal(result.status, 'succeeded');
  const reader = new StoreRosterReader(store, connection.id);
  const stats = sim.district.stats();
  for (const c of ['orgs', 'users', 'enrollments'] as const) {
    const ids: string[] = [];
    for await (const batch of reader.rows(c, { batchSize: 7 })) {
      for (const row of batch) {
        assert.equal(row.deleted, false);
        assert.equal(row.modifiedAt, (await store.runs.get(result.runId))!.startedAt, 'modifiedAt is the writing run\'s start');
        ids.push(row.record.sourcedId);
      }
    }
    assert.equal(ids.length, stats.counts[c].active, `${c}: every live row`);
    assert.deepEqual(ids, [...ids].sort(), `${c}: sourcedId order across batches`);
  }
  const out = join(dir, 'or.zip');
  await exportOneRosterCsv(reader, { outFile: out });
  const entries = readZipEntries(readFileSync(out));
  const users = entries.find((e) => e.name === 'users.csv');
  assert.ok(users, 'users.csv in the zip');
  const lines = users.data.toString('utf8').trim().split(/\r?\n/);
  assert.equal(lines.length - 1, stats.counts.users.active, 'one CSV row per live user');
});
