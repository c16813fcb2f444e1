import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ChangeEvent, EventSource, Subscriber, SubscriberStore } from './webhook-delivery.ts';
import { WebhookDeliverer, parseRetryAfter } from './webhook-delivery.ts';
import { verifyWebhookSignature } from './webhook-signing.ts';

// --- Port fakes ----------------------------------------------------------------------------------

const pad = (n: number) => String(n).padStart(8, '0');

function events(n: number, entityOf: (i: number) => string = () => 'users'): ChangeEvent[] {
  return Array.from({ length: n }, (_, i) => ({
    cursor: pad(i + 1), seq: i + 1, kind: 'updated', entity: entityOf(i), sourcedId: `id-${i + 1}`, fields: { givenName: { before: 'A', after: 'B' } },
    runId: 7, connectionId: 'c1', at: '2026-01-01T00:00:00.000Z',
  }));
}

class MemoryEvents implements EventSource<ChangeEvent> {
  calls = 0;
  constructor(private readonly log: ChangeEvent[], private readonly oldestRetained?: string) {}
  async after(cursor: string | undefined, limit: number): Promise<readonly ChangeEvent[]> {
    this.calls++;
    if (cursor !== undefined && this.oldestRetained !== undefined && cursor < this.oldestRetained) {
      throw Object.assign(new Error('cursor beyond retention'), { code: 'STALE_CURSOR' as const });
    }
    return this.log.filter((e) => cursor === undefined || e.cursor > cursor).slice(0, limit);
  }
}

class MemorySubscribers implements SubscriberStore {
  cursors = new Map<string, string>();
  consecutive = new Map<string, number>();
  failures: Array<{ id: string; reason: string }> = [];
  disabled = new Map<string, string>();
  advances: string[] = [];
  failNextAdvance = false;
  async cursor(id: string) {
    return this.cursors.get(id);
  }
  async advance(id: string, cursor: string) {
    if (this.failNextAdvance) {
      this.failNextAdvance = false;
      throw new Error('store write failed');
    }
    this.cursors.set(id, cursor);
    this.consecutive.set(id, 0);
    this.advances.push(cursor);
  }
  async recordFailure(id: string, reason: string) {
    this.failures.push({ id, reason });
    const n = (this.consecutive.get(id) ?? 0) + 1;
    this.consecutive.set(id, n);
    return n;
  }
  async disable(id: string, reason: string) {
    this.disabled.set(id, reason);
  }
}

// --- A local receiver ---------------------------------------------------------------------------

interface Received {
  body: string;
  headers: Record<string, string | string[] | undefined>;
  verified: boolean;
}

const SECRET = 'whsec_delivery_test';

class Receiver {
  readonly app: FastifyInstance;
  received: Received[] = [];
  /** Status per request, in order; 200 once exhausted. */
  script: Array<number | { status: number; headers?: Record<string, string>; delayMs?: number }> = [];
  url = '';

  constructor() {
    this.app = Fastify({ logger: false, forceCloseConnections: true });
    // Keep the raw body: signatures are over the exact bytes.
    this.app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    this.app.post('/hook', async (req, reply) => {
      const body = req.body as string;
      const header = req.headers['rostersync-signature'];
      const verified = verifyWebhookSignature(SECRET, typeof header === 'string' ? header : undefined, body).ok;
      this.received.push({ body, headers: req.headers, verified });
      const step = this.script.shift() ?? 200;
      const s = typeof step === 'number' ? { status: step } : step;
      if (s.delayMs) await new Promise((r) => setTimeout(r, s.delayMs));
      if (s.headers) reply.headers(s.headers);
      return reply.code(s.status).send(s.status < 300 ? { ok: true } : { error: 'receiver says no' });
    });
  }

  async start(): Promise<void> {
    const address = await this.app.listen({ host: '127.0.0.1', port: 0 });
    this.url = `${address}/hook`;
  }

  events(): ChangeEvent[] {
    return this.received.flatMap((r) => (JSON.parse(r.body) as { events: ChangeEvent[] }).events);
  }
}

function setup(log: ChangeEvent[], options: ConstructorParameters<typeof WebhookDeliverer>[1] = {}, oldestRetained?: string) {
  const source = new MemoryEvents(log, oldestRetained);
  const store = new MemorySubscribers();
  const sleeps: number[] = [];
  const deliverer = new WebhookDeliverer(
    { events: source, subscribers: store, sleep: async (ms) => void sleeps.push(ms), random: () => 0.5 },
    { batchSize: 10, maxAttempts: 4, baseDelayMs: 100, maxDelayMs: 1000, disableAfter: 6, timeoutMs: 2000, ...options },
  );
  return { source, store, sleeps, deliverer };
}

