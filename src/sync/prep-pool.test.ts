/**
 * Pages prepared in worker threads (prep-pool.ts) must give exactly what the sync's own thread
 * gives: the same live rows, counts, issues and SDS counters, the same envelope errors, and the
 * same result when a worker dies mid-read.
 */
import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { syncConnection, type ProviderAccess } from '../services/sync-service.ts';
import { startSimulator, type RunningSimulator } from '../simulate/server.ts';
import { SourceError } from '../source/errors.ts';
import { parseEnvelope } from '../source/http-client.ts';
import { openStore, type Store } from '../store/store.ts';
import { forEachDialect } from '../store/test-dialects.ts';
import { liveTable } from '../store/schema.ts';
import type { CollectionName } from '../oneroster/types.ts';
import { PrepPool, defaultPrepThreads } from './prep-pool.ts';
import { DEFAULT_CODEC, addCounters, takeCounters } from './record-codec.ts';

const COLLECTIONS: CollectionName[] = ['academicSessions', 'orgs', 'courses', 'users', 'classes', 'enrollments', 'demographics'];
const toggles = { contacts: true, demographics: true, userFlags: true };

/** Everything a sync leaves that could differ: live rows, issues, and the result's counts. */
async function snapshot(store: Store, runId: number): Promise<unknown> {
  const tables: Record<string, unknown[]> = {};
  for (const c of COLLECTIONS) {
    tables[c] = await store.db
      .selectFrom(liveTable(c) as 'live_users')
      .select(['sourced_id', 'status', 'content_hash', 'data', 'raw', 'raw_fp', 'date_last_modified'])
      .orderBy('sourced_id')
      .execute();
  }
  const issues = await store.db
    .selectFrom('run_issues')
    .select(['seq', 'entity', 'sourced_id', 'severity', 'rule', 'field', 'message'])
    .where('run_id', '=', runId)
    .orderBy('seq')
    .execute();
  return { tables, issues };
}

/** A dirty `small` district (issues, reference errors and SDS counters to compare), served once for the file. */
let sim: RunningSimulator | undefined;
const simAccess = async (): Promise<ProviderAccess> => {
  sim ??= await startSimulator({ size: 'small', seed: 7, dirtyRate: 0.03, auth: 'none' });
  return { baseUrl: sim.baseUrl, auth: { kind: 'none' }, pageSize: 500 };
};
after(async () => {
  await sim?.close();
});

const warnings: Array<{ msg: string; meta?: Record<string, unknown> }> = [];
const logger = { info: () => {}, warn: (msg: string, meta?: Record<string, unknown>) => void warnings.push({ msg, ...(meta ? { meta } : {}) }) };

/** Syncs the simulator into `store` and returns what could differ between the two paths. */
async function syncInto(store: Store, prepPool: PrepPool | null) {
  const r = await syncConnection({ store, access: await simAccess(), connectionName: 'sim', toggles, optional: { courses: true }, prepPool, logger });
  const { durationMs: _d, timings: _t, runId, ...result } = r.result;
  return { result, sds: r.sds, rows: await snapshot(store, runId) };
}

forEachDialect('page preparation in worker threads', ({ it, open }) => {
  it('a first sync prepared in a worker equals one prepared on the sync thread', async () => {
    const pool = new PrepPool({ threads: 1, minBytes: 0 });
    try {
      const here = await syncInto(await open(), null);
      const there = await syncInto(await open(), pool);
      assert.ok(pool.counts.pages > 10, `pages prepared by the worker: ${pool.counts.pages}`);
      assert.equal(pool.counts.fallbacks, 0);
      const errors = (here.result as { issues: { bySeverity: { error: number } } }).issues.bySeverity.error;
      assert.ok(errors > 0, 'the dirty district gives errors to compare');
      assert.deepEqual(there.result, here.result);
      assert.deepEqual(there.sds, here.sds);
      assert.deepEqual(there.rows, here.rows);
      await pool.close();
      assert.equal(pool.counts.deaths, 0, 'stopping the pool is not a death');
    } finally {
      await pool.close();
    }
  });
});

