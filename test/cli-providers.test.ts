/**
 * Provider flighting and promotion (issue 5) at the CLI: a Test provider is refused by
 * `connection add` until the default tenant is flighted for it; `providers promote` against the
 * simulator records who and when; a simulator without X-Total-Count is refused, naming the failed
 * check, and nothing is recorded. Commands run in-process (a fresh commander program per call,
 * output into buffers) because each CLI process costs 1.3–2.5 s of tsx start-up; one case goes
 * through the real `bin/rostersync.js` to prove the wiring and the one-line error.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from '@commander-js/extra-typings';
import { CliError } from '../src/cli/cli-error.ts';
import { registerConnection } from '../src/cli/connection-command.ts';
import { registerProviders } from '../src/cli/providers-command.ts';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore } from '../src/store/store.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

type Result = { code: number; stdout: string; stderr: string };

/** The real CLI process (ROSTERSYNC_DB unset so `--db` alone decides the store). */
async function spawnCli(args: string[]): Promise<Result> {
  const env = { ...process.env };
  delete env.ROSTERSYNC_DB;
  try {
    const r = await run(process.execPath, [CLI, ...args], { env, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

/** The same commands in-process; a CliError becomes its exit code and one stderr line, as main.ts does. */
async function cli(args: string[]): Promise<Result> {
  let stdout = '';
  let stderr = '';
  const io = { out: { write: (t: string) => (stdout += t) }, err: { write: (t: string) => (stderr += t) } };
  const program = new Command().name('rostersync').exitOverride();
  registerProviders(program, io);
  registerConnection(program, io);
  try {
    await program.parseAsync(args, { from: 'user' });
    return { code: 0, stdout, stderr };
  } catch (err) {
    if (err instanceof CliError) return { code: err.exitCode, stdout, stderr: `${stderr}rostersync: ${err.message}\n` };
    throw err;
  }
}

describe('providers flight / promote', () => {
it('a Test provider is refused before a flight and accepted after it', async (t) => {
  const sim = await startSimulator({ size: 'tiny', auth: 'none' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-flight-'));
  t.after(async () => {
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'store.db');
  const add = (name: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    cli(['connection', 'add', name, '--provider', 'follett-aspen', '--base-url', sim.baseUrl, '--auth', 'none', '--db', db]);

  const refused = await spawnCli(['connection', 'add', 'before', '--provider', 'follett-aspen', '--base-url', sim.baseUrl, '--auth', 'none', '--db', db]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /Follett Aspen has SDS status Test/);
  assert.match(refused.stderr, /providers flight follett-aspen/);
  assert.equal(existsSync(db), false, 'a refused add creates no store');

  const flight = await cli(['providers', 'flight', 'Follett Aspen', '--db', db, '--by', 'it-admin']);
  assert.equal(flight.code, 0, flight.stderr);
  assert.match(flight.stdout, /Flighted Follett Aspen \(follett-aspen\) for tenant default, by it-admin at \d{4}-\d\d-\d\dT/);

  const accepted = await add('after');
  assert.equal(accepted.code, 0, accepted.stderr);
  assert.match(accepted.stdout, /Added connection \S+ "after" \(Follett Aspen;/);

  const listed = await cli(['providers', 'list', '--status', 'Test', '--db', db]);
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, /follett-aspen .*Test \(flighted\)/);

  // A Yes provider needs no flight; flighting it is refused rather than silently recorded.
  const yes = await cli(['providers', 'flight', 'infinite-campus', '--db', db]);
  assert.equal(yes.code, 2);
  assert.match(yes.stderr, /SDS status Yes/);

  const unflight = await cli(['providers', 'unflight', 'follett-aspen', '--db', db]);
  assert.equal(unflight.code, 0, unflight.stderr);
  const refusedAgain = await add('again');
  assert.equal(refusedAgain.code, 2, 'unflighted: refused again');
});

it('promote runs the provider checks and records who and when only when all pass', async (t) => {
  const good = await startSimulator({ size: 'tiny', auth: 'none' });
  const noTotal = await startSimulator({ size: 'tiny', auth: 'none', faults: 'no-total' });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-promote-'));
  t.after(async () => {
    await good.close();
    await noTotal.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = join(dir, 'store.db');

  const bad = await cli(['providers', 'promote', 'realtime', '--base-url', noTotal.baseUrl, '--auth', 'none', '--db', db, '--by', 'vendor-qa']);
  assert.equal(bad.code, 1, bad.stderr);
  assert.match(bad.stderr.trim(), /^rostersync: not promoted: \d+ provider check\(s\) failed: .*total-count/);
  assert.match(bad.stdout, /FAIL\s+total-count/);
  let store = await openStore({ url: db });
  assert.equal((await store.providerStates.state('default')).promoted.size, 0, 'nothing recorded on failure');
  await store.close();

  const before = Date.now();
  const ok = await cli(['providers', 'promote', 'realtime', '--base-url', good.baseUrl, '--auth', 'none', '--db', db, '--by', 'vendor-qa', '--json']);
  assert.equal(ok.code, 0, ok.stderr + ok.stdout);
  const out = JSON.parse(ok.stdout) as { promoted: boolean; by: string; at: string; checks: Array<{ id: string; status: string }> };
  assert.equal(out.promoted, true);
  assert.equal(out.by, 'vendor-qa');
  assert.ok(out.checks.some((c) => c.id === 'total-count' && c.status === 'pass'));

  store = await openStore({ url: db });
  const [promotion] = await store.providerStates.promotions('default');
  await store.close();
  assert.ok(promotion);
  assert.equal(promotion.providerId, 'realtime');
  assert.equal(promotion.by, 'vendor-qa');
  const at = Date.parse(promotion.at);
  assert.ok(at >= before - 1000 && at <= Date.now() + 1000, `recorded when: ${promotion.at}`);
  assert.equal(promotion.checkSummary.baseUrl, good.baseUrl);
  assert.ok(promotion.checkSummary.checks.length >= 5 && promotion.checkSummary.checks.every((c) => c.status !== 'fail'));

  // Promoted → effective status Yes: listed under Yes, and a connection may choose it without a flight.
  const listed = await cli(['providers', 'list', '--status', 'Yes', '--db', db, '--json']);
  const rows = JSON.parse(listed.stdout) as Array<{ id: string; effectiveStatus: string; promoted: boolean }>;
  assert.deepEqual(rows.find((r) => r.id === 'realtime'), { ...rows.find((r) => r.id === 'realtime'), effectiveStatus: 'Yes', promoted: true });
  const add = await cli(['connection', 'add', 'rt', '--provider', 'realtime', '--base-url', good.baseUrl, '--auth', 'none', '--db', db]);
  assert.equal(add.code, 0, add.stderr);

  const flights = await cli(['providers', 'flights', '--db', db]);
  assert.match(flights.stdout, /realtime\s+-\s+vendor-qa at /);
});
});
