import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { ChangeEvent } from '../outputs/change-events.ts';
import { verifyWebhookSignature } from '../outputs/webhook-signing.ts';
import { seedChanges, seedConnections, type SeedChange } from '../store/change-test-support.ts';
import { openStore, type Store } from '../store/store.ts';
import { deliverPendingWebhooks, enableWebhook } from './webhook-service.ts';

interface Received {
  path: string;
  body: string;
  signature: string | undefined;
  delivery: string | undefined;
}

/** A local receiver: `/flaky` fails its first `flakyFailures` requests, `/dead` always fails. */
class Receiver {
  readonly received: Received[] = [];
  flakyFailures = 3;
  server: Server = createServer((req, res) => this.#handle(req, res));
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  #handle(req: IncomingMessage, res: import('node:http').ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '';
      this.received.push({
        path,
        body: Buffer.concat(chunks).toString('utf8'),
        signature: req.headers['rostersync-signature'] as string | undefined,
        delivery: req.headers['rostersync-delivery'] as string | undefined,
      });
      if (path === '/dead') res.writeHead(500).end('boom with private detail');
      else if (path === '/flaky' && this.flakyFailures > 0) {
        this.flakyFailures--;
        res.writeHead(503, { 'retry-after': '0' }).end();
      } else res.writeHead(204).end();
    });
  }

  events(path: string, ok = true): ChangeEvent[] {
    return this.received.filter((r) => r.path === path && (!ok || path !== '/dead')).flatMap((r) => (JSON.parse(r.body) as { events: ChangeEvent[] }).events);
  }
}

