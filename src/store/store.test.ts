import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'kysely';
import { COLLECTIONS } from '../oneroster/types.ts';
import { ENTITY_COLUMNS, SECONDARY_INDEXES } from './entity-columns.ts';
import { isStoreError } from './errors.ts';
import { liveTable } from './schema.ts';
import { openStore } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'rostersync-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const KEY = Buffer.alloc(32, 7).toString('hex');

describe('openStore and migrations', () => {
  it('migrates a new file once and is idempotent on reopen', async () => {
    const file = join(dir, 'idem.db');
    const a = await openStore({ url: file });
    const again = await a.migrate();
    assert.deepEqual(again.results, [], 'second migrate applies nothing');
    const tenants = await a.tenants.list();
    assert.deepEqual(tenants.map((t) => t.id), ['default']);
    await a.close();
    const b = await openStore({ url: file });
    assert.deepEqual((await b.migrate()).results, []);
    assert.equal((await b.tenants.list()).length, 1, 'default tenant not inserted twice');
    const mode = await sql<{ journal_mode: string }>`pragma journal_mode`.execute(b.db);
    assert.equal(mode.rows[0]?.journal_mode, 'wal');
    const fk = await sql<{ foreign_keys: number }>`pragma foreign_keys`.execute(b.db);
    assert.equal(fk.rows[0]?.foreign_keys, 1);
    await b.close();
  });

  it('creates every live table with the columns entity-columns.ts writes', async () => {
    const s = await openStore({ url: ':memory:' });
    for (const c of COLLECTIONS) {
      const cols = await sql<{ name: string }>`select name from pragma_table_info(${liveTable(c)})`.execute(s.db);
      const names = new Set(cols.rows.map((r) => r.name));
      for (const col of ENTITY_COLUMNS[c]) assert.ok(names.has(col.name), `${liveTable(c)} lacks ${col.name}: add a migration`);
      for (const common of ['tenant_id', 'connection_id', 'sourced_id', 'content_hash', 'data', 'raw', 'updated_run', 'deleted_at']) {
        assert.ok(names.has(common), `${liveTable(c)}.${common}`);
      }
    }
    await s.close();
  });

  it('creates exactly the key, covering and SECONDARY_INDEXES indexes on live tables', async () => {
    const s = await openStore({ url: ':memory:' });
    for (const c of COLLECTIONS) {
      const t = liveTable(c);
      const rows = await sql<{ name: string; sql: string }>`select name, sql from sqlite_master where type = 'index' and tbl_name = ${t} and sql is not null order by name`.execute(s.db);
      const expected = [`${t}_fp`, `${t}_key`, ...(SECONDARY_INDEXES[c] ?? []).map((i) => i.name)].sort();
      assert.deepEqual(rows.rows.map((r) => r.name).sort(), expected, t);
      for (const idx of SECONDARY_INDEXES[c] ?? []) {
        const def = rows.rows.find((r) => r.name === idx.name)?.sql ?? '';
        assert.match(def, new RegExp(`\\("connection_id", "${idx.column}"\\)`), `${idx.name} columns`);
      }
    }
    await s.close();
  });

  it('rejects postgres URLs with a stable code', async () => {
    await assert.rejects(openStore({ url: 'postgres://localhost/x' }), (e) => isStoreError(e, 'unsupported_database'));
  });
});

