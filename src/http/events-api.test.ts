import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ChangeEvent } from '../outputs/change-events.ts';
import { seedChanges, seedConnections, type SeedChange } from '../store/change-test-support.ts';
import { openStore, type Store } from '../store/store.ts';
import { eventsApiPlugin, type EventsPrincipal } from './events-api.ts';

interface Page {
  events: ChangeEvent[];
  next: string;
  hasMore: boolean;
}

/** A fake authorisation: `x-tenant` names the tenant, `x-connections` narrows, `x-entities` too. */
function authorize(request: { headers: Record<string, string | string[] | undefined> }) {
  const tenant = request.headers['x-tenant'];
  if (typeof tenant !== 'string') return { status: 401 as const, error: 'unauthorized', message: 'no credentials', headers: { 'www-authenticate': 'Bearer' } };
  if (tenant === 'blocked') return { status: 403 as const, error: 'forbidden', message: 'no events scope' };
  const p: EventsPrincipal = { tenantId: tenant };
  const conns = request.headers['x-connections'];
  if (typeof conns === 'string') p.connectionIds = conns.split(',');
  const ents = request.headers['x-entities'];
  if (typeof ents === 'string') p.entities = ents.split(',');
  return p;
}

describe('events API', () => {
  let store: Store;
  let app: FastifyInstance;
  let seqs: number[];

  before(async () => {
    store = await openStore({ url: ':memory:' });
    await seedConnections(store, [{ id: 'c1' }, { id: 'c2' }, { id: 'c3', tenantId: 't2' }]);
    const rows: SeedChange[] = [];
    for (let i = 0; i < 25; i++) {
      rows.push({ sourcedId: `u${i}`, connectionId: i % 5 === 4 ? 'c2' : 'c1', entity: i % 3 === 0 ? 'enrollments' : 'users', kind: i < 10 ? 'created' : 'updated', runId: 1 + Math.floor(i / 10) });
    }
    rows.splice(12, 0, { sourcedId: 'plan', connectionId: 'c1', entity: 'users', kind: 'deleted', runId: 99, applied: 0 });
    rows.push({ sourcedId: 'other', connectionId: 'c3', tenantId: 't2', entity: 'users', kind: 'created', runId: 50 });
    seqs = await seedChanges(store, rows);
    app = Fastify();
    await app.register(eventsApiPlugin, { store, authorize, fullReadUrl: 'https://rs.example/ims/oneroster/v1p1' });
    await app.ready();
  });
  after(async () => {
    await app.close();
    await store.close();
  });

  const get = async (url: string, headers: Record<string, string> = { 'x-tenant': 'default' }) => {
    const res = await app.inject({ method: 'GET', url, headers });
    return { status: res.statusCode, body: res.json() as Page & { error?: string; message?: string; fullRead?: string; restartCursor?: string; cursor?: string }, headers: res.headers };
  };

  it('pages through every event of the tenant in order, resumably, without plans or other tenants', async () => {
    const seen: ChangeEvent[] = [];
    let url = '/api/v1/events?limit=7';
    for (let i = 0; i < 20; i++) {
      const { status, body } = await get(url);
      assert.equal(status, 200);
      seen.push(...body.events);
      if (!body.hasMore) break;
      url = `/api/v1/events?limit=7&after=${encodeURIComponent(body.next)}`;
    }
    assert.equal(seen.length, 25, 'every applied event of tenant default');
    assert.deepEqual(seen.map((e) => e.seq), [...seen.map((e) => e.seq)].sort((a, b) => a - b), 'ordered');
    assert.equal(new Set(seen.map((e) => e.seq)).size, 25, 'no duplicates across pages');
    assert.ok(!seen.some((e) => e.sourcedId === 'plan' || e.sourcedId === 'other'), 'no plan rows, no other tenant');
    const e = seen.find((x) => x.sourcedId === 'u11')!;
    assert.deepEqual(Object.keys(e).sort(), ['at', 'connectionId', 'cursor', 'entity', 'fields', 'kind', 'runId', 'seq', 'sourcedId']);
    assert.equal(e.kind, 'updated');
    assert.deepEqual(e.fields, { givenName: { before: 'Ann', after: 'Anna' } });
    assert.equal(seen.find((x) => x.sourcedId === 'u1')!.fields, null, 'created: fields null');
    // Resuming from a mid cursor gives exactly the rest.
    const mid = seen[9]!;
    const rest = await get(`/api/v1/events?limit=100&after=${mid.cursor}`);
    assert.deepEqual(rest.body.events.map((x) => x.seq), seen.slice(10).map((x) => x.seq));
    assert.equal(rest.body.hasMore, false);
    // Caught up: an empty page keeps the cursor.
    const caught = await get(`/api/v1/events?after=${rest.body.next}`);
    assert.deepEqual(caught.body.events, []);
    assert.equal(caught.body.next, rest.body.next);
    assert.equal(caught.body.hasMore, false);
    assert.equal(caught.headers['cache-control'], 'no-store');
  });

  it('filters by connection and entities; the principal narrows what a client sees', async () => {
    const c2 = await get('/api/v1/events?connection=c2&limit=100');
    assert.equal(c2.status, 200);
    assert.equal(c2.body.events.length, 5);
    assert.ok(c2.body.events.every((e) => e.connectionId === 'c2'), 'only c2');
    const enr = await get('/api/v1/events?entities=enrollments&limit=100');
    assert.equal(enr.body.events.length, 9);
    assert.ok(enr.body.events.every((e) => e.entity === 'enrollments'), 'only enrollments');
    const narrowed = await get('/api/v1/events?limit=100&entities=users,enrollments', { 'x-tenant': 'default', 'x-connections': 'c1', 'x-entities': 'users' });
    assert.ok(narrowed.body.events.length > 0, 'sees something');
    assert.ok(narrowed.body.events.every((e) => e.connectionId === 'c1' && e.entity === 'users'), 'principal limits apply over the query');
    const t2 = await get('/api/v1/events?limit=100', { 'x-tenant': 't2' });
    assert.deepEqual(t2.body.events.map((e) => e.sourcedId), ['other']);
  });

  it('refuses bad requests with JSON errors', async () => {
    assert.equal((await get('/api/v1/events', {})).status, 401);
    const unauth = await app.inject({ method: 'GET', url: '/api/v1/events' });
    assert.equal(unauth.headers['www-authenticate'], 'Bearer');
    assert.equal((await get('/api/v1/events', { 'x-tenant': 'blocked' })).status, 403);
    const badCursor = await get('/api/v1/events?after=12');
    assert.equal(badCursor.status, 400);
    assert.equal(badCursor.body.error, 'invalid_cursor');
    assert.equal((await get('/api/v1/events?limit=0')).status, 400);
    assert.equal((await get('/api/v1/events?limit=abc')).status, 400);
    assert.equal((await get('/api/v1/events?entities=pupils')).status, 400);
    assert.equal((await get('/api/v1/events?after=a&after=b')).status, 400);
    const foreign = await get('/api/v1/events?connection=c3');
    assert.equal(foreign.status, 404, "another tenant's connection is not visible");
    assert.equal(foreign.body.error, 'unknown_connection');
    assert.equal((await get('/api/v1/events?connection=c2', { 'x-tenant': 'default', 'x-connections': 'c1' })).status, 404, 'outside the principal');
    const clamped = await get('/api/v1/events?limit=5000');
    assert.equal(clamped.status, 200, 'a large limit is clamped, not refused');
  });

  it('head gives the current position; a cursor older than the retained history gets 410 with where to re-read', async () => {
    const head = await get('/api/v1/events/head');
    assert.equal(head.status, 200);
    const fromHead = await get(`/api/v1/events?after=${head.body.cursor}`);
    assert.deepEqual(fromHead.body.events, [], 'nothing after the head');

    const early = await get('/api/v1/events?limit=3');
    const oldCursor = early.body.next;
    // Retention removes c1's history through the 6th event.
    const cutoffSeq = seqs[5]!;
    await store.db.updateTable('changes').set({ at: '2020-01-01T00:00:00.000Z' }).where('seq', '<=', cutoffSeq).where('connection_id', '=', 'c1').execute();
    await store.changes.purge({ connectionId: 'c1', before: '2021-01-01T00:00:00.000Z' });
    const gone = await get(`/api/v1/events?after=${oldCursor}`);
    assert.equal(gone.status, 410);
    assert.equal(gone.body.error, 'cursor_expired');
    assert.equal(gone.body.fullRead, 'https://rs.example/ims/oneroster/v1p1');
    assert.match(gone.body.message ?? '', /full read/);
    assert.equal(gone.body.restartCursor, head.body.cursor, 'resume from the head as it was when told');
    // c2 alone lost nothing: its cursor stays valid.
    assert.equal((await get(`/api/v1/events?connection=c2&after=${oldCursor}`)).status, 200);
    // Another tenant is not affected by c1's purge.
    assert.equal((await get(`/api/v1/events?after=${oldCursor}`, { 'x-tenant': 't2' })).status, 200);
    // Without a cursor a consumer starts at the oldest retained event (never 410).
    const fresh = await get('/api/v1/events?limit=1000');
    assert.equal(fresh.status, 200);
    assert.ok(fresh.body.events.every((e) => e.connectionId === 'c2' || e.seq > cutoffSeq), 'purged events are gone');
  });
});
