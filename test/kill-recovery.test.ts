/**
 * Crash safety (issues 3 and 4): a sync killed with SIGKILL at several points leaves the store at
 * its previous consistent state, never half a run; the next run detects the dead one (its lease
 * owner is a dead process on this host) and resumes it (same run id) without fetching the pages it
 * had staged, or, with `--no-resume`, marks it failed and starts over. Either way the store ends
 * equal to an uninterrupted sync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore } from '../src/store/store.ts';

const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

function run(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b: Buffer) => (out += b.toString()));
    c.once('exit', (code) => resolve({ code, out }));
  });
}

/** Starts the CLI and SIGKILLs it once `until()` holds (polled; gives up after 60 s). */
async function runAndKill(args: string[], until: () => boolean): Promise<void> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const deadline = Date.now() + 60_000;
  while (!until() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
}

test('SIGKILL at several points: nothing half-applied; the next run resumes the killed one without re-fetching staged pages', async (t) => {
  // Latency makes the small district take several seconds, so each kill lands mid-read.
  const sim = await startSimulator({ size: 'small', auth: 'none', faults: 'latency=60ms' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-kill-'));
  t.after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const requests: string[] = [];
  sim.app.server.on('request', (req: IncomingMessage) => requests.push(req.url ?? ''));
  const db = join(dir, 'store.db');
  const argsFor = (file: string) => [CLI, 'sync', '--base-url', sim.baseUrl, '--auth', 'none', '--db', file, '--page-size', '500', '--json'];
  const args = argsFor(db);

  // Two kills at different points of the read, then a run to the end.
  const seen: number[] = [];
  for (const pages of [8, 14]) {
    const before = requests.length;
    await runAndKill(args, () => requests.length - before >= pages);
    seen.push(requests.length - before);
    const store = await openStore({ url: db });
    const runs = await store.runs.list({});
    assert.equal(runs.length, 1, 'one run row: a resumed run keeps its id');
    assert.equal(runs[0]!.status, 'running', 'killed mid-run: still marked running');
    const conn = (await store.connections.list())[0]!;
    const live = await store.records.countLive(conn.id);
    assert.equal(Object.values(live).reduce((n, c) => n + c.active + c.deleted, 0), 0, 'nothing of the killed run was applied');
    await store.close();
  }
  assert.ok(seen.every((n) => n > 3), `each attempt fetched pages before it was killed: ${seen.join(', ')}`);

  const before = requests.length;
  const last = await run(args);
  assert.equal(last.code, 0, last.out);
  const finalRequests = requests.slice(before);
  const result = JSON.parse(last.out) as { runId: number; status: string };
  assert.equal(result.status, 'succeeded');

  // Without the kills, one run fetches every page once; with them, the attempts together fetch
  // each page about once (a page in flight at a kill is fetched again).
  const fresh = join(dir, 'fresh.db');
  const b2 = requests.length;
  assert.equal((await run(argsFor(fresh))).code, 0);
  const uninterrupted = requests.length - b2;
  const attempts = seen.reduce((a, b) => a + b, 0) + finalRequests.length;
  assert.ok(attempts <= uninterrupted + 4, `staged pages are not fetched again: ${attempts} requests over 3 attempts vs ${uninterrupted} for one run`);
  assert.ok(finalRequests.length < uninterrupted - 2, `the resumed run fetched only what was left (${finalRequests.length} of ${uninterrupted})`);
  assert.ok(!finalRequests.some((u) => u.startsWith('/ims/oneroster/v1p1/orgs')), 'orgs, read before the kills, were not fetched again');

  const store = await openStore({ url: db });
  const runs = await store.runs.list({});
  assert.equal(runs.length, 1);
  assert.equal(runs[0]!.id, result.runId);
  assert.equal(runs[0]!.resumes, 2, 'resumed twice');
  const conn = (await store.connections.list())[0]!;
  const stats = sim.district.stats();
  const after = await store.records.countLive(conn.id);
  for (const c of ['orgs', 'academicSessions', 'users', 'classes', 'enrollments'] as const) {
    assert.equal(after[c].active, stats.counts[c].active, `${c} live rows equal the provider's active records`);
  }
  await store.close();
});

test('--no-resume: the killed run is marked failed (lease expired) and a new run starts over', async (t) => {
  const sim = await startSimulator({ size: 'small', auth: 'none', faults: 'latency=60ms' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-kill-'));
  t.after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'store.db');
  const args = [CLI, 'sync', '--base-url', sim.baseUrl, '--auth', 'none', '--db', db, '--page-size', '500', '--json'];
  let n = 0;
  sim.app.server.on('request', () => n++);
  await runAndKill(args, () => n >= 6);
  const again = await run([...args, '--no-resume']);
  assert.equal(again.code, 0, again.out);
  const store = await openStore({ url: db });
  const runs = await store.runs.list({});
  assert.deepEqual(runs.map((r) => [r.status, r.error?.code ?? null]), [['succeeded', null], ['failed', 'lease_expired']]);
  await store.close();
});
