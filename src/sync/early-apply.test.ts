/**
 * The early apply (PostgreSQL, `StagingArea.beginEarly`): the live rows of collections with no live
 * rows yet go into the apply's transaction while the read goes on. It must leave exactly what the
 * apply after the read leaves (rows, history, counts, issues), roll back a collection whose read
 * fails, apply nothing of an aborted run, and fall back to the apply after the read when its
 * session dies.
 */
import { strict as assert } from 'node:assert';
import { after } from 'node:test';
import { sql } from 'kysely';
import type { CollectionName } from '../oneroster/types.ts';
import { syncConnection, type ProviderAccess } from '../services/sync-service.ts';
import { startSimulator, type RunningSimulator } from '../simulate/server.ts';
import { liveTable } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { forEachDialect } from '../store/test-dialects.ts';
import { runSync } from './full-sync.ts';
import { MemoryPageReader, type MemoryItems } from './memory-page-reader.ts';

const COLLECTIONS: CollectionName[] = ['academicSessions', 'orgs', 'courses', 'users', 'classes', 'enrollments', 'demographics'];
const toggles = { contacts: true, demographics: true, userFlags: true };

/** Live rows (all stored columns but times), history and issues of a run. */
async function snapshot(store: Store, runId: number): Promise<unknown> {
  const tables: Record<string, unknown[]> = {};
  for (const c of COLLECTIONS) {
    tables[c] = await store.db
      .selectFrom(liveTable(c) as 'live_users')
      .select(['sourced_id', 'status', 'content_hash', 'data', 'raw', 'raw_fp', 'date_last_modified', 'first_seen_run', 'updated_run', 'row_version', 'deleted_run'])
      .select(sql<boolean>`deleted_at is not null`.as('tombstone'))
      .orderBy('sourced_id')
      .execute();
  }
  const history = await store.db.selectFrom('changes').select(['entity', 'sourced_id', 'kind', 'fields', 'applied']).orderBy('seq').execute();
  const issues = await store.db.selectFrom('run_issues').select(['seq', 'entity', 'sourced_id', 'severity', 'rule', 'field', 'message']).where('run_id', '=', runId).orderBy('seq').execute();
  return { tables, history, issues };
}

let sim: RunningSimulator | undefined;
const simAccess = async (): Promise<ProviderAccess> => {
  // Dirty: reference errors (rows dropped and rewritten after staging), invalid records, tombstones.
  sim ??= await startSimulator({ size: 'small', seed: 11, dirtyRate: 0.03, auth: 'none' });
  return { baseUrl: sim.baseUrl, auth: { kind: 'none' }, pageSize: 500 };
};
after(async () => {
  await sim?.close();
});

function recorder() {
  const lines: Array<{ level: string; msg: string; meta?: Record<string, unknown> }> = [];
  return {
    lines,
    logger: {
      info: (msg: string, meta?: Record<string, unknown>) => void lines.push({ level: 'info', msg, ...(meta ? { meta } : {}) }),
      warn: (msg: string, meta?: Record<string, unknown>) => void lines.push({ level: 'warn', msg, ...(meta ? { meta } : {}) }),
    },
  };
}

async function syncInto(store: Store, earlyApply: boolean, extra: { onProgress?: () => void } = {}) {
  const rec = recorder();
  const r = await syncConnection({ store, access: await simAccess(), connectionName: 'sim', toggles, optional: { courses: true }, earlyApply, logger: rec.logger, ...extra });
  const { durationMs: _d, timings: _t, runId, ...result } = r.result;
  return { result, sds: r.sds, rows: await snapshot(store, runId), log: rec.lines };
}

/** The session holding the oldest open transaction of the store's database: the early apply's. */
async function terminateOldestTransaction(store: Store): Promise<boolean> {
  const r = await sql<{ ok: boolean }>`select pg_terminate_backend(pid) as ok from pg_stat_activity
    where datname = current_database() and pid <> pg_backend_pid() and xact_start is not null
    order by xact_start limit 1`.execute(store.db);
  return r.rows[0]?.ok === true;
}

const T = '2025-01-01T00:00:00.000Z';
const ref = (sourcedId: string, type: string) => ({ sourcedId, type });
function memoryDistrict(): MemoryItems {
  return {
    orgs: [{ sourcedId: 's1', status: 'active', dateLastModified: T, name: 'School', type: 'school' }],
    academicSessions: [{ sourcedId: 'y1', status: 'active', dateLastModified: T, title: 'Year', startDate: '2024-08-01', endDate: '2025-07-01', type: 'schoolYear', schoolYear: '2025' }],
    classes: ['k1', 'k2'].map((id) => ({ sourcedId: id, status: 'active', dateLastModified: T, title: id, school: ref('s1', 'org'), terms: [ref('y1', 'academicSession')] })),
    users: ['u1', 'u2', 'u3'].map((id) => ({ sourcedId: id, status: 'active', dateLastModified: T, username: id, enabledUser: true, givenName: 'G', familyName: 'F', role: 'student', orgs: [ref('s1', 'org')] })),
    enrollments: ['e1', 'e2', 'e3', 'e4', 'e5', 'e6'].map((id, i) => ({
      sourcedId: id, status: 'active', dateLastModified: T, user: ref(`u${(i % 3) + 1}`, 'user'), class: ref(`k${(i % 2) + 1}`, 'class'), school: ref('s1', 'org'), role: 'student',
    })),
  };
}

