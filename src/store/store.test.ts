import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { Migrator, sql } from 'kysely';
import { COLLECTIONS } from '../oneroster/types.ts';
import { ENTITY_COLUMNS, SECONDARY_INDEXES } from './entity-columns.ts';
import { isStoreError } from './errors.ts';
import { InCodeMigrationProvider } from './migrations.ts';
import { liveTable } from './schema.ts';
import { isPostgresUrl, openStore, SQLITE_PAGE_SIZE, type Store } from './store.ts';
import { forEachDialect, PG_TEST_URL } from './test-dialects.ts';

const KEY = Buffer.alloc(32, 7).toString('hex');
const NO_ISSUES = { bySeverity: { error: 0, warning: 0 }, byRule: {}, stored: 0 };

/** Column names of a table, on either dialect. */
async function columnsOf(s: Store, table: string): Promise<Set<string>> {
  const rows =
    s.dialect === 'postgres'
      ? await sql<{ name: string }>`select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ${table}`.execute(s.db)
      : await sql<{ name: string }>`select name from pragma_table_info(${table})`.execute(s.db);
  return new Set(rows.rows.map((r) => r.name));
}

/** Index name → definition (CREATE INDEX text) of a table, on either dialect, without constraint-backed indexes. */
async function indexesOf(s: Store, table: string): Promise<Map<string, string>> {
  const rows =
    s.dialect === 'postgres'
      ? await sql<{ name: string; def: string }>`select i.indexname as name, i.indexdef as def from pg_indexes i
          where i.schemaname = current_schema() and i.tablename = ${table}
          and not exists (select 1 from pg_constraint c where c.conname = i.indexname)`.execute(s.db)
      : await sql<{ name: string; def: string }>`select name, sql as def from sqlite_master where type = 'index' and tbl_name = ${table} and sql is not null`.execute(s.db);
  return new Map(rows.rows.map((r) => [r.name, r.def]));
}

/** A live org row with every required column (for tests that write live rows directly). */
function liveOrg(connectionId: string, sourcedId: string, deleted = false) {
  return {
    tenant_id: 'default',
    connection_id: connectionId,
    sourced_id: sourcedId,
    status: deleted ? 'tobedeleted' : 'active',
    date_last_modified: null,
    content_hash: 'h',
    data: JSON.stringify({ sourcedId, status: 'active', name: 'n', type: 'school' }),
    raw: null,
    raw_fp: null,
    first_seen_run: 1,
    updated_run: 1,
    row_version: 1,
    deleted_at: deleted ? '2025-01-01T00:00:00.000Z' : null,
    deleted_run: deleted ? 1 : null,
    type: 'school',
    identifier: null,
    parent_id: null,
  };
}

