/**
 * `rostersync connection add … --delta-cron/--full-cron/--timezone/--retention-days/--no-schedule`
 * and `rostersync connection schedule` through the real CLI process.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openStore } from '../src/store/store.ts';

const run = promisify(execFile);
const CLI = join(import.meta.dirname, '..', 'bin', 'rostersync.js');

async function cli(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  const base = { ...process.env };
  delete base.ROSTERSYNC_DB;
  delete base.ROSTERSYNC_DATABASE_URL;
  delete base.ROSTERSYNC_SECRET_KEY;
  try {
    const r = await run(process.execPath, [CLI, ...args], { env: { ...base, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof err.code === 'number' ? err.code : 1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

interface ScheduleJson {
  enabled: boolean;
  delta: string;
  full: string;
  timezone: string;
  retentionDays: number;
  nextFull: string | null;
  nextDelta: string | null;
  due: string | null;
  reason: string;
}

test('connection schedules: set at add, changed, validated, shown', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-schedule-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = join(dir, 'store.db');
  const env = { ROSTERSYNC_SECRET_KEY_FILE: join(dir, 'key'), ROSTERSYNC_CLIENT_SECRET: 'not-printed-secret' };
  const access = ['--base-url', 'http://127.0.0.1:9/ims/oneroster/v1p1', '--auth', 'oauth2', '--token-url', 'http://127.0.0.1:9/oauth/token', '--client-id', 'id1', '--db', db];

  const bad = await cli(['connection', 'add', 'lab', ...access, '--delta-cron', '*/1 * * * *'], env);
  assert.equal(bad.code, 2, bad.stderr);
  assert.equal(bad.stderr.trim().split('\n').length, 1, `one line: ${bad.stderr}`);
  assert.match(bad.stderr, /delta schedule "\*\/1 \* \* \* \*" fires more often than every 5 minutes/);

  const added = await cli(['connection', 'add', 'lab', ...access, '--delta-cron', '0 6,18 * * *', '--timezone', 'America/Chicago', '--retention-days', '14'], env);
  assert.equal(added.code, 0, added.stderr);
  assert.match(added.stdout, /schedule {2}on · delta "0 6,18 \* \* \*" · full "0 3 \* \* 0" · America\/Chicago/);
  assert.match(added.stdout, /retention 14 days/);
  assert.match(added.stdout, /due now {3}a first full sync/);

  const shown = await cli(['connection', 'schedule', 'lab', '--db', db, '--json'], env);
  assert.equal(shown.code, 0, shown.stderr);
  const s1 = JSON.parse(shown.stdout) as ScheduleJson;
  assert.deepEqual([s1.enabled, s1.delta, s1.full, s1.timezone, s1.retentionDays, s1.due, s1.reason], [true, '0 6,18 * * *', '0 3 * * 0', 'America/Chicago', 14, 'full', 'first-full']);
  // 06:00 and 18:00 in Chicago are 12:00 or 11:00 and 00:00 or 23:00 UTC (CST/CDT).
  assert.ok(s1.nextDelta !== null && [0, 11, 12, 23].includes(new Date(s1.nextDelta).getUTCHours()), `next delta in Chicago time: ${s1.nextDelta}`);

  const changed = await cli(['connection', 'schedule', 'lab', '--db', db, '--full-cron', '30 2 * * 6', '--timezone', 'UTC', '--disable', '--retention-days', '60'], env);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /Updated connection .* "lab"/);
  assert.match(changed.stdout, /schedule {2}off · delta "0 6,18 \* \* \*" · full "30 2 \* \* 6" · UTC/);
  const s2 = JSON.parse((await cli(['connection', 'show', 'lab', '--db', db, '--json'], env)).stdout) as { schedule: ScheduleJson; options: Record<string, unknown> };
  assert.deepEqual([s2.schedule.enabled, s2.schedule.full, s2.schedule.retentionDays, s2.schedule.nextFull], [false, '30 2 * * 6', 60, null]);
  assert.equal(s2.options.tombstoneRetentionDays, 60, 'stored in the connection options');

  for (const [args, why] of [
    [['--full-cron', '0 3 * *'], /4 fields, not 5/],
    [['--timezone', 'Mars/Olympus'], /time zone "Mars\/Olympus" is unknown/],
    [['--retention-days', '0'], /--retention-days must be between 1 and 3650/],
    [['--enable', '--disable'], /exclude each other/],
  ] as const) {
    const r = await cli(['connection', 'schedule', 'lab', '--db', db, ...args], env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, why);
  }
  const unchanged = JSON.parse((await cli(['connection', 'schedule', 'lab', '--db', db, '--json'], env)).stdout) as ScheduleJson;
  assert.deepEqual([unchanged.full, unchanged.timezone], ['30 2 * * 6', 'UTC'], 'a refused change changes nothing');

  const enabled = await cli(['connection', 'schedule', 'lab', '--db', db, '--enable'], env);
  assert.equal(enabled.code, 0, enabled.stderr);
  assert.match(enabled.stdout, /schedule {2}on/);

  // A connection registered without a secret (as an ad-hoc `sync --base-url` does) cannot be scheduled.
  const store = await openStore({ url: db });
  await store.connections.create({ id: 'adhoc', name: 'adhoc', baseUrl: 'http://127.0.0.1:9/x/ims/oneroster/v1p1', authKind: 'oauth2', options: { clientId: 'id1' } });
  await store.close();
  const list = await cli(['connection', 'list', '--db', db], env);
  assert.match(list.stdout, /adhoc .* off\n/, 'ad-hoc registrations are not scheduled by default');
  const refused = await cli(['connection', 'schedule', 'adhoc', '--db', db, '--enable'], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /has no stored secret/);

  for (const r of [added, shown, changed, enabled]) assert.ok(!(r.stdout + r.stderr).includes('not-printed-secret'), 'the secret is never printed');
});
