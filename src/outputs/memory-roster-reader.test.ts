import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FULL_RECORDS } from '../oneroster/sample-records.ts';
import type { Org } from '../oneroster/types.ts';
import { District } from '../simulate/district.ts';
import { MemoryRosterReader } from './memory-roster-reader.ts';
import type { ExportRow, RosterReader, RowsOptions } from './roster-reader.ts';
import { isDeletedRow, rowModifiedAt } from './roster-reader.ts';

async function collect(reader: RosterReader, options?: RowsOptions): Promise<{ batches: number[]; rows: Array<ExportRow<Org>> }> {
  const batches: number[] = [];
  const rows: Array<ExportRow<Org>> = [];
  for await (const batch of reader.rows('orgs', options)) {
    batches.push(batch.length);
    rows.push(...batch);
  }
  return { batches, rows };
}

const org = (sourcedId: string): Org => ({ ...FULL_RECORDS.orgs, sourcedId });

describe('MemoryRosterReader', () => {
  const reader = new MemoryRosterReader({
    orgs: [
      { record: org('b'), deleted: false, run: 1 },
      { record: org('a'), deleted: false, run: 2, modifiedAt: '2026-05-05T00:00:00.000Z' },
      { record: org('d'), deleted: true, run: 3 },
      { record: org('c'), deleted: false },
      { record: org('B'), deleted: false, run: 3 },
    ],
  }, { batchSize: 2 });

  it('yields live rows in sourcedId order, in batches', async () => {
    const { batches, rows } = await collect(reader);
    assert.deepEqual(rows.map((r) => r.record.sourcedId), ['B', 'a', 'b', 'c'], 'code-unit order, as SQL BINARY collation');
    assert.deepEqual(batches, [2, 2]);
    assert.ok(rows.every((r) => !('run' in r)), 'only the port shape is handed out');
  });

  it('filters by run and includes tombstones when asked', async () => {
    const { rows } = await collect(reader, { includeDeleted: true, changedSinceRun: 1, batchSize: 10 });
    assert.deepEqual(rows.map((r) => [r.record.sourcedId, r.deleted]), [['B', false], ['a', false], ['d', true]]);
    assert.equal(rowModifiedAt(rows[1]!), '2026-05-05T00:00:00.000Z');
    assert.equal(rowModifiedAt(rows[0]!), FULL_RECORDS.orgs.dateLastModified);
  });

  it('streams a source that is already in order, filtering the same way', async () => {
    const ordered = new MemoryRosterReader({
      orgs: [
        { record: org('a'), deleted: false, run: 1 },
        { record: org('b'), deleted: true, run: 2 },
        { record: org('c'), deleted: false, run: 2 },
        { record: org('d'), deleted: false, run: 3 },
      ],
    }, { batchSize: 2 });
    assert.deepEqual((await collect(ordered)).rows.map((r) => r.record.sourcedId), ['a', 'c', 'd']);
    const delta = await collect(ordered, { includeDeleted: true, changedSinceRun: 1 });
    assert.deepEqual(delta.rows.map((r) => r.record.sourcedId), ['b', 'c', 'd']);
    assert.deepEqual(delta.batches, [2, 1]);
  });

  it('treats source-marked tobedeleted records as deletions', () => {
    assert.equal(isDeletedRow({ record: { status: 'tobedeleted' }, deleted: false }), true);
    assert.equal(isDeletedRow({ record: { status: 'active' }, deleted: false }), false);
  });

  it('reads a District as it is now, honouring the abort signal', async () => {
    const district = District.generate({ size: 'tiny', seed: 3 });
    const r = MemoryRosterReader.fromSource(district, { batchSize: 7 });
    let n = 0;
    let last = '';
    for await (const batch of r.rows('users')) {
      for (const row of batch) {
        assert.ok(row.record.sourcedId > last, 'ascending');
        last = row.record.sourcedId;
        n++;
      }
    }
    assert.equal(n, [...district.records('users')].filter((u) => u.status === 'active').length);
    const ac = new AbortController();
    ac.abort(new Error('enough'));
    await assert.rejects(collect(MemoryRosterReader.fromSource(district), { signal: ac.signal }), /enough/);
  });
});