forEachDialect('openStore and migrations', ({ it, open, freshUrl, openAt, dialect }) => {
  it('migrates a new database once and is idempotent on reopen', async () => {
    const url = await freshUrl();
    const a = await openAt(url);
    assert.equal(a.dialect, dialect);
    const again = await a.migrate();
    assert.deepEqual(again.results, [], 'second migrate applies nothing');
    const tenants = await a.tenants.list();
    assert.deepEqual(tenants.map((t) => t.id), ['default']);
    await a.close();
    await a.close(); // idempotent
    const b = await openAt(url);
    assert.deepEqual((await b.migrate()).results, []);
    assert.equal((await b.tenants.list()).length, 1, 'default tenant not inserted twice');
    if (dialect === 'sqlite') {
      const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(b.db);
      assert.equal(mode.rows[0]?.journal_mode, 'wal');
      const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(b.db);
      assert.equal(fk.rows[0]?.foreign_keys, 1);
    }
  });

  it('creates every live table with the columns entity-columns.ts writes', async () => {
    const s = await open();
    for (const c of COLLECTIONS) {
      const names = await columnsOf(s, liveTable(c));
      for (const col of ENTITY_COLUMNS[c]) assert.ok(names.has(col.name), `${liveTable(c)} lacks ${col.name}: add a migration`);
      for (const common of ['tenant_id', 'connection_id', 'sourced_id', 'content_hash', 'data', 'raw', 'updated_run', 'deleted_at']) {
        assert.ok(names.has(common), `${liveTable(c)}.${common}`);
      }
    }
  });

  it('creates exactly the key, covering, tombstone and SECONDARY_INDEXES indexes on live tables', async () => {
    const s = await open();
    for (const c of COLLECTIONS) {
      const t = liveTable(c);
      const idx = await indexesOf(s, t);
      const expected = [`${t}_fp`, `${t}_key`, `${t}_tombstones`, ...(SECONDARY_INDEXES[c] ?? []).map((i) => i.name)].sort();
      assert.deepEqual([...idx.keys()].sort(), expected, t);
      assert.match(idx.get(`${t}_tombstones`) ?? '', /deleted_at"? is not null/i, `${t}_tombstones is partial over tombstones`);
      assert.match(idx.get(`${t}_key`) ?? '', /UNIQUE/i, `${t}_key is unique`);
      for (const i of SECONDARY_INDEXES[c] ?? []) {
        // SQLite keeps the builder's quoting, PostgreSQL prints bare identifiers.
        assert.match(idx.get(i.name) ?? '', new RegExp(`\\("?connection_id"?, "?${i.column}"?\\)`), `${i.name} columns`);
      }
    }
  });

  it('keeps the partial unique index of running runs', async () => {
    const s = await open();
    const def = (await indexesOf(s, 'runs')).get('runs_one_running_per_connection') ?? '';
    assert.match(def, /UNIQUE/i, 'unique');
    assert.match(def, /status.*=\s*'running'/i, `partial on status = running: ${def}`);
  });

  it('returns numbers for ids, counts and bigint sequences (pg parses int8 as a string by default)', async () => {
    const s = await open();
    await s.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
    const run = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 't' });
    assert.equal(typeof run.id, 'number', 'run id');
    await s.db.insertInto('live_orgs').values([liveOrg('one', 'a'), liveOrg('one', 'b', true)]).execute();
    const counts = await s.records.countLive('one');
    assert.deepEqual(counts.orgs, { active: 1, deleted: 1 });
    assert.equal(typeof counts.orgs.active, 'number', 'count');
    const ins = await s.db
      .insertInto('changes')
      .values({ tenant_id: 'default', connection_id: 'one', run_id: run.id, entity: 'orgs', sourced_id: 'a', kind: 'created', fields: null, at: 'now' })
      .returning('seq')
      .executeTakeFirstOrThrow();
    assert.equal(typeof ins.seq, 'number', `changes.seq (bigserial on PostgreSQL) is ${typeof ins.seq}`);
    const agg = await s.db.selectFrom('changes').select((eb) => [eb.fn.countAll().as('n'), eb.fn.max('seq').as('hi')]).executeTakeFirstOrThrow();
    assert.deepEqual([agg.n, agg.hi], [1, ins.seq], 'count(*) and max(bigint) are numbers');
    const rec = await s.records.get('orgs', 'one', 'b');
    assert.deepEqual([rec?.rowVersion, rec?.deletedRun, rec?.firstSeenRun], [1, 1, 1]);
  });
});

describe('openStore dialect selection and failures', () => {
  it('takes postgres:// and postgresql:// URLs as PostgreSQL, anything else as a SQLite path', () => {
    assert.ok(isPostgresUrl('postgres://u@h/db'), 'postgres://');
    assert.ok(isPostgresUrl('postgresql://u@h:5433/db?sslmode=require'), 'postgresql://');
    assert.ok(isPostgresUrl('POSTGRES://u@h/db'), 'case-insensitive scheme');
    assert.equal(isPostgresUrl('./rostersync.db'), false);
    assert.equal(isPostgresUrl(':memory:'), false);
    assert.equal(isPostgresUrl('file:/tmp/postgres.db'), false);
  });

  it('reports an unreachable PostgreSQL server as database_unavailable without echoing the password', async () => {
    await assert.rejects(openStore({ url: 'postgres://someone:hunter2-secret@127.0.0.1:1/rostersync' }), (e) => {
      assert.ok(isStoreError(e, 'database_unavailable'), `code: ${String((e as Error).message)}`);
      assert.match(e.message, /127\.0\.0\.1:1\/rostersync/);
      assert.equal(e.message.includes('hunter2'), false, 'password not in the message');
      return true;
    });
  });

  it('pins the SQLite DDL of migrations 0001-0003 byte for byte (applied files are never re-migrated)', async () => {
    const s = await openStore({ url: ':memory:', migrate: false });
    const m = new Migrator({ db: s.db, provider: new InCodeMigrationProvider('sqlite') });
    const r = await m.migrateTo('0003_history');
    assert.equal(r.error, undefined, 'migrates to 0003');
    const rows = await sql<{ type: string; name: string; sql: string | null }>`
      select type, name, sql from sqlite_master where name not like 'kysely%' and name not like 'sqlite_autoindex_kysely%' order by type, name`.execute(s.db);
    const text = rows.rows.map((x) => `${x.type} ${x.name} ${x.sql}`).join('\n');
    assert.equal(
      createHash('sha256').update(text).digest('hex'),
      '45d85230a43e746f466bc96034210945f9f47296420a8ec7ce98925ddc02c212',
      `SQLite schema of 0001-0003 changed:\n${text}`,
    );
    await s.close();
  });
});

