/**
 * `rostersync serve` as a real process: prints its URL, answers /healthz, runs the first full sync
 * of a stored connection by itself (scheduler), and exits cleanly on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore } from '../src/store/store.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

function baseEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  delete env.ROSTERSYNC_DB;
  delete env.ROSTERSYNC_DATABASE_URL;
  delete env.ROSTERSYNC_SECRET_KEY;
  return env;
}

/** Starts `rostersync serve …` and resolves with the URL it prints. */
async function startServe(args: string[], env: NodeJS.ProcessEnv): Promise<{ child: ChildProcess; url: string; out: () => string; err: () => string; exit: Promise<number | null> }> {
  const child = spawn(process.execPath, [CLI, 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + 30_000;
  while (!/serving on (http:\/\/\S+?) /.test(out)) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start (exit ${child.exitCode}): ${out}\n${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const url = /serving on (http:\/\/\S+?) /.exec(out)![1]!;
  return { child, url, out: () => out, err: () => err, exit };
}

test('serve: /healthz, a scheduled first full sync, clean exit on SIGTERM', async (t) => {
  const sim = await startSimulator({ size: 'tiny', auth: 'oauth2' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-serve-'));
  let child: ChildProcess | undefined;
  t.after(async () => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'store.db');
  const env = baseEnv({ ROSTERSYNC_SECRET_KEY_FILE: join(dir, 'key') });
  const added = await run(
    process.execPath,
    [CLI, 'connection', 'add', 'district', '--base-url', sim.baseUrl, '--auth', 'oauth2', '--token-url', sim.tokenUrl, '--client-id', sim.clientId, '--db', db],
    { env: { ...env, ROSTERSYNC_CLIENT_SECRET: sim.clientSecret }, timeout: 60_000 },
  );
  assert.match(added.stdout, /Added connection/);

  const s = await startServe(['--port', '0', '--db', db], env);
  child = s.child;
  assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(s.out(), /scheduler on: 1 of 1 connection\(s\) scheduled/);

  const health = await fetch(`${s.url}/healthz`);
  assert.equal(health.status, 200);
  const h = (await health.json()) as { status: string; db: { ok: boolean }; scheduler: { state: string } };
  assert.equal(h.status, 'ok');
  assert.equal(h.db.ok, true);
  assert.equal(h.scheduler.state, 'running');

  // Never synced: the scheduler runs a full sync at once.
  const store = await openStore({ url: db });
  t.after(() => store.close());
  const deadline = Date.now() + 60_000;
  let runs = await store.runs.list();
  while (!runs.some((r) => r.status !== 'running') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    runs = await store.runs.list();
  }
  assert.equal(runs.length, 1, JSON.stringify(runs));
  assert.equal(runs[0]!.mode, 'full');
  assert.equal(runs[0]!.status, 'succeeded', JSON.stringify(runs[0]!.error ?? {}));

  s.child.kill('SIGTERM');
  const code = await s.exit;
  assert.equal(code, 0, s.err());
  assert.match(s.out(), /Stopped\.\n$/);
  const logs = s.err().trim().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { msg: string });
  assert.ok(logs.some((l) => l.msg === 'scheduled sync finished'), `the sync is logged: ${s.err()}`);
  assert.ok(logs.some((l) => l.msg === 'stopped'), 'the graceful stop is logged');
  assert.ok(!(s.out() + s.err()).includes(sim.clientSecret), 'the secret is never printed or logged');
});

test('serve --no-scheduler: HTTP only; SIGINT stops it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-serve-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const s = await startServe(['--port', '0', '--db', join(dir, 'store.db'), '--no-scheduler'], baseEnv({ ROSTERSYNC_SECRET_KEY_FILE: join(dir, 'key') }));
  t.after(() => {
    if (s.child.exitCode === null) s.child.kill('SIGKILL');
  });
  assert.match(s.out(), /scheduler off/);
  const h = (await (await fetch(`${s.url}/healthz`)).json()) as { scheduler: { state: string } };
  assert.equal(h.scheduler.state, 'off');
  s.child.kill('SIGINT');
  assert.equal(await s.exit, 0, s.err());
});
