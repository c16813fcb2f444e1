/**
 * SQLite bulk applies (`StagingArea.apply`): an apply of at least `indexRebuildMinWrites` rows into a
 * store file that no other connection has open runs with a rollback journal, and the store is back
 * in WAL mode afterwards, also when the apply fails. Another open connection keeps the WAL.
 */
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { sql, type Transaction } from 'kysely';
import type { Database as Schema } from './schema.ts';
import { create } from './stage-test-support.ts';
import { openStore, type Store } from './store.ts';

const dir = mkdtempSync(join(tmpdir(), 'rostersync-bulk-journal-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A file store with `ids` staged as users in a running run; `apply` applies them. */
async function staged(options: { bulkJournal?: boolean } = {}, ids = ['a', 'b', 'c', 'd']) {
  const file = join(dir, `store-${n++}.db`);
  const store = await openStore({ url: file, indexRebuildMinWrites: 3, ...options });
  const conn = await store.connections.create({ name: 'sis', baseUrl: 'http://127.0.0.1:1/ims/oneroster/v1p1', authKind: 'none' });
  const runId = (await store.runs.start({ connectionId: conn.id, mode: 'full', leaseOwner: 'test' })).id;
  const stager = await store.staging.open({ runId, tenantId: conn.tenantId, connectionId: conn.id, collection: 'users' });
  await stager.write(ids.map((id) => create(id)));
  const ctx = { runId, tenantId: conn.tenantId, connectionId: conn.id, now: new Date('2026-01-02T00:00:00.000Z') };
  const apply = (finish: (trx: Transaction<Schema>) => Promise<void>) => store.staging.apply(ctx, new Map([['users', { absence: { kind: 'none' as const }, writes: ids.length, fresh: true }]]), finish);
  return { file, store, apply };
}

async function journalMode(db: Store['db'] | Transaction<Schema>): Promise<string> {
  return (await sql<{ journal_mode: string }>`pragma main.journal_mode`.execute(db)).rows[0]!.journal_mode;
}

async function users(store: Store): Promise<number> {
  return Number((await sql<{ n: number }>`select count(*) as n from live_users`.execute(store.db)).rows[0]!.n);
}

describe('SQLite bulk apply journal', () => {
  it('applies a large write with a rollback journal and returns to WAL', async () => {
    const { store, apply } = await staged();
    assert.equal(await journalMode(store.db), 'wal');
    let inside = '';
    await apply(async (trx) => {
      inside = await journalMode(trx);
    });
    assert.equal(inside, 'delete', 'the apply wrote through a rollback journal');
    assert.equal(await journalMode(store.db), 'wal', 'and the store is in WAL mode again');
    assert.equal(await users(store), 4);
    await store.close();
  });

  it('keeps the WAL when another connection has the file open, and for small applies or when turned off', async () => {
    const a = await staged();
    const reader = new Database(a.file, { readonly: true });
    try {
      assert.equal(reader.prepare('select count(*) as n from live_users').get() !== undefined, true);
      let inside = '';
      await a.apply(async (trx) => {
        inside = await journalMode(trx);
      });
      assert.equal(inside, 'wal', 'another connection is open: the switch is refused');
      assert.equal(await users(a.store), 4);
      assert.deepEqual(reader.prepare('select count(*) as n from live_users').get(), { n: 4 }, 'the other connection reads the commit');
    } finally {
      reader.close();
      await a.store.close();
    }
    for (const [options, ids] of [[{}, ['a', 'b']], [{ bulkJournal: false }, ['a', 'b', 'c', 'd']]] as const) {
      const s = await staged(options, [...ids]);
      let inside = '';
      await s.apply(async (trx) => {
        inside = await journalMode(trx);
      });
      assert.equal(inside, 'wal', JSON.stringify({ options, ids }));
      await s.store.close();
    }
  });

  it('a process killed in the middle of a bulk apply leaves the store as it was, in WAL mode on the next open', async () => {
    const file = join(dir, 'killed.db');
    const script = join(dir, 'bulk-apply.mts');
    const store = pathToFileURL(join(import.meta.dirname, 'store.ts')).href;
    const entity = pathToFileURL(join(import.meta.dirname, 'entity-columns.ts')).href;
    writeFileSync(
      script,
      `import { openStore } from ${JSON.stringify(store)};
      import { recordValues } from ${JSON.stringify(entity)};
      const s = await openStore({ url: ${JSON.stringify(file)} });
      const conn = await s.connections.create({ name: 'sis', baseUrl: 'http://127.0.0.1:1/ims/oneroster/v1p1', authKind: 'none' });
      const runId = (await s.runs.start({ connectionId: conn.id, mode: 'full', leaseOwner: 'test' })).id;
      const stager = await s.staging.open({ runId, tenantId: conn.tenantId, connectionId: conn.id, collection: 'users' });
      for (let p = 0; p < 40; p++) {
        const rows = [];
        for (let i = 0; i < 5000; i++) {
          const id = 'u' + String(p * 5000 + i).padStart(7, '0');
          const record = { sourcedId: id, status: 'active', dateLastModified: '2026-01-01T00:00:00.000Z', role: 'student', username: id, enabledUser: true, familyName: 'x'.repeat(400) };
          rows.push({ sourcedId: id, op: 3, hash: 'h' + id, status: 'active', values: recordValues('users', record), data: JSON.stringify(record) });
        }
        await stager.write(rows);
      }
      process.stdout.write('staged\\n');
      const ctx = { runId, tenantId: conn.tenantId, connectionId: conn.id, now: new Date() };
      await s.staging.apply(ctx, new Map([['users', { absence: { kind: 'none' }, writes: 200000, fresh: true }]]), async () => {});
      process.stdout.write('applied\\n');
      await s.close();`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    let gone = false;
    const exited = new Promise((r) => child.once('exit', r)).then(() => (gone = true));
    const deadline = Date.now() + 120_000;
    // After staging (opening a new file makes a short-lived journal too), the rollback journal exists
    // only while the apply's transaction writes.
    while (!(out.includes('staged') && existsSync(`${file}-journal`)) && !gone && Date.now() < deadline) await new Promise((r) => setTimeout(r, 2));
    child.kill('SIGKILL');
    await exited;
    assert.ok(out.includes('staged') && !out.includes('applied'), `killed during the apply (output: ${JSON.stringify(out)}; files: ${readdirSync(dir).join(' ')})`);
    const again = await openStore({ url: file });
    assert.equal(await journalMode(again.db), 'wal');
    assert.equal(await users(again), 0, 'the hot journal rolled the half-written apply back');
    assert.equal((await sql<{ integrity_check: string }>`pragma integrity_check`.execute(again.db)).rows[0]?.integrity_check, 'ok');
    await again.close();
  });

  it('a failed bulk apply rolls back and leaves the store in WAL mode', async () => {
    const { file, store, apply } = await staged();
    await assert.rejects(
      apply(async () => {
        throw new Error('disk full (simulated)');
      }),
      /disk full/,
    );
    assert.equal(await journalMode(store.db), 'wal');
    assert.equal(await users(store), 0, 'nothing of the failed apply is live');
    await store.close();
    const again = await openStore({ url: file });
    assert.equal(await users(again), 0);
    await again.close();
  });
});