forEachDialect(
  'PostgreSQL specifics',
  ({ it, open, freshUrl, openAt }) => {
    it('stores every sourcedId column with COLLATE "C" and the database keeps a linguistic default', async () => {
      const s = await open();
      const rows = await sql<{ table_name: string; column_name: string; collation_name: string | null }>`
        select table_name, column_name, collation_name from information_schema.columns
        where table_schema = current_schema() and (column_name = 'sourced_id' or column_name like '%\_id')
          and data_type = 'text' and column_name not in ('tenant_id', 'connection_id', 'provider_id', 'id')`.execute(s.db);
      const refs = rows.rows.filter((r) => r.table_name.startsWith('live_') || r.table_name === 'changes' || r.table_name === 'run_issues');
      assert.ok(refs.length >= 7 + 9 + 2, `found ${refs.length} sourcedId columns`);
      for (const r of refs) assert.equal(r.collation_name, 'C', `${r.table_name}.${r.column_name}`);
    });

    it('orders and pages sourcedIds in byte (UTF-8) order whatever the database collation', async () => {
      const s = await open();
      await s.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
      const ids = ['b', 'B', 'a_b', 'ab', 'a-c', 'Z9', 'é1', 'e2', '~x', '10', '9', 'a b'];
      await s.db.insertInto('live_orgs').values(ids.map((id) => liveOrg('one', id))).execute();
      const byteOrder = [...ids].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
      const all = (await s.records.list('orgs', 'one')).map((r) => r.sourcedId);
      assert.deepEqual(all, byteOrder, 'list() is in byte order');
      const paged: string[] = [];
      let after: string | undefined;
      for (;;) {
        const page = await s.records.list('orgs', 'one', { limit: 5, ...(after !== undefined ? { after } : {}) });
        if (page.length === 0) break;
        paged.push(...page.map((r) => r.sourcedId));
        after = page.at(-1)!.sourcedId;
      }
      assert.deepEqual(paged, byteOrder, 'keyset paging visits each id once, in byte order');
      // The linguistic default would order these differently: proves the test can fail.
      const dflt = await sql<{ id: string }>`select x as id from unnest(${ids}::text[]) as x order by x collate "default"`.execute(s.db);
      const dbCollation = await sql<{ c: string }>`select coalesce(daticulocale, datcollate) as c from pg_database where datname = current_database()`.execute(s.db);
      if (dbCollation.rows[0]?.c !== 'C' && dbCollation.rows[0]?.c !== 'C.UTF-8') {
        assert.notDeepEqual(dflt.rows.map((r) => r.id), byteOrder, `database collation ${dbCollation.rows[0]?.c} differs from byte order`);
      }
    });

    it('opens postgresql:// URLs too, and honours poolSize', async () => {
      const url = (await freshUrl()).replace(/^postgres:/, 'postgresql:');
      const s = await openAt(url, { poolSize: 2 });
      assert.equal(s.dialect, 'postgres');
      const t0 = Date.now();
      await Promise.all(Array.from({ length: 4 }, () => sql`select pg_sleep(0.15)`.execute(s.db)));
      const elapsed = Date.now() - t0;
      assert.ok(elapsed >= 280, `4 sleeps of 150 ms on 2 connections take two rounds (took ${elapsed} ms)`);
      const backends = await sql<{ n: number }>`select count(*) as n from pg_stat_activity where datname = current_database() and backend_type = 'client backend'`.execute(s.db);
      assert.ok(Number(backends.rows[0]?.n) <= 2, `at most 2 connections (saw ${backends.rows[0]?.n})`);
    });

    it('survives the server ending a session while a transaction holds it, and fails only that transaction', async () => {
      const s = await openAt(await freshUrl());
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      let pid = 0;
      // A transaction waiting on the process (as an apply's transaction waits for its callbacks).
      const trx = s.db.transaction().execute(async (t) => {
        pid = Number((await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(t)).rows[0]!.pid);
        await held;
        await sql`select 1`.execute(t);
      });
      while (pid === 0) await new Promise((r) => setTimeout(r, 10));
      // An admin's pg_terminate_backend, a failover, idle_in_transaction_session_timeout: the checked-out
      // client emits 'error', which would end the process without a listener of its own.
      await sql`select pg_terminate_backend(${pid})`.execute(s.db);
      await new Promise((r) => setTimeout(r, 200));
      release();
      await assert.rejects(trx, 'the transaction whose session ended fails');
      assert.equal((await s.tenants.list()).length, 1, 'the store goes on with a new connection');
    });

    it('reports a database that does not exist as database_unavailable', async () => {
      const u = new URL(PG_TEST_URL);
      u.pathname = '/rostersync_no_such_database_h2';
      await assert.rejects(openStore({ url: u.toString() }), (e) => isStoreError(e, 'database_unavailable') && /3D000/.test(e.message));
    });

    it('two stores migrating the same new database at once apply each migration once', async () => {
      const url = await freshUrl();
      const [a] = await Promise.all([openAt(url), openAt(url), openAt(url)]);
      const names = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(a!.db);
      const unique = new Set(names.rows.map((r) => r.name));
      assert.equal(unique.size, names.rows.length, 'no migration recorded twice');
      assert.ok(unique.has('0001_initial'), 'migrated');
      assert.equal((await a!.tenants.list()).length, 1, 'default tenant once');
    });
  },
  { dialects: ['postgres'] },
);