describe('webhook delivery', () => {
  const receiver = new Receiver();
  let sub: Subscriber;
  before(async () => {
    await receiver.start();
  });
  after(async () => {
    await receiver.app.close();
  });
  beforeEach(() => {
    receiver.received = [];
    receiver.script = [];
    sub = { id: 'sub-1', url: receiver.url, secret: SECRET };
  });

  it('POSTs signed batches in order and advances the cursor after each 2xx', async () => {
    const log = events(25);
    const { store, deliverer } = setup(log);
    const report = await deliverer.deliver(sub);
    assert.deepEqual({ outcome: report.outcome, delivered: report.delivered, batches: report.batches, attempts: report.attempts, failures: report.failures, cursor: report.cursor },
      { outcome: 'caught-up', delivered: 25, batches: 3, attempts: 3, failures: 0, cursor: pad(25) });
    assert.equal(receiver.received.length, 3);
    assert.ok(receiver.received.every((r) => r.verified), 'every request verifies with the shared secret');
    assert.deepEqual(receiver.events(), log, 'all events, in order, as the source gave them');
    assert.deepEqual(store.advances, [pad(10), pad(20), pad(25)]);
    const first = JSON.parse(receiver.received[0]!.body) as { subscriptionId: string; cursor: string };
    assert.deepEqual([first.subscriptionId, first.cursor], ['sub-1', pad(10)]);
    assert.equal(receiver.received[0]!.headers['content-type'], 'application/json');

    // Caught up: a second call sends nothing.
    const again = await deliverer.deliver(sub);
    assert.deepEqual([again.outcome, again.attempts], ['caught-up', 0]);
    assert.equal(receiver.received.length, 3);
  });

  it('survives a receiver that fails the first attempts (retry with backoff, same delivery id)', async () => {
    receiver.script = [500, { status: 503, headers: { 'retry-after': '0' } }];
    const { store, sleeps, deliverer } = setup(events(5));
    const report = await deliverer.deliver(sub);
    assert.deepEqual([report.outcome, report.delivered, report.attempts, report.failures], ['caught-up', 5, 3, 2]);
    assert.equal(receiver.received.length, 3);
    const ids = new Set(receiver.received.map((r) => r.headers['rostersync-delivery']));
    assert.equal(ids.size, 1, 'one delivery id across the retries of a batch');
    assert.deepEqual(receiver.received.map((r) => r.headers['rostersync-attempt']), ['1', '2', '3']);
    assert.ok(receiver.received.every((r) => r.verified), 'retries are signed afresh');
    assert.deepEqual(store.failures.map((f) => f.reason), ['HTTP 500', 'HTTP 503']);
    assert.deepEqual(sleeps, [75, 150], 'equal jitter: cap 100 then 200, random 0.5');
    assert.deepEqual(store.advances, [pad(5)], 'the cursor moved once, after the 2xx');
    assert.equal(store.consecutive.get('sub-1'), 0, 'a success resets the failure count');
  });

  it('gives up after maxAttempts keeping the cursor, and disables after N consecutive failures', async () => {
    receiver.script = Array.from({ length: 20 }, () => 500);
    const { store, deliverer } = setup(events(3));
    const first = await deliverer.deliver(sub);
    assert.deepEqual([first.outcome, first.attempts, first.lastError], ['gave-up', 4, 'HTTP 500']);
    assert.equal(store.cursors.get('sub-1'), undefined, 'nothing acknowledged, cursor unchanged');
    assert.equal(store.disabled.size, 0);

    const second = await deliverer.deliver(sub);
    assert.equal(second.outcome, 'disabled');
    assert.equal(second.attempts, 2, 'the 5th and 6th consecutive failures');
    assert.equal(store.disabled.get('sub-1'), '6 consecutive failed deliveries; last: HTTP 500');
    assert.equal(second.disabledReason, store.disabled.get('sub-1'));
    assert.ok(!store.disabled.get('sub-1')!.includes('receiver says no'), 'the receiver body is never recorded');
  });

  it('sends only the subscribed entities and moves past the others', async () => {
    const log = events(30, (i) => (i % 3 === 0 ? 'enrollments' : 'users'));
    const { store, deliverer } = setup(log);
    const report = await deliverer.deliver({ ...sub, entities: ['enrollments'] });
    assert.equal(report.delivered, 10);
    assert.deepEqual(receiver.events().map((e) => e.entity), Array(10).fill('enrollments'));
    assert.equal(store.cursors.get('sub-1'), pad(30));
  });

  it('is at-least-once: a batch whose acknowledgement was not stored is sent again', async () => {
    const { store, deliverer } = setup(events(4));
    store.failNextAdvance = true;
    await assert.rejects(deliverer.deliver(sub), /store write failed/);
    const report = await deliverer.deliver(sub);
    assert.equal(report.delivered, 4);
    assert.equal(receiver.received.length, 2);
    assert.equal(receiver.received[0]!.body, receiver.received[1]!.body, 'the same events again');
  });

  it('records network errors and timeouts without following redirects', async () => {
    const closed = Fastify();
    const addr = await closed.listen({ host: '127.0.0.1', port: 0 });
    await closed.close();
    const { store, deliverer } = setup(events(1), { maxAttempts: 1 });
    const refused = await deliverer.deliver({ ...sub, url: `${addr}/hook` });
    assert.deepEqual([refused.outcome, refused.lastError], ['gave-up', 'network error ECONNREFUSED']);

    receiver.script = [{ status: 200, delayMs: 300 }];
    const slow = setup(events(1), { maxAttempts: 1, timeoutMs: 50 });
    const timedOut = await slow.deliverer.deliver(sub);
    assert.deepEqual([timedOut.outcome, timedOut.lastError], ['gave-up', 'timeout after 50 ms']);

    receiver.script = [{ status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } }];
    const moved = await deliverer.deliver(sub);
    assert.deepEqual([moved.outcome, moved.lastError], ['gave-up', 'HTTP 302 (redirects are not followed)']);
    assert.equal(store.failures.length, 2);
  });

  it('disables a subscriber whose cursor fell out of the retained events', async () => {
    const { store, deliverer } = setup(events(10), {}, pad(5));
    store.cursors.set('sub-1', pad(2));
    const report = await deliverer.deliver(sub);
    assert.equal(report.outcome, 'disabled');
    assert.match(store.disabled.get('sub-1')!, /re-read the full roster/);
    assert.equal(receiver.received.length, 0);
  });

  it('stops at maxBatches and resumes from the cursor', async () => {
    const { deliverer } = setup(events(25), { maxBatches: 2 });
    const first = await deliverer.deliver(sub);
    assert.deepEqual([first.outcome, first.delivered], ['batch-limit', 20]);
    const second = await deliverer.deliver(sub);
    assert.deepEqual([second.outcome, second.delivered], ['caught-up', 5]);
  });

  it('delivers to several subscribers; one failing does not hold up the others', async () => {
    const { store, deliverer } = setup(events(3), { maxAttempts: 1 });
    const closed = Fastify();
    const addr = await closed.listen({ host: '127.0.0.1', port: 0 });
    await closed.close();
    const reports = await deliverer.deliverAll([
      { id: 'down', url: `${addr}/hook`, secret: SECRET },
      { id: 'up', url: receiver.url, secret: SECRET },
    ], { concurrency: 2 });
    assert.deepEqual(reports.map((r) => [r.subscriberId, r.outcome, r.delivered]), [['down', 'gave-up', 0], ['up', 'caught-up', 3]]);
    assert.equal(store.cursors.get('up'), pad(3));
    assert.equal(store.cursors.get('down'), undefined);
  });

  it('aborts between attempts', async () => {
    receiver.script = [500, 500];
    const ac = new AbortController();
    const source = new MemoryEvents(events(2));
    const store = new MemorySubscribers();
    const deliverer = new WebhookDeliverer({ events: source, subscribers: store, random: () => 0 }, { baseDelayMs: 10_000, maxDelayMs: 10_000 });
    setTimeout(() => ac.abort(new Error('shutting down')), 50);
    const t0 = Date.now();
    await assert.rejects(deliverer.deliver(sub, ac.signal), /shutting down/);
    assert.ok(Date.now() - t0 < 5000, 'did not wait out the backoff');
    assert.equal(store.cursors.get('sub-1'), undefined);
  });
});

