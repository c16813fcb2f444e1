/**
 * Issue 4 safeguards through the real CLI: `connection safeguards` sets thresholds, a sync that
 * crosses them exits 4 (held) and applies nothing, `holds` / `holds show` list the plan,
 * `approve` applies it, `discard` drops another, `sync --dry-run --json` plans without applying,
 * and `sync --mode delta` reads only what changed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore } from '../src/store/store.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const env = { ...process.env };
    delete env.ROSTERSYNC_DATABASE_URL;
    const r = await run(process.execPath, [CLI, ...args], { env, timeout: 90_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

test('safeguards, holds, approve, discard, dry run and delta through the CLI', async (t) => {
  const sim = await startSimulator({ size: 'tiny', auth: 'none', seed: 5 });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-holds-'));
  t.after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'store.db');
  const sync = (...extra: string[]) => cli(['sync', '--base-url', sim.baseUrl, '--auth', 'none', '--db', db, '--json', ...extra]);

  const first = await sync();
  assert.equal(first.code, 0, first.stderr);
  const connName = new URL(sim.baseUrl).host;
  const sg = await cli(['connection', 'safeguards', connName, '--delete-count', '0', '--delete-percent', '0', '--db', db, '--json']);
  assert.equal(sg.code, 0, sg.stderr);
  assert.equal((JSON.parse(sg.stdout) as { perEntity: { users: { deleteCount: number } } }).perEntity.users.deleteCount, 0);
  const bad = await cli(['connection', 'safeguards', connName, '--delete-percent', '150', '--db', db]);
  assert.equal(bad.code, 2, 'a percentage over 100 is refused');

  // Churn until something is deleted, then a full sync crosses the (zero) threshold.
  sim.district.advance(20);
  const held = await sync();
  assert.equal(held.code, 4, `held exits 4: ${held.stderr}`);
  assert.match(held.stderr, /is held: nothing was applied/);
  const heldRun = JSON.parse(held.stdout) as { runId: number; status: string; hold: Array<{ rule: string }> };
  assert.equal(heldRun.status, 'held');
  assert.ok(heldRun.hold.some((r) => r.rule === 'deletions'), JSON.stringify(heldRun.hold));

  const list = await cli(['holds', '--db', db, '--json']);
  assert.equal(list.code, 0, list.stderr);
  const holds = JSON.parse(list.stdout) as Array<{ run: { id: number }; plan: { counts: Record<string, { deleted: number }> } }>;
  assert.deepEqual(holds.map((h) => h.run.id), [heldRun.runId]);
  const planned = Object.values(holds[0]!.plan.counts).reduce((n, k) => n + k.deleted, 0);
  assert.ok(planned > 0, 'planned deletions listed');
  const show = await cli(['holds', 'show', String(heldRun.runId), '--db', db]);
  assert.match(show.stdout, /deleted/);

  let store = await openStore({ url: db });
  const conn = (await store.connections.list())[0]!;
  const before = await store.records.countLive(conn.id);
  await store.close();

  const approved = await cli(['approve', String(heldRun.runId), '--base-url', sim.baseUrl, '--auth', 'none', '--db', db, '--by', 'tester', '--json']);
  assert.equal(approved.code, 0, approved.stderr);
  const applied = JSON.parse(approved.stdout) as { status: string; runId: number };
  assert.equal(applied.status, 'succeeded');
  store = await openStore({ url: db });
  const after = await store.records.countLive(conn.id);
  const deletedNow = Object.values(after).reduce((n, c) => n + c.deleted, 0) - Object.values(before).reduce((n, c) => n + c.deleted, 0);
  assert.equal(deletedNow, planned, 'the approval applied exactly the planned deletions');
  const h = await store.runs.get(heldRun.runId);
  assert.deepEqual([h?.holdState, h?.holdResolvedBy, h?.approvedRun], ['approved', 'tester', applied.runId]);
  await store.close();

  // Another hold, discarded.
  sim.district.advance(20);
  const held2 = await sync();
  assert.equal(held2.code, 4, held2.stderr);
  const id2 = (JSON.parse(held2.stdout) as { runId: number }).runId;
  const discarded = await cli(['discard', String(id2), '--db', db, '--by', 'tester']);
  assert.equal(discarded.code, 0, discarded.stderr);
  assert.equal((await cli(['discard', String(id2), '--db', db])).code, 2, 'a decided hold cannot be discarded again');
  assert.deepEqual(JSON.parse((await cli(['holds', '--db', db, '--json'])).stdout), []);

  // Dry run: a plan, nothing applied; then holds off and a delta applies the changes.
  const dry = await sync('--dry-run', '--plan-rows', '3');
  assert.equal(dry.code, 0, dry.stderr);
  const plan = JSON.parse(dry.stdout) as { dryRun: boolean; status: string; plan: { counts: Record<string, unknown>; changes: unknown[] } };
  assert.equal(plan.dryRun, true);
  assert.equal(plan.status, 'held', 'the dry run says it would be held');
  assert.ok(plan.plan.changes.length > 0);
  assert.equal((await cli(['connection', 'safeguards', connName, '--off', '--db', db])).code, 0);
  const delta = await sync('--mode', 'delta');
  assert.equal(delta.code, 0, delta.stderr);
  const d = JSON.parse(delta.stdout) as { mode: string; cursor: string; entities: Record<string, { fetched: number }> };
  assert.equal(d.mode, 'delta');
  const fetched = Object.values(d.entities).reduce((n, c) => n + c.fetched, 0);
  const total = Object.values(JSON.parse(first.stdout).entities as Record<string, { fetched: number }>).reduce((n, c) => n + c.fetched, 0);
  assert.ok(fetched > 0 && fetched < total, `a delta reads only what changed (${fetched} of ${total})`);
});