describe('a dying page preparation thread', () => {
  it('leaves its pages to the sync thread, with the same result, and is logged', async () => {
    // 2 MiB cannot even load the modules: every worker dies, each page falls back, and after
    // three deaths the pool stops offloading.
    const pool = new PrepPool({ threads: 1, minBytes: 0, heapMiB: 2 });
    const stores: Store[] = [];
    try {
      for (let i = 0; i < 2; i++) stores.push(await openStore({ url: ':memory:' }));
      const here = await syncInto(stores[0]!, null);
      warnings.length = 0;
      const there = await syncInto(stores[1]!, pool);
      assert.equal(pool.counts.pages, 0);
      assert.ok(pool.counts.deaths >= 3, `deaths ${pool.counts.deaths}`);
      assert.ok(pool.counts.fallbacks >= 1, `fallbacks ${pool.counts.fallbacks}`);
      // Each fallback is logged for the admin, with the collection and the thread's error (no record data).
      const logged = warnings.filter((w) => w.msg.startsWith('page preparation thread failed'));
      assert.equal(logged.length, pool.counts.fallbacks);
      assert.ok(logged.every((w) => typeof w.meta?.['collection'] === 'string' && typeof w.meta?.['reason'] === 'string'), JSON.stringify(logged[0]));
      assert.deepEqual(there.result, here.result);
      assert.deepEqual(there.sds, here.sds);
      assert.deepEqual(there.rows, here.rows);
    } finally {
      await pool.close();
      for (const s of stores) await s.close();
    }
  });
});

describe('prep pool envelope errors', () => {
  const res = { status: 200, headers: { 'content-type': 'text/html' }, label: '/users' };
  for (const [name, body] of [
    ['no wrapper key', '{"people": []}'],
    ['not JSON', '<html>login</html>'],
    ['wrapper is not an array', '{"users": {"sourcedId": "u1"}}'],
  ] as const) {
    it(`${name}: the worker rejects with parseEnvelope's own error`, async () => {
      const pool = new PrepPool({ threads: 1, minBytes: 0 });
      try {
        const offload = pool.offload('users', DEFAULT_CODEC, { eager: true })!;
        const raw = Buffer.from(body);
        let expected: unknown;
        try {
          parseEnvelope(raw, res, { expectKey: 'users', expectShape: 'array' });
        } catch (err) {
          expected = err;
        }
        assert.ok(expected instanceof SourceError);
        await assert.rejects(offload.parse(raw, res), (err: unknown) => {
          assert.ok(err instanceof SourceError);
          assert.equal(err.code, expected.code);
          assert.equal(err.message, expected.message);
          assert.equal(err.status, 200);
          assert.equal(err.path, '/users');
          return true;
        });
        offload.close();
      } finally {
        await pool.close();
      }
    });
  }

  it('a codec without a worker recipe, or no threads, is not offloaded', () => {
    const pool = new PrepPool({ threads: 1, minBytes: 0 });
    const { worker: _w, ...plain } = DEFAULT_CODEC;
    assert.equal(pool.offload('users', plain, { eager: true }), undefined);
    assert.equal(new PrepPool({ threads: 0, minBytes: 0 }).offload('users', DEFAULT_CODEC, { eager: true }), undefined);
    // A reference check whose sets are not at hand stays on the sync's thread.
    assert.equal(pool.offload('enrollments', DEFAULT_CODEC, { eager: true, cross: { targets: new Set(['users'] as const), has: () => true } }), undefined);
    const small = pool.offload('users', DEFAULT_CODEC, { eager: true });
    assert.ok(small);
    assert.equal(new PrepPool({ threads: 1, minBytes: 1000 }).offload('users', DEFAULT_CODEC, { eager: true })!.wants(999), false);
  });
});

describe('codec counters', () => {
  it('take zeroes what it copies; add sums nested numbers', () => {
    const worker = { a: 2, nested: { b: 3, c: 0 } };
    const taken = takeCounters(worker);
    assert.deepEqual(taken, { a: 2, nested: { b: 3, c: 0 } });
    assert.deepEqual(worker, { a: 0, nested: { b: 0, c: 0 } });
    const main = { a: 1, nested: { b: 1, c: 5 } };
    addCounters(main, taken);
    assert.deepEqual(main, { a: 3, nested: { b: 4, c: 5 } });
  });
});

describe('ROSTERSYNC_PREP_THREADS', () => {
  it('is off unless set; a bad value is refused with the variable named', () => {
    assert.equal(defaultPrepThreads({}), 0);
    assert.equal(defaultPrepThreads({ ROSTERSYNC_PREP_THREADS: '' }), 0);
    assert.equal(defaultPrepThreads({ ROSTERSYNC_PREP_THREADS: '2' }), 2);
    for (const bad of ['-1', '1.5', 'many', '17']) assert.throws(() => defaultPrepThreads({ ROSTERSYNC_PREP_THREADS: bad }), /ROSTERSYNC_PREP_THREADS must be an integer from 0 to 16/);
  });
});
