/**
 * Through the real CLI process: `rostersync changes` (masked table, full JSON), `webhook add` (the
 * secret printed once, never listed), `webhook deliver` to a local receiver with a verifying
 * signature, `webhook remove`, and `export oneroster-csv --since` refusing runs whose history was
 * purged. The store is seeded with hand-written history (independent of the sync engine).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ChangeEvent } from '../src/outputs/change-events.ts';
import { verifyWebhookSignature } from '../src/outputs/webhook-signing.ts';
import { seedChanges, seedConnections } from '../src/store/change-test-support.ts';
import { openStore } from '../src/store/store.ts';

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

test('changes, webhook add/list/deliver/remove, export --since over seeded history', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-cli-history-'));
  const db = join(dir, 'store.db');
  const env = { ROSTERSYNC_SECRET_KEY: randomBytes(32).toString('hex'), ROSTERSYNC_DATABASE_URL: '', ROSTERSYNC_DB: '' };
  const bodies: Array<{ body: string; signature: string | undefined }> = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['rostersync-signature'] as string | undefined });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  t.after(async () => {
    await new Promise((r) => receiver.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const store = await openStore({ url: db });
  await seedConnections(store, [{ id: 'c1' }]);
  for (const id of [1, 2, 3]) {
    await store.db.insertInto('runs').values({
      id, tenant_id: 'default', connection_id: 'c1', mode: 'full', status: 'succeeded', started_at: `2026-03-0${id}T10:00:00.000Z`, entities: '{}', requests: '{}', issues: '{}',
    }).execute();
  }
  await seedChanges(store, [
    { sourcedId: 'u1', kind: 'created', runId: 1, at: '2026-03-01T10:00:00.000Z' },
    { sourcedId: 'e1', entity: 'enrollments', kind: 'created', runId: 1, at: '2026-03-01T10:00:00.000Z' },
    { sourcedId: 'u1', kind: 'updated', runId: 2, at: '2026-03-02T10:00:00.000Z', fields: { email: { before: 'john.doe@district.org', after: 'jdoe@district.org' } } },
    { sourcedId: 'u1', kind: 'deleted', runId: 3, at: '2026-03-03T10:00:00.000Z', fields: { status: { before: 'active', after: 'tobedeleted' } } },
  ]);
  await store.close();

  // changes: masked table, full JSON, filters.
  const tableOut = await cli(['changes', '--db', db], env);
  assert.equal(tableOut.code, 0, tableOut.stderr);
  assert.match(tableOut.stdout, /email: j\*\*\*@d\*\*\*\.org → j\*\*\*@d\*\*\*\.org/);
  assert.ok(!tableOut.stdout.includes('john.doe'), 'no email in the table');
  assert.match(tableOut.stdout, /\(new record\)/);
  assert.match(tableOut.stdout, /status: active → tobedeleted/);
  const json = await cli(['changes', '--db', db, '--json', '--entity', 'users', '--since', '2026-03-02'], env);
  assert.equal(json.code, 0, json.stderr);
  const events = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as ChangeEvent);
  assert.deepEqual(events.map((e) => [e.runId, e.kind]), [[2, 'updated'], [3, 'deleted']]);
  assert.equal((events[0]!.fields!.email as { before: string }).before, 'john.doe@district.org', '--json gives full values');
  const latest = await cli(['changes', '--db', db, '--limit', '1'], env);
  assert.match(latest.stdout, /showing the latest 1/);
  assert.match(latest.stdout, /deleted/);
  assert.equal((await cli(['changes', '--db', db, '--entity', 'pupils'], env)).code, 2);

  // webhook add prints the secret once; list never shows it.
  const add = await cli(['webhook', 'add', `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook?token=abc`, '--connection', 'c1', '--entities', 'users', '--db', db], env);
  assert.equal(add.code, 0, add.stderr);
  const secret = /Signing secret[^:]*: (whsec_\S+)/.exec(add.stdout)?.[1];
  assert.ok(secret, 'secret printed');
  const id = /Added webhook (wh[0-9a-f]+)/.exec(add.stdout)?.[1];
  assert.ok(id, 'id printed');
  assert.match(add.stdout, /Rostersync-Signature: t=<unix seconds>,v1=/);
  const list = await cli(['webhook', 'list', '--db', db], env);
  assert.equal(list.code, 0, list.stderr);
  assert.ok(list.stdout.includes(id) && !list.stdout.includes(secret), 'listed without the secret');
  assert.ok(!list.stdout.includes('token=abc'), 'query string hidden in the table');
  const listJson = await cli(['webhook', 'list', '--db', db, '--json'], env);
  assert.ok(!listJson.stdout.includes(secret), 'not in JSON either');

  // A new subscriber starts at the head: add one more change, then deliver it.
  const s2 = await openStore({ url: db });
  const at = '2026-03-03T10:00:00.000Z';
  await seedChanges(s2, [{ sourcedId: 'u2', kind: 'created', runId: 3, at }, { sourcedId: 'e2', entity: 'enrollments', kind: 'created', runId: 3, at }]);
  await s2.close();
  const deliver = await cli(['webhook', 'deliver', '--db', db, '--json'], env);
  assert.equal(deliver.code, 0, deliver.stderr);
  const [report] = JSON.parse(deliver.stdout) as Array<{ outcome: string; delivered: number }>;
  assert.equal(report!.outcome, 'caught-up');
  assert.equal(report!.delivered, 1);
  assert.equal(bodies.length, 1);
  const body = JSON.parse(bodies[0]!.body) as { events: ChangeEvent[] };
  assert.deepEqual(body.events.map((e) => e.sourcedId), ['u2'], 'only users, only after the subscription');
  assert.ok(verifyWebhookSignature(secret, bodies[0]!.signature, bodies[0]!.body).ok, 'signature verifies with the printed secret');
  const noKey = await cli(['webhook', 'deliver', '--db', db], { ...env, ROSTERSYNC_SECRET_KEY: '' });
  assert.equal(noKey.code, 1, 'deliver needs the key');
  assert.match(noKey.stderr, /no secret key/);

  assert.equal((await cli(['webhook', 'remove', id, '--db', db], env)).code, 0);
  assert.equal((await cli(['webhook', 'remove', id, '--db', db], env)).code, 2);

  // export --since: an unknown run and a run whose later history was purged are refused.
  const zip = join(dir, 'delta.zip');
  const ok = await cli(['export', 'oneroster-csv', '--out', zip, '--since', '1', '--db', db], env);
  assert.equal(ok.code, 0, ok.stderr);
  assert.equal((await cli(['export', 'oneroster-csv', '--out', zip, '--since', '99', '--db', db], env)).code, 2);
  const s3 = await openStore({ url: db });
  await s3.changes.purge({ connectionId: 'c1', before: '2026-03-02T12:00:00.000Z' });
  await s3.close();
  const refused = await cli(['export', 'oneroster-csv', '--out', zip, '--since', '1', '--db', db], env);
  assert.equal(refused.code, 2);
  assert.match(refused.stderr, /purged by retention through run 2/);
  assert.equal((await cli(['export', 'oneroster-csv', '--out', zip, '--since', '2', '--db', db], env)).code, 0, 'since the watermark run is fine');
});