describe('backoff and Retry-After', () => {
  it('grows exponentially with equal jitter, capped, and honours Retry-After', () => {
    const lo = new WebhookDeliverer({ events: new MemoryEvents([]), subscribers: new MemorySubscribers(), random: () => 0 }, { baseDelayMs: 1000, maxDelayMs: 30_000 });
    const hi = new WebhookDeliverer({ events: new MemoryEvents([]), subscribers: new MemorySubscribers(), random: () => 0.999999 }, { baseDelayMs: 1000, maxDelayMs: 30_000 });
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((a) => lo.backoffMs(a)), [500, 1000, 2000, 4000, 8000, 15_000, 15_000]);
    assert.deepEqual([1, 2, 3, 6].map((a) => hi.backoffMs(a)), [1000, 2000, 4000, 30_000]);
    assert.equal(lo.backoffMs(1, 20), 20_000);
    assert.equal(lo.backoffMs(1, 3600), 30_000, 'Retry-After is capped by maxDelayMs');
  });

  it('parses Retry-After seconds and HTTP dates', () => {
    assert.equal(parseRetryAfter('120'), 120);
    assert.equal(parseRetryAfter('Wed, 21 Oct 2015 07:28:30 GMT', Date.parse('Wed, 21 Oct 2015 07:28:00 GMT')), 30);
    assert.equal(parseRetryAfter('soon'), undefined);
    assert.equal(parseRetryAfter(undefined), undefined);
  });
});
