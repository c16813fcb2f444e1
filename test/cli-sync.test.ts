/**
 * End to end through the real CLI process: `rostersync sync --json` against the simulator, the
 * second sync writes nothing, a wrong secret exits non-zero with a one-line reason, and the
 * secret never appears in the output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator } from '../src/simulate/server.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

test('sync --json of a tiny district, then an idempotent re-sync, then a bad secret', async (t) => {
  const sim = await startSimulator({ size: 'tiny', auth: 'oauth2' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-cli-'));
  t.after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'store.db');
  const args = ['sync', '--base-url', sim.baseUrl, '--auth', 'oauth2', '--token-url', sim.tokenUrl, '--client-id', sim.clientId, '--db', db, '--json', '--courses', '--demographics'];
  const env = { ROSTERSYNC_CLIENT_SECRET: sim.clientSecret };

  const first = await cli(args, env);
  assert.equal(first.code, 0, first.stderr);
  const r1 = JSON.parse(first.stdout) as { runId: number; status: string; mode: string; entities: Record<string, Record<string, number>>; durationMs: number };
  assert.equal(r1.status, 'succeeded');
  assert.equal(r1.mode, 'full');
  const stats = sim.district.stats();
  for (const c of ['academicSessions', 'orgs', 'courses', 'classes', 'users', 'enrollments', 'demographics']) {
    const e = r1.entities[c];
    assert.ok(e, `entity ${c} in the JSON summary`);
    assert.equal(e.fetched, stats.counts[c as keyof typeof stats.counts].active, `${c} fetched = simulator active count`);
    assert.equal(e.created, e.fetched, `${c}: everything created on the first sync`);
    for (const k of ['updated', 'unchanged', 'deleted', 'invalid']) assert.equal(e[k], 0, `${c}.${k}`);
  }

  const second = await cli(args, env);
  assert.equal(second.code, 0, second.stderr);
  const r2 = JSON.parse(second.stdout) as typeof r1;
  for (const [c, e] of Object.entries(r2.entities)) {
    assert.equal(e.created, 0, `${c} created on re-sync`);
    assert.equal(e.updated, 0, `${c} updated on re-sync`);
    assert.equal(e.unchanged, r1.entities[c]!.fetched, `${c} unchanged on re-sync`);
  }

  const bad = await cli(args, { ROSTERSYNC_CLIENT_SECRET: 'not-the-secret' });
  assert.notEqual(bad.code, 0);
  const lines = bad.stderr.trim().split('\n');
  assert.equal(lines.length, 1, `one-line reason, got: ${bad.stderr}`);
  assert.match(lines[0]!, /auth_failed/);
  assert.ok(!bad.stderr.includes('not-the-secret') && !bad.stdout.includes('not-the-secret'), 'secret never echoed');
  assert.ok(!first.stdout.includes(sim.clientSecret), 'secret never echoed');
});
