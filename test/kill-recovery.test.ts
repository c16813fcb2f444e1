/**
 * A sync killed with SIGKILL mid-run leaves the store at its previous consistent state; the next
 * run detects the dead one (its lease owner is a dead process on this host), marks it failed, and
 * completes, ending equal to an uninterrupted sync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore } from '../src/store/store.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

test('SIGKILL mid-sync: nothing half-applied, next run recovers the lease and completes', async (t) => {
  // Latency makes the small district take several seconds, so the kill lands mid-read.
  const sim = await startSimulator({ size: 'small', auth: 'none', faults: 'latency=150ms' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-kill-'));
  t.after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'store.db');
  const args = [CLI, 'sync', '--base-url', sim.baseUrl, '--auth', 'none', '--db', db, '--page-size', '1000', '--json'];

  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  // Kill once the run row exists and some pages were read.
  await new Promise((r) => setTimeout(r, 3500));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));

  let store = await openStore({ url: db });
  const runsAfterKill = await store.runs.list({});
  assert.equal(runsAfterKill.length, 1, 'the killed run was recorded');
  assert.equal(runsAfterKill[0]!.status, 'running', 'killed mid-run: still marked running');
  const conn = (await store.connections.list())[0]!;
  const live = await store.records.countLive(conn.id);
  const total = Object.values(live).reduce((n, c) => n + c.active + c.deleted, 0);
  assert.equal(total, 0, 'nothing of the killed run was applied');
  await store.close();

  const again = await new Promise<{ code: number | null; out: string }>((resolve) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.once('exit', (code) => resolve({ code, out }));
  });
  assert.equal(again.code, 0, again.out);
  const result = JSON.parse(again.out) as { status: string; entities: Record<string, { created: number; fetched: number }> };
  assert.equal(result.status, 'succeeded');

  store = await openStore({ url: db });
  const runs = await store.runs.list({});
  const killed = runs.find((r) => r.id === runsAfterKill[0]!.id)!;
  assert.equal(killed.status, 'failed');
  assert.equal(killed.error?.code, 'lease_expired');
  const stats = sim.district.stats();
  const after = await store.records.countLive(conn.id);
  for (const c of ['orgs', 'academicSessions', 'users', 'classes', 'enrollments'] as const) {
    assert.equal(after[c].active, stats.counts[c].active, `${c} live rows equal the provider's active records`);
  }
  await store.close();
});