forEachDialect('connections', ({ it, open, freshUrl, openAt }) => {
  it('stores the secret encrypted, never returns it from get/list, and opens it with the key', async () => {
    const url = await freshUrl();
    const s = await openAt(url, { secretKey: KEY });
    const c = await s.connections.create({ id: 'sis1', name: 'Main SIS', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'oauth2', options: { clientId: 'abc' }, secret: 's3cr3t-value' });
    assert.equal(c.hasSecret, true);
    assert.equal(JSON.stringify(await s.connections.list()).includes('s3cr3t'), false);
    assert.equal(JSON.stringify(await s.connections.get('sis1')).includes('s3cr3t'), false);
    const row = await s.db.selectFrom('connections').select('secret_ciphertext').where('id', '=', 'sis1').executeTakeFirstOrThrow();
    assert.ok(row.secret_ciphertext?.startsWith('v1:'), 'sealed envelope');
    assert.equal(row.secret_ciphertext?.includes('s3cr3t'), false, 'ciphertext at rest');
    assert.equal(await s.connections.getSecret('sis1'), 's3cr3t-value');
    assert.deepEqual((await s.connections.get('sis1'))?.options, { clientId: 'abc' });
    await s.close();
    // Wrong key: a clear error, not garbage.
    const wrong = await openAt(url, { secretKey: Buffer.alloc(32, 9) });
    await assert.rejects(wrong.connections.getSecret('sis1'), (e) => isStoreError(e, 'secret_unreadable'));
    await wrong.close();
    const nokey = await openAt(url);
    await assert.rejects(nokey.connections.getSecret('sis1'), (e) => isStoreError(e, 'secret_key_missing'));
    await assert.rejects(
      nokey.connections.create({ name: 'x', baseUrl: 'https://x', authKind: 'oauth2', secret: 'y' }),
      (e) => isStoreError(e, 'secret_key_missing'),
    );
  });

  it('validates ids and rejects duplicates and unknown tenants', async () => {
    const s = await open();
    await assert.rejects(s.connections.create({ id: 'Has Space', name: 'a', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'invalid_input'));
    await s.connections.create({ id: 'a1', name: 'a', baseUrl: 'https://x', authKind: 'none' });
    await assert.rejects(s.connections.create({ id: 'a1', name: 'b', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'already_exists'));
    await assert.rejects(s.connections.create({ id: 'a2', name: 'a', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'already_exists'));
    await assert.rejects(s.connections.create({ tenantId: 'nope', name: 'c', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'not_found'));
    await s.tenants.create({ id: 't2', name: 'Other district' });
    await assert.rejects(s.tenants.create({ id: 't2', name: 'Again' }), (e) => isStoreError(e, 'already_exists'));
    const other = await s.connections.create({ tenantId: 't2', name: 'a', baseUrl: 'https://y', authKind: 'none' });
    assert.match(other.id, /^c[0-9a-f]{10}$/);
    assert.deepEqual((await s.connections.list({ tenantId: 't2' })).map((c) => c.id), [other.id]);
    const updated = await s.connections.update('a1', { name: 'renamed', options: { pageSize: 500 } });
    assert.equal(updated.name, 'renamed');
    await assert.rejects(s.connections.update('ghost', { name: 'x' }), (e) => isStoreError(e, 'not_found'));
    assert.equal(await s.connections.delete('a1'), true);
    assert.equal(await s.connections.delete('a1'), false);
    assert.equal(await s.connections.get('a1'), undefined);
  });

  it('deleting a connection cascades to its runs, issues and live rows', async () => {
    const s = await open();
    await s.connections.create({ id: 'gone', name: 'gone', baseUrl: 'https://x', authKind: 'none' });
    const run = await s.runs.start({ connectionId: 'gone', mode: 'full', leaseOwner: 't' });
    await s.issues.add(run.id, 0, [{ severity: 'error', rule: 'r', entity: 'users', message: 'm' }]);
    await s.db.insertInto('live_orgs').values(liveOrg('gone', 'o1')).execute();
    assert.equal(await s.connections.delete('gone'), true);
    assert.equal(await s.runs.get(run.id), undefined, 'run removed');
    assert.equal(await s.issues.count(run.id), 0, 'issues removed');
    assert.equal(await s.records.get('orgs', 'gone', 'o1'), undefined, 'live rows removed');
  });
});

forEachDialect('runs', ({ it, open, freshUrl, openAt }) => {
  it('allows one running run per connection, enforced by the database', async () => {
    const s = await open();
    await s.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
    await s.connections.create({ id: 'two', name: 'two', baseUrl: 'https://x', authKind: 'none' });
    const r1 = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'test:1' });
    await assert.rejects(s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'test:2' }), (e) => {
      assert.ok(isStoreError(e, 'run_in_progress'), 'run_in_progress');
      assert.match(e.message, new RegExp(`run ${r1.id}`));
      return true;
    });
    const r2 = await s.runs.start({ connectionId: 'two', mode: 'full', leaseOwner: 'test:1' });
    assert.notEqual(r1.id, r2.id);
    await s.runs.heartbeat(r1.id, 'test:1');
    await assert.rejects(s.runs.heartbeat(r1.id, 'someone-else'), (e) => isStoreError(e, 'run_not_running'));
    await s.runs.finish(r1.id, {
      status: 'failed',
      entities: {},
      requests: { '/users': { requests: 2, bytes: 10 } },
      issues: NO_ISSUES,
      error: { code: 'x', message: 'boom' },
    });
    await assert.rejects(s.runs.finish(r1.id, { status: 'failed', entities: {}, requests: {}, issues: NO_ISSUES }), (e) => isStoreError(e, 'run_not_running'));
    const r3 = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'test:1' });
    const got = await s.runs.get(r1.id);
    assert.equal(got?.status, 'failed');
    assert.deepEqual(got?.error, { code: 'x', message: 'boom' });
    assert.deepEqual(got?.requests, { '/users': { requests: 2, bytes: 10 } });
    assert.ok(got?.finishedAt, 'finishedAt set');
    assert.deepEqual((await s.runs.list({ connectionId: 'one' })).map((r) => r.id), [r3.id, r1.id]);
    assert.deepEqual((await s.runs.list({ connectionId: 'one', limit: 1 })).map((r) => r.id), [r3.id]);
    assert.deepEqual((await s.runs.list({ status: 'failed' })).map((r) => r.id), [r1.id]);
    assert.equal((await s.runs.findRunning('one'))?.id, r3.id);
    await assert.rejects(s.runs.start({ connectionId: 'ghost', mode: 'full', leaseOwner: 'x' }), (e) => isStoreError(e, 'not_found'));
  });

  it('holds the one-running-run rule across two store instances (two processes)', async () => {
    const url = await freshUrl();
    const a = await openAt(url);
    const b = await openAt(url);
    await a.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
    const r1 = await a.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'host-a:1' });
    await assert.rejects(b.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'host-b:1' }), (e) => {
      assert.ok(isStoreError(e, 'run_in_progress'), 'run_in_progress from the other instance');
      assert.match(e.message, /owner host-a:1/);
      return true;
    });
    // The failed insert must not poison b (on PostgreSQL an error inside a transaction would).
    await a.runs.finish(r1.id, { status: 'succeeded', entities: {}, requests: {}, issues: NO_ISSUES });
    const r2 = await b.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'host-b:1' });
    assert.ok(r2.id > r1.id, 'ids increase');
  });

  it('expires running runs whose heartbeat is stale, freeing the connection', async () => {
    const s = await open();
    await s.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
    await s.connections.create({ id: 'two', name: 'two', baseUrl: 'https://x', authKind: 'none' });
    const old = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'dead:1', now: new Date('2025-01-01T00:00:00Z') });
    const fresh = await s.runs.start({ connectionId: 'two', mode: 'full', leaseOwner: 'live:1' });
    assert.deepEqual(await s.runs.expireStale(new Date(Date.now() - 60_000)), [old.id]);
    assert.equal((await s.runs.get(old.id))?.status, 'failed');
    assert.equal((await s.runs.get(old.id))?.error?.code, 'lease_expired');
    assert.equal((await s.runs.get(fresh.id))?.status, 'running');
    assert.deepEqual(await s.runs.expireStale(new Date(Date.now() - 60_000), { connectionId: 'two' }), [], 'fresh run kept');
    await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'new:1' });
  });

  it('stores and lists run issues in order, with filters', async () => {
    const s = await open();
    await s.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
    const run = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 't' });
    const many = Array.from({ length: 450 }, (_, i) => ({
      severity: i % 3 === 0 ? ('error' as const) : ('warning' as const),
      rule: i % 3 === 0 ? 'required-field' : 'enum-case',
      entity: 'users',
      sourcedId: `u${i}`,
      field: 'role',
      message: 'm',
    }));
    await s.issues.add(run.id, 0, many);
    assert.equal(await s.issues.count(run.id), 450);
    const first = await s.issues.list(run.id, { limit: 2 });
    assert.deepEqual(first.map((i) => [i.seq, i.sourcedId, i.field]), [[0, 'u0', 'role'], [1, 'u1', 'role']]);
    const errors = await s.issues.list(run.id, { severity: 'error', limit: 1000 });
    assert.equal(errors.length, 150);
    assert.ok(errors.every((i) => i.rule === 'required-field'), 'filtered by severity');
    const page = await s.issues.list(run.id, { offset: 448, limit: 10 });
    assert.deepEqual(page.map((i) => i.seq), [448, 449]);
    await s.issues.deleteFrom(run.id, 400);
    assert.equal(await s.issues.count(run.id), 400);
  });
});


describe('SQLite page size', () => {
  it('a new store file gets SQLITE_PAGE_SIZE pages; an existing file keeps the page size it was made with', async () => {
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rostersync-pagesize-'));
    const pageSize = async (s: Store): Promise<number> => Number((await sql<{ page_size: number }>`pragma page_size`.execute(s.db)).rows[0]!.page_size);
    try {
      const fresh = await openStore({ url: join(dir, 'new.db') });
      assert.equal(await pageSize(fresh), SQLITE_PAGE_SIZE);
      await fresh.close();
      const old = await openStore({ url: join(dir, 'old.db'), pageSize: 4096 });
      await old.close();
      const reopened = await openStore({ url: join(dir, 'old.db') });
      assert.equal(await pageSize(reopened), 4096);
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