describe('connections', () => {
  it('stores the secret encrypted, never returns it from get/list, and opens it with the key', async () => {
    const file = join(dir, 'conn.db');
    const s = await openStore({ url: file, secretKey: KEY });
    const c = await s.connections.create({ id: 'sis1', name: 'Main SIS', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'oauth2', options: { clientId: 'abc' }, secret: 's3cr3t-value' });
    assert.equal(c.hasSecret, true);
    assert.equal(JSON.stringify(await s.connections.list()).includes('s3cr3t'), false);
    assert.equal(JSON.stringify(await s.connections.get('sis1')).includes('s3cr3t'), false);
    const row = await s.db.selectFrom('connections').select('secret_ciphertext').where('id', '=', 'sis1').executeTakeFirstOrThrow();
    assert.ok(row.secret_ciphertext?.startsWith('v1:'));
    assert.equal(row.secret_ciphertext?.includes('s3cr3t'), false, 'ciphertext at rest');
    assert.equal(await s.connections.getSecret('sis1'), 's3cr3t-value');
    assert.deepEqual((await s.connections.get('sis1'))?.options, { clientId: 'abc' });
    await s.close();
    // Wrong key: a clear error, not garbage.
    const wrong = await openStore({ url: file, secretKey: Buffer.alloc(32, 9) });
    await assert.rejects(wrong.connections.getSecret('sis1'), (e) => isStoreError(e, 'secret_unreadable'));
    await wrong.close();
    const nokey = await openStore({ url: file });
    await assert.rejects(nokey.connections.getSecret('sis1'), (e) => isStoreError(e, 'secret_key_missing'));
    await assert.rejects(
      nokey.connections.create({ name: 'x', baseUrl: 'https://x', authKind: 'oauth2', secret: 'y' }),
      (e) => isStoreError(e, 'secret_key_missing'),
    );
    await nokey.close();
  });

  it('validates ids and rejects duplicates and unknown tenants', async () => {
    const s = await openStore({ url: ':memory:' });
    await assert.rejects(s.connections.create({ id: 'Has Space', name: 'a', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'invalid_input'));
    await s.connections.create({ id: 'a1', name: 'a', baseUrl: 'https://x', authKind: 'none' });
    await assert.rejects(s.connections.create({ id: 'a1', name: 'b', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'already_exists'));
    await assert.rejects(s.connections.create({ id: 'a2', name: 'a', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'already_exists'));
    await assert.rejects(s.connections.create({ tenantId: 'nope', name: 'c', baseUrl: 'https://x', authKind: 'none' }), (e) => isStoreError(e, 'not_found'));
    await s.tenants.create({ id: 't2', name: 'Other district' });
    const other = await s.connections.create({ tenantId: 't2', name: 'a', baseUrl: 'https://y', authKind: 'none' });
    assert.match(other.id, /^c[0-9a-f]{10}$/);
    assert.deepEqual((await s.connections.list({ tenantId: 't2' })).map((c) => c.id), [other.id]);
    const updated = await s.connections.update('a1', { name: 'renamed', options: { pageSize: 500 } });
    assert.equal(updated.name, 'renamed');
    assert.equal(await s.connections.delete('a1'), true);
    assert.equal(await s.connections.get('a1'), undefined);
    await s.close();
  });
});

describe('runs', () => {
  it('allows one running run per connection, enforced by the database', async () => {
    const s = await openStore({ url: ':memory:' });
    await s.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
    await s.connections.create({ id: 'two', name: 'two', baseUrl: 'https://x', authKind: 'none' });
    const r1 = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'test:1' });
    await assert.rejects(s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'test:2' }), (e) => {
      assert.ok(isStoreError(e, 'run_in_progress'));
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
      issues: { bySeverity: { error: 0, warning: 0 }, byRule: {}, stored: 0 },
      error: { code: 'x', message: 'boom' },
    });
    await assert.rejects(s.runs.finish(r1.id, { status: 'failed', entities: {}, requests: {}, issues: { bySeverity: { error: 0, warning: 0 }, byRule: {}, stored: 0 } }), (e) =>
      isStoreError(e, 'run_not_running'),
    );
    const r3 = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'test:1' });
    const got = await s.runs.get(r1.id);
    assert.equal(got?.status, 'failed');
    assert.deepEqual(got?.error, { code: 'x', message: 'boom' });
    assert.deepEqual(got?.requests, { '/users': { requests: 2, bytes: 10 } });
    assert.ok(got?.finishedAt);
    assert.deepEqual((await s.runs.list({ connectionId: 'one' })).map((r) => r.id), [r3.id, r1.id]);
    assert.deepEqual((await s.runs.list({ connectionId: 'one', limit: 1 })).map((r) => r.id), [r3.id]);
    await assert.rejects(s.runs.start({ connectionId: 'ghost', mode: 'full', leaseOwner: 'x' }), (e) => isStoreError(e, 'not_found'));
    await s.close();
  });

  it('expires running runs whose heartbeat is stale, freeing the connection', async () => {
    const s = await openStore({ url: ':memory:' });
    await s.connections.create({ id: 'one', name: 'one', baseUrl: 'https://x', authKind: 'none' });
    await s.connections.create({ id: 'two', name: 'two', baseUrl: 'https://x', authKind: 'none' });
    const old = await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'dead:1', now: new Date('2025-01-01T00:00:00Z') });
    const fresh = await s.runs.start({ connectionId: 'two', mode: 'full', leaseOwner: 'live:1' });
    assert.deepEqual(await s.runs.expireStale(new Date(Date.now() - 60_000)), [old.id]);
    assert.equal((await s.runs.get(old.id))?.status, 'failed');
    assert.equal((await s.runs.get(old.id))?.error?.code, 'lease_expired');
    assert.equal((await s.runs.get(fresh.id))?.status, 'running');
    await s.runs.start({ connectionId: 'one', mode: 'full', leaseOwner: 'new:1' });
    await s.close();
  });

  it('stores and lists run issues in order, with filters', async () => {
    const s = await openStore({ url: ':memory:' });
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
    assert.ok(errors.every((i) => i.rule === 'required-field'));
    await s.close();
  });
});
