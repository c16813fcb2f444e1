/**
 * End to end: a real sync of the simulator writes change history, and the three outputs built on it
 * agree with what the runs report: the events API (every event once, in order), a webhook that
 * subscribed between the runs (exactly the second run's events, signed), and the OneRoster CSV
 * delta since the first run (the changed users, deletions as `tobedeleted`).
 *
 * Depends on the sync engine recording history in the apply transaction (issue 4).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { parse } from 'csv-parse/sync';
import { eventsApiPlugin } from '../src/http/events-api.ts';
import type { ChangeEvent } from '../src/outputs/change-events.ts';
import { exportOneRosterCsv } from '../src/outputs/oneroster-csv.ts';
import { verifyWebhookSignature } from '../src/outputs/webhook-signing.ts';
import { readZipEntries } from '../src/outputs/zip-entries.ts';
import { startSimulator } from '../src/simulate/server.ts';
import { StoreRosterReader } from '../src/services/store-roster-reader.ts';
import { syncConnection } from '../src/services/sync-service.ts';
import { deliverPendingWebhooks } from '../src/services/webhook-service.ts';
import { openStore } from '../src/store/store.ts';

/**
 * Set to undefined once the sync engine writes `changes` rows in its apply transaction (the lead's
 * issue-4 work); until then this test cannot pass and is skipped with the reason.
 */
const SKIP: string | undefined = undefined;

test('a synced store publishes its history: events API, webhook, OneRoster CSV delta', { skip: SKIP ?? false }, async (t) => {
  const sim = await startSimulator({ size: 'tiny', auth: 'none', seed: 7 });
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-history-'));
  const store = await openStore({ url: join(dir, 'store.db'), secretKey: randomBytes(32) });
  const posts: Array<{ body: string; signature: string | undefined }> = [];
  const receiver = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      posts.push({ body: Buffer.concat(chunks).toString('utf8'), signature: req.headers['rostersync-signature'] as string | undefined });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  const app = Fastify();
  await app.register(eventsApiPlugin, { store, authorize: () => ({ tenantId: 'default' }) });
  t.after(async () => {
    await app.close();
    await new Promise((r) => receiver.close(r));
    await store.close();
    await sim.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const access = { baseUrl: sim.baseUrl, auth: { kind: 'none' as const } };
  const first = await syncConnection({ store, access, policy: { thresholds: false } });
  assert.equal(first.result.status, 'succeeded');
  const connectionId = first.connection.id;
  const run1 = first.result.runId;

  // Subscribe between the runs: the webhook gets run 2's user and enrollment changes only.
  const { secret } = await store.webhooks.create({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`, connectionId, entities: ['users', 'enrollments'] });

  await fetch(`${sim.rootUrl}/simulator/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ days: 5 }) });
  const second = await syncConnection({ store, access, connectionId, policy: { thresholds: false } });
  assert.equal(second.result.status, 'succeeded');
  const run2 = second.result.runId;
  const changedIn = (run: typeof first.result, c: 'users' | 'enrollments') => {
    const e = run.entities[c]!;
    return e.created + e.updated + e.restored + e.deleted;
  };
  assert.ok(changedIn(second.result, 'users') > 0, 'churn changed some users');

  // Events API: every applied change once, in order, matching the runs' counts.
  const events: ChangeEvent[] = [];
  for (let after: string | undefined, i = 0; i < 1000; i++) {
    const res = await app.inject({ method: 'GET', url: `/api/v1/events?limit=500${after ? `&after=${after}` : ''}` });
    assert.equal(res.statusCode, 200);
    const page = res.json() as { events: ChangeEvent[]; next: string; hasMore: boolean };
    events.push(...page.events);
    if (!page.hasMore) break;
    after = page.next;
  }
  assert.deepEqual(events.map((e) => e.seq), [...events.map((e) => e.seq)].sort((a, b) => a - b), 'ordered');
  for (const [run, result] of [[run1, first.result], [run2, second.result]] as const) {
    for (const c of ['users', 'enrollments'] as const) {
      const n = events.filter((e) => e.runId === run && e.entity === c).length;
      assert.equal(n, changedIn(result, c), `run ${run} ${c}: one event per change`);
    }
  }
  const updated = events.find((e) => e.runId === run2 && e.kind === 'updated');
  assert.ok(updated && updated.fields && Object.keys(updated.fields).length > 0, 'updates carry their changed fields');

  // Webhook: exactly run 2's users + enrollments, signed with the subscriber's secret.
  const [report] = await deliverPendingWebhooks(store, { connectionId, batchSize: 50 });
  assert.equal(report!.outcome, 'caught-up');
  const delivered = posts.flatMap((p) => (JSON.parse(p.body) as { events: ChangeEvent[] }).events);
  assert.deepEqual(
    delivered.map((e) => e.seq),
    events.filter((e) => e.runId === run2 && (e.entity === 'users' || e.entity === 'enrollments')).map((e) => e.seq),
  );
  for (const p of posts) assert.ok(verifyWebhookSignature(secret, p.signature, p.body).ok, 'signed');

  // OneRoster CSV delta since run 1: the users run 2 changed, deletions as tobedeleted.
  const out = join(dir, 'delta.zip');
  await exportOneRosterCsv(new StoreRosterReader(store, connectionId), { outFile: out, sinceRun: run1 });
  const zip = new Map(readZipEntries(readFileSync(out)).map((e) => [e.name, e.data.toString('utf8')]));
  const users = parse(zip.get('users.csv') ?? '', { columns: true }) as Array<Record<string, string>>;
  const userIds = new Set(events.filter((e) => e.runId === run2 && e.entity === 'users').map((e) => e.sourcedId));
  assert.deepEqual(new Set(users.map((u) => u.sourcedId)), userIds, 'the delta holds exactly the users run 2 changed');
  const deletedIds = new Set(events.filter((e) => e.runId === run2 && e.entity === 'users' && e.kind === 'deleted').map((e) => e.sourcedId));
  for (const u of users) assert.equal(u.status === 'tobedeleted', deletedIds.has(u.sourcedId!), `${u.sourcedId}: tobedeleted iff deleted`);
});