async function liveCount(store: Store, c: CollectionName): Promise<number> {
  const r = await sql<{ n: number }>`select count(*) as n from ${sql.table(liveTable(c))}`.execute(store.db);
  return Number(r.rows[0]!.n);
}

forEachDialect(
  'early apply',
  ({ it, open }) => {
    it('a first sync with the early apply leaves exactly what the apply after the read leaves', async () => {
      const late = await syncInto(await open(), false);
      const early = await syncInto(await open(), true);
      const inserted = early.log.find((l) => l.msg === 'live rows inserted during the read');
      assert.ok(inserted && Number(inserted.meta?.['rows']) > 1000, `rows went in during the read: ${JSON.stringify(inserted)}`);
      assert.equal(late.log.find((l) => l.msg === 'live rows inserted during the read'), undefined);
      const errors = (early.result as { issues: { bySeverity: { error: number } } }).issues.bySeverity.error;
      assert.ok(errors > 0, 'the dirty district gives dropped records to compare');
      assert.deepEqual(early.result, late.result);
      assert.deepEqual(early.sds, late.sds);
      assert.deepEqual(early.rows, late.rows);
    });

    it('a session that dies mid-read leaves the rows to the apply after the read, with the same result', async () => {
      const late = await syncInto(await open(), false);
      const store = await open();
      let killed: Promise<boolean> | undefined;
      let pages = 0;
      const early = await syncInto(store, true, {
        onProgress: () => {
          if (++pages === 12) killed = terminateOldestTransaction(store);
        },
      });
      assert.equal(await killed, true, 'the early session was terminated');
      assert.ok(early.log.some((l) => l.level === 'warn' && l.msg === 'early apply given up; the rows were written after the read'), JSON.stringify(early.log.filter((l) => l.level === 'warn')));
      assert.deepEqual(early.result, late.result);
      assert.deepEqual(early.rows, late.rows);
    });

    it('a fresh collection whose read fails keeps no row of it; the others apply', async () => {
      const store = await open();
      await store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'none' });
      const failure = Object.assign(new Error('GET /enrollments returned 503 too many times'), { code: 'too_many_retries' });
      const rec = recorder();
      const res = await runSync({
        store,
        reader: new MemoryPageReader(memoryDistrict(), { pageSize: 2, failAfter: { enrollments: { pages: 2, error: failure } } }),
        connectionId: 'sis',
        logger: rec.logger,
      });
      assert.equal(res.status, 'partial');
      assert.equal(res.entities.enrollments?.outcome, 'failed');
      assert.equal(await liveCount(store, 'enrollments'), 0, 'the two pages that went in early are rolled back');
      assert.equal(await liveCount(store, 'users'), 3);
      assert.equal(await liveCount(store, 'classes'), 2);
      const rows = rec.lines.find((l) => l.msg === 'live rows inserted during the read');
      assert.equal(rows?.meta?.['rows'], 1 + 1 + 2 + 3, 'orgs, sessions, classes, users (enrollments rolled back)');
      const kinds = await store.db.selectFrom('changes').select(['entity']).execute();
      assert.equal(kinds.filter((k) => k.entity === 'enrollments').length, 0, 'no history for the failed collection');
      assert.equal(kinds.length, 7);
    });

    it('an aborted run applies nothing that went in early', async () => {
      const store = await open();
      await store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'none' });
      const abort = new AbortController();
      const res = await runSync({
        store,
        reader: new MemoryPageReader(memoryDistrict(), { pageSize: 1 }),
        connectionId: 'sis',
        signal: abort.signal,
        onProgress: (p) => {
          if (p.collection === 'users' && p.pages === 2) abort.abort();
        },
      });
      assert.equal(res.status, 'failed');
      assert.equal(res.error?.code, 'aborted');
      for (const c of ['orgs', 'academicSessions', 'classes', 'users', 'enrollments'] as const) assert.equal(await liveCount(store, c), 0, c);
      assert.equal(Number((await sql<{ n: number }>`select count(*) as n from changes`.execute(store.db)).rows[0]!.n), 0);
      // The transaction is gone: the next run of the connection applies.
      const again = await runSync({ store, reader: new MemoryPageReader(memoryDistrict(), { pageSize: 2 }), connectionId: 'sis' });
      assert.equal(again.status, 'succeeded');
      assert.equal(await liveCount(store, 'enrollments'), 6);
    });
  },
  { dialects: ['postgres'] },
);
