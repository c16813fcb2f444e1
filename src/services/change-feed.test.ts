import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeCursor, encodeCursor } from '../outputs/change-events.ts';
import { seedChanges, seedConnections, type SeedChange } from '../store/change-test-support.ts';
import { openStore, type Store } from '../store/store.ts';
import { InvalidCursorError, StaleCursorError, StoreEventSource, readChangeFeed } from './change-feed.ts';

describe('cursors', () => {
  it('round-trip and reject what is not ours', () => {
    for (const seq of [0, 1, 35, 36, 123_456_789, Number.MAX_SAFE_INTEGER]) assert.equal(decodeCursor(encodeCursor(seq)), seq);
    for (const bad of ['', '12', 'rs1.', 'rs1.-1', 'rs1.ABC', 'rs2.1', 'rs1.1.2', 'rs1.zzzzzzzzzzzz']) assert.equal(decodeCursor(bad), undefined, bad);
    assert.throws(() => encodeCursor(-1), RangeError);
  });
});

describe('change feed', () => {
  let store: Store;
  let seqs: number[];

  before(async () => {
    store = await openStore({ url: ':memory:' });
    await seedConnections(store, [{ id: 'c1' }]);
    // 30 enrollment changes, then 2 user changes: a users-only reader must skip a long stretch.
    const rows: SeedChange[] = [];
    for (let i = 0; i < 30; i++) rows.push({ sourcedId: `e${i}`, entity: 'enrollments' });
    rows.push({ sourcedId: 'u1', entity: 'users' }, { sourcedId: 'u2', entity: 'users' });
    seqs = await seedChanges(store, rows);
  });
  after(() => store.close());

  it('scans a bounded window: a filtered-out stretch yields empty pages that move the cursor on', async () => {
    const scope = { tenantId: 'default', entities: ['users'] };
    const p1 = await readChangeFeed(store, scope, { limit: 10, scanWindow: 8 });
    assert.deepEqual(p1.events, []);
    assert.equal(p1.hasMore, true, 'more history past the window');
    assert.equal(decodeCursor(p1.next), 8, 'next is the end of the scanned window');
    let cursor = p1.next;
    const got: string[] = [];
    for (let i = 0; i < 10; i++) {
      const p = await readChangeFeed(store, scope, { after: cursor, limit: 10, scanWindow: 8 });
      got.push(...p.events.map((e) => e.sourcedId));
      cursor = p.next;
      if (!p.hasMore) break;
    }
    assert.deepEqual(got, ['u1', 'u2']);
    assert.equal(decodeCursor(cursor), seqs[31]);
  });

  it('the webhook EventSource skips empty windows, so "no events" means caught up', async () => {
    const source = new StoreEventSource(store, { tenantId: 'default' }, 8);
    const users = await source.after(undefined, 100, { entities: ['users'] });
    assert.deepEqual(users.map((e) => e.sourcedId), ['u1', 'u2']);
    const all = await source.after(encodeCursor(seqs[3]!), 5);
    assert.deepEqual(all.map((e) => e.sourcedId), ['e4', 'e5', 'e6', 'e7', 'e8'], 'a full page stops at the limit');
    assert.deepEqual(await source.after(encodeCursor(seqs[31]!), 5), [], 'caught up');
  });

  it('throws typed errors for malformed and purged cursors', async () => {
    await assert.rejects(readChangeFeed(store, { tenantId: 'default' }, { after: 'bogus', limit: 5 }), InvalidCursorError);
    const s2 = await openStore({ url: ':memory:' });
    try {
      await seedConnections(s2, [{ id: 'c1' }]);
      await seedChanges(s2, [{ sourcedId: 'a', at: '2020-01-01T00:00:00.000Z' }, { sourcedId: 'b', at: '2020-01-02T00:00:00.000Z' }, { sourcedId: 'c' }]);
      await s2.changes.purge({ connectionId: 'c1', before: '2021-01-01T00:00:00.000Z' });
      const err = await readChangeFeed(s2, { tenantId: 'default' }, { after: encodeCursor(1), limit: 5 }).catch((e: unknown) => e);
      assert.ok(err instanceof StaleCursorError, 'stale');
      assert.equal(err.code, 'STALE_CURSOR', 'the code webhook delivery looks for');
      assert.equal(err.purgedThroughSeq, 2);
      assert.equal(err.restartCursor, encodeCursor(3));
      const ok = await readChangeFeed(s2, { tenantId: 'default' }, { after: encodeCursor(2), limit: 5 });
      assert.deepEqual(ok.events.map((e) => e.sourcedId), ['c'], 'a cursor at the watermark lost nothing');
    } finally {
      await s2.close();
    }
  });
});