describe('deliverPendingWebhooks (store-backed, real HTTP receiver)', () => {
  let store: Store;
  const receiver = new Receiver();
  let seqs: number[];

  before(async () => {
    await receiver.start();
    store = await openStore({ url: ':memory:', secretKey: randomBytes(32) });
    await seedConnections(store, [{ id: 'c1' }, { id: 'c2' }]);
    const rows: SeedChange[] = [];
    for (let i = 0; i < 25; i++) rows.push({ sourcedId: `r${i}`, entity: i % 4 === 0 ? 'users' : 'enrollments', connectionId: i === 7 ? 'c2' : 'c1', kind: 'updated', runId: 1 });
    seqs = await seedChanges(store, rows);
  });
  after(async () => {
    await store.close();
    await new Promise((r) => receiver.server.close(r));
  });

  const options = { batchSize: 10, baseDelayMs: 1, maxDelayMs: 5, maxAttempts: 5, disableAfter: 4 };

  it('delivers every event at least once through failures, signed, cursors advanced; a dead receiver is disabled with the reason', async () => {
    const flaky = await store.webhooks.create({ url: `${receiver.url}/flaky`, startSeq: 0 });
    const users = await store.webhooks.create({ url: `${receiver.url}/users`, connectionId: 'c1', entities: ['users'], startSeq: 0 });
    const dead = await store.webhooks.create({ url: `${receiver.url}/dead`, startSeq: 0 });
    const secrets = new Map([['/flaky', flaky.secret], ['/users', users.secret], ['/dead', dead.secret]]);

    const reports = await deliverPendingWebhooks(store, { connectionId: 'c1', ...options });
    const byId = new Map(reports.map((r) => [r.subscriberId, r]));

    // Flaky: 3 failures, then every batch acknowledged; every event of the tenant (both connections).
    const f = byId.get(flaky.subscriber.id)!;
    assert.equal(f.outcome, 'caught-up');
    assert.equal(f.failures, 3);
    assert.equal(f.delivered, 25);
    assert.deepEqual([...new Set(receiver.events('/flaky').map((e) => e.seq))].sort((a, b) => a - b), seqs, 'every event at least once');
    assert.equal((await store.webhooks.get(flaky.subscriber.id))!.cursorSeq, seqs[24], 'cursor at the last event');
    assert.equal((await store.webhooks.get(flaky.subscriber.id))!.consecutiveFailures, 0, 'reset by the success');
    // The retries of one batch share the delivery id.
    const flakyReqs = receiver.received.filter((r) => r.path === '/flaky');
    assert.equal(new Set(flakyReqs.slice(0, 4).map((r) => r.delivery)).size, 1, 'one delivery id across retries');

    // Users-only, c1-only: just those, and its cursor moved past everything else.
    const u = receiver.events('/users');
    assert.deepEqual(u.map((e) => e.sourcedId), ['r0', 'r4', 'r8', 'r12', 'r16', 'r20', 'r24']);
    assert.ok(u.every((e) => e.entity === 'users' && e.connectionId === 'c1' && e.kind === 'updated' && e.fields !== null), 'event shape');
    assert.equal((await store.webhooks.get(users.subscriber.id))!.cursorSeq, seqs[24]);

    // Every request verifies with its subscriber's secret (and not with another's).
    for (const r of receiver.received) {
      const v = verifyWebhookSignature(secrets.get(r.path)!, r.signature, r.body);
      assert.ok(v.ok, `signature of a ${r.path} request verifies`);
      const wrong = verifyWebhookSignature(r.path === '/users' ? flaky.secret : users.secret, r.signature, r.body);
      assert.equal(wrong.ok, false, 'another secret does not verify');
    }

    // Dead: disabled after 4 consecutive failures, reason recorded (status only), cursor unmoved.
    const d = byId.get(dead.subscriber.id)!;
    assert.equal(d.outcome, 'disabled');
    const ds = (await store.webhooks.get(dead.subscriber.id))!;
    assert.ok(ds.disabledAt, 'disabled');
    assert.equal(ds.disabledReason, '4 consecutive failed deliveries; last: HTTP 500');
    assert.ok(!ds.disabledReason.includes('private'), 'no receiver body in the reason');
    assert.equal(ds.cursorSeq, 0);
    assert.equal(receiver.received.filter((r) => r.path === '/dead').length, 4);

    // Nothing pending: no POSTs; the disabled subscriber is not tried.
    const before2 = receiver.received.length;
    const again = await deliverPendingWebhooks(store, { connectionId: 'c1', ...options });
    assert.deepEqual(again.map((r) => r.delivered), [0, 0]);
    assert.equal(receiver.received.length, before2, 'no requests when caught up');

    // Enrollment changes only: the users-only subscriber receives nothing, yet its cursor moves past
    // them (it must not fall out of retention while other collections change).
    const deliveredAt = (await store.webhooks.get(users.subscriber.id))!.lastDeliveryAt;
    const enr = await seedChanges(store, [{ sourcedId: 'e90', entity: 'enrollments', runId: 2 }, { sourcedId: 'e91', entity: 'enrollments', runId: 2 }]);
    const quiet = await deliverPendingWebhooks(store, { connectionId: 'c1', ...options });
    assert.deepEqual(quiet.map((r) => r.delivered), [2, 0]);
    const us = (await store.webhooks.get(users.subscriber.id))!;
    assert.equal(us.cursorSeq, enr[1], 'skipped to the end of the scanned history');
    assert.equal(us.lastDeliveryAt, deliveredAt, 'a skip is not a delivery');

    // New history goes out on the next call (through a fetch transport this time).
    const more = await seedChanges(store, [{ sourcedId: 'r99', entity: 'users', runId: 2 }]);
    const third = await deliverPendingWebhooks(store, { connectionId: 'c1', fetch, ...options });
    assert.deepEqual(third.map((r) => r.delivered), [1, 1]);
    assert.equal((await store.webhooks.get(users.subscriber.id))!.cursorSeq, more[0]);

    // Re-enabling the dead one resets its state; it then receives its backlog once the receiver works.
    const { subscriber } = await enableWebhook(store, dead.subscriber.id);
    assert.equal(subscriber.disabledAt, undefined);
    assert.equal(subscriber.consecutiveFailures, 0);
  });

  it('a subscriber whose cursor fell out of retention is disabled; enable resumes from the oldest retained event', async () => {
    const s2 = await openStore({ url: ':memory:', secretKey: randomBytes(32) });
    try {
      await seedConnections(s2, [{ id: 'c1' }]);
      const sub = await s2.webhooks.create({ url: `${receiver.url}/ok`, startSeq: 0 });
      await seedChanges(s2, [{ sourcedId: 'a', at: '2020-01-01T00:00:00.000Z' }, { sourcedId: 'b', at: '2020-01-02T00:00:00.000Z' }, { sourcedId: 'c' }]);
      await s2.changes.purge({ connectionId: 'c1', before: '2021-01-01T00:00:00.000Z' });
      const [r] = await deliverPendingWebhooks(s2, options);
      assert.equal(r!.outcome, 'disabled');
      assert.match((await s2.webhooks.get(sub.subscriber.id))!.disabledReason ?? '', /older than the retained events/);
      const { movedCursorTo } = await enableWebhook(s2, sub.subscriber.id);
      assert.equal(movedCursorTo, 2, 'to the purge watermark');
      const [r2] = await deliverPendingWebhooks(s2, options);
      assert.equal(r2!.outcome, 'caught-up');
      assert.equal(r2!.delivered, 1, 'the retained event');
    } finally {
      await s2.close();
    }
  });
});
