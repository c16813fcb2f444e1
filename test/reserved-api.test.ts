/**
 * The re-served OneRoster 1.1 API end to end (issue 6): a simulated district synced into store A,
 * served from A by `createStoreOneRosterServer` to stored API clients, and read back over HTTP by
 * our own client:
 * - a consumer syncing from it (full, then delta) into store B ends with A's live data: the same
 *   sourcedIds and content hashes, with dateLastModified being A's change time;
 * - every SDS provider check passes against it, over OAuth 2 and over OAuth 1.0a;
 * - scopes are enforced (403), bad secrets and revoked clients refused (401), a client sees only its
 *   own connection;
 * - `dateLastModified>'T'` returns exactly the records a later run changed (the change history of
 *   that run), deletions included as `tobedeleted`.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import type { FastifyInstance } from 'fastify';
import { canonicalJson } from '../src/oneroster/canonical.ts';
import { COLLECTIONS, type CollectionName } from '../src/oneroster/types.ts';
import type { Toggles } from '../src/sds/toggles.ts';
import { runProviderChecks } from '../src/sds/provider-checks.ts';
import { syncConnection, type ProviderAccess } from '../src/services/sync-service.ts';
import { startSimulator, type RunningSimulator } from '../src/simulate/server.ts';
import { parseConnection } from '../src/source/connection.ts';
import { OneRosterClient } from '../src/source/oneroster-client.ts';
import { createStoreOneRosterServer } from '../src/serve/store-server.ts';
import type { ApiClient } from '../src/store/api-client-repository.ts';
import { liveTable } from '../src/store/schema.ts';
import { openStore, type Store } from '../src/store/store.ts';
import { hashCanonical } from '../src/sync/record-codec.ts';

const ALL: Toggles = { contacts: true, demographics: true, userFlags: true };
const KEY = Buffer.alloc(32, 9);
const OPTIONAL = { courses: true, demographics: true };

interface LiveRow {
  data: string;
  hash: string;
  deleted: boolean;
  updatedRun: number;
}

async function liveRows(store: Store, connectionId: string, c: CollectionName): Promise<Map<string, LiveRow>> {
  const rows = await sql<{ sourced_id: string; data: string; content_hash: string; deleted_run: number | null; updated_run: number }>`
    select sourced_id, data, content_hash, deleted_run, updated_run from ${sql.table(liveTable(c))} where connection_id = ${connectionId}`.execute(store.db);
  return new Map(rows.rows.map((r) => [r.sourced_id, { data: r.data, hash: r.content_hash, deleted: r.deleted_run !== null, updatedRun: Number(r.updated_run) }]));
}

async function runEnds(store: Store): Promise<Map<number, string>> {
  const runs = await store.db.selectFrom('runs').select(['id', 'finished_at', 'started_at']).execute();
  return new Map(runs.map((r) => [Number(r.id), r.finished_at ?? r.started_at]));
}

/** A's active records, as served (dateLastModified = A's run end), against B's active records. */
async function assertSameLiveData(a: Store, aConn: string, b: Store, bConn: string): Promise<void> {
  const ends = await runEnds(a);
  for (const c of COLLECTIONS) {
    const ra = await liveRows(a, aConn, c);
    const rb = await liveRows(b, bConn, c);
    const activeA = [...ra].filter(([, r]) => !r.deleted).map(([id]) => id).sort();
    const activeB = [...rb].filter(([, r]) => !r.deleted).map(([id]) => id).sort();
    assert.deepEqual(activeB, activeA, `${c}: the consumer holds exactly the provider store's active records`);
    assert.ok(activeA.length > 0, `${c}: something to compare`);
    for (const id of activeA) {
      const x = ra.get(id)!;
      const served = { ...(JSON.parse(x.data) as Record<string, unknown>), dateLastModified: ends.get(x.updatedRun) };
      // The content hash ignores GUIDRef hrefs (they name the server a record was read from).
      assert.equal(rb.get(id)!.hash, hashCanonical(canonicalJson(served)), `${c} ${id}: same content as the provider store`);
    }
  }
}

async function advance(sim: RunningSimulator, days: number): Promise<void> {
  const res = await fetch(`${sim.rootUrl}/simulator/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ days }) });
  assert.equal(res.status, 200, 'simulator advanced');
}

describe('re-served OneRoster API', () => {
  let sim: RunningSimulator;
  let other: RunningSimulator;
  let a: Store;
  let app: FastifyInstance;
  let origin: string;
  let connectionId: string;
  let otherConnectionId: string;
  const clients: Record<'full' | 'core' | 'oauth1' | 'other', { client: ApiClient; clientSecret: string }> = {} as never;
  const closers: Array<() => Promise<void>> = [];

  const apiBase = (): string => `${origin}/ims/oneroster/v1p1`;
  const oauth2 = (k: keyof typeof clients, scope?: string): ProviderAccess => ({
    baseUrl: apiBase(),
    auth: { kind: 'oauth2', tokenUrl: `${origin}/oauth/token`, clientId: clients[k].client.clientId, clientSecret: clients[k].clientSecret, ...(scope ? { scope } : {}) },
  });
  const token = async (clientId: string, secret: string, scope?: string): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await fetch(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: `grant_type=client_credentials${scope ? `&scope=${encodeURIComponent(scope)}` : ''}`,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const get = async (path: string, bearer: string): Promise<Response> => fetch(`${apiBase()}${path}`, { headers: { authorization: `Bearer ${bearer}` } });

  before(async () => {
    sim = await startSimulator({ size: 'tiny', seed: 8, auth: 'oauth2' });
    other = await startSimulator({ size: 'tiny', seed: 99, auth: 'none' });
    closers.push(() => sim.close(), () => other.close());
    a = await openStore({ url: ':memory:', secretKey: KEY });
    closers.push(() => a.close());
    const first = await syncConnection({
      store: a,
      access: { baseUrl: sim.baseUrl, auth: { kind: 'oauth2', tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret } },
      connectionName: 'district',
      optional: OPTIONAL,
      // The product default: the School Data Sync rules on, every toggle on.
      toggles: ALL,
    });
    assert.equal(first.result.status, 'succeeded');
    connectionId = first.connection.id;
    const second = await syncConnection({ store: a, access: { baseUrl: other.baseUrl, auth: { kind: 'none' } }, connectionName: 'other', optional: OPTIONAL });
    otherConnectionId = second.connection.id;
    clients.full = await a.apiClients.create({ connectionId, name: 'lms', scopes: ['roster-core', 'roster', 'demographics'] });
    clients.core = await a.apiClients.create({ connectionId, name: 'core only', scopes: ['roster-core'] });
    clients.oauth1 = await a.apiClients.create({ connectionId, name: 'legacy', scopes: ['roster-core', 'roster', 'demographics'], oauth1: true });
    clients.other = await a.apiClients.create({ connectionId: otherConnectionId, name: 'other', scopes: ['roster-core', 'roster'] });
    app = await createStoreOneRosterServer({ store: a });
    await app.listen({ host: '127.0.0.1', port: 0 });
    closers.unshift(() => app.close());
    const addr = app.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    origin = `http://127.0.0.1:${addr.port}`;
  });

  after(async () => {
    for (const close of closers) await close();
  });

  it('a consumer syncing from it with our client ends with the same data as the store, and a delta after a later run converges again', async () => {
    const b = await openStore({ url: ':memory:' });
    try {
      const full = await syncConnection({ store: b, access: oauth2('full'), connectionName: 'reserved', optional: OPTIONAL });
      assert.equal(full.result.status, 'succeeded', JSON.stringify(full.result.error ?? {}));
      await assertSameLiveData(a, connectionId, b, full.connection.id);

      // Churn upstream, a second run into A, then a delta run of the consumer.
      await advance(sim, 25);
      const run2 = await syncConnection({
        store: a,
        access: { baseUrl: sim.baseUrl, auth: { kind: 'oauth2', tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret } },
        connectionName: 'district',
        optional: OPTIONAL,
      });
      assert.equal(run2.result.status, 'succeeded');
      const delta = await syncConnection({ store: b, access: oauth2('full'), connectionName: 'reserved', optional: OPTIONAL, mode: 'delta' });
      assert.equal(delta.result.status, 'succeeded', JSON.stringify(delta.result.error ?? {}));
      assert.equal(delta.result.mode, 'delta', 'the consumer ran a delta');
      const deleted = Object.values(delta.result.entities).reduce((n, e) => n + (e?.deleted ?? 0), 0);
      assert.ok(deleted > 0, 'the delta carried deletions (served as tobedeleted)');
      await assertSameLiveData(a, connectionId, b, full.connection.id);
    } finally {
      await b.close();
    }
  });

  it('passes every SDS provider check, over OAuth 2 and over OAuth 1.0a', async () => {
    for (const config of [
      parseConnection({ ...oauth2('full'), retry: { maxAttempts: 1 } }),
      parseConnection({ baseUrl: apiBase(), auth: { kind: 'oauth1', clientId: clients.oauth1.client.clientId, clientSecret: clients.oauth1.clientSecret }, retry: { maxAttempts: 1 } }),
    ]) {
      const client = new OneRosterClient(config);
      try {
        const results = await runProviderChecks(client, { toggles: ALL });
        assert.ok(results.length >= 15, `${results.length} checks`);
        assert.deepEqual(results.filter((r) => r.status !== 'pass').map((r) => `${r.id}: ${r.reason ?? ''}`), [], `${config.auth.kind}: all pass`);
      } finally {
        await client.close();
      }
    }
  });

  it('enforces scopes (403), refuses bad secrets and revoked clients (401), and serves each client only its connection', async () => {
    const core = await token(clients.core.client.clientId, clients.core.clientSecret);
    assert.equal(core.status, 200, 'core client gets a token');
    const coreToken = core.body['access_token'] as string;
    assert.equal((await get('/users?limit=1', coreToken)).status, 200, 'roster-core reads /users');
    const demo = await get('/demographics', coreToken);
    assert.equal(demo.status, 403, 'demographics need the demographics scope');
    assert.match(demo.headers.get('www-authenticate') ?? '', /insufficient_scope/);
    const klass = (await (await get('/classes?limit=1', coreToken)).json()) as { classes: Array<{ sourcedId: string }> };
    assert.equal((await get(`/classes/${klass.classes[0]!.sourcedId}/students`, coreToken)).status, 403, 'nested reads need the roster scope');
    const asked = await token(clients.core.client.clientId, clients.core.clientSecret, 'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-demographics.readonly');
    assert.equal(asked.status, 400, 'a scope the client was not granted is refused');
    assert.equal(asked.body['error'], 'invalid_scope');

    const full = await token(clients.full.client.clientId, clients.full.clientSecret);
    const fullToken = full.body['access_token'] as string;
    assert.equal((await get('/demographics?limit=1', fullToken)).status, 200, 'the demographics scope reads demographics');

    const bad = await token(clients.full.client.clientId, `${clients.full.clientSecret}x`);
    assert.equal(bad.status, 401, 'wrong secret');
    assert.equal(bad.body['error'], 'invalid_client');
    assert.equal((await token('rsc_nobody', 'x')).status, 401, 'unknown client');
    assert.equal((await get('/users', 'not-a-token')).status, 401, 'unknown token');
    assert.equal((await fetch(`${apiBase()}/users`)).status, 401, 'no credentials');

    // Revocation: a token issued before it stops working, and no new token is issued.
    const victim = await a.apiClients.create({ connectionId, name: 'to revoke', scopes: ['roster-core'] });
    const before = (await token(victim.client.clientId, victim.clientSecret)).body['access_token'] as string;
    assert.equal((await get('/orgs', before)).status, 200, 'works before revocation');
    await a.apiClients.revoke(victim.client.clientId);
    assert.equal((await get('/orgs', before)).status, 401, 'an earlier token of a revoked client is refused');
    assert.equal((await token(victim.client.clientId, victim.clientSecret)).status, 401, 'a revoked client gets no token');

    // Rotation: the old secret stops working, the new one works.
    const rotated = await a.apiClients.rotate(victim.client.clientId).catch((e: Error) => e);
    assert.ok(rotated instanceof Error, 'a revoked client cannot be rotated');
    const live = await a.apiClients.create({ connectionId, name: 'to rotate', scopes: ['roster-core'] });
    const fresh = await a.apiClients.rotate(live.client.id);
    assert.equal((await token(live.client.clientId, live.clientSecret)).status, 401, 'old secret refused after rotation');
    assert.equal((await token(live.client.clientId, fresh.clientSecret)).status, 200, 'new secret accepted');

    // Isolation: each client reads its own connection.
    const otherToken = (await token(clients.other.client.clientId, clients.other.clientSecret)).body['access_token'] as string;
    const mine = await liveRows(a, connectionId, 'users');
    const theirs = await liveRows(a, otherConnectionId, 'users');
    // The two districts share sourcedIds (generated sequentially) but not names: read one id from both.
    const shared = [...mine.keys()].find((id) => theirs.has(id) && JSON.parse(mine.get(id)!.data).givenName !== JSON.parse(theirs.get(id)!.data).givenName)!;
    assert.ok(shared !== undefined, 'a sourcedId both connections hold with different content');
    const nameFor = async (t: string): Promise<unknown> => ((await (await get(`/users/${encodeURIComponent(shared)}`, t)).json()) as { user: { givenName: unknown } }).user.givenName;
    assert.equal(await nameFor(fullToken), JSON.parse(mine.get(shared)!.data).givenName, 'a client reads its own connection\'s record');
    assert.equal(await nameFor(otherToken), JSON.parse(theirs.get(shared)!.data).givenName, 'the other client reads the other connection\'s record');
    const totalOf = async (t: string): Promise<number> => Number((await get('/users?limit=1', t)).headers.get('x-total-count'));
    assert.equal(await totalOf(fullToken), mine.size);
    assert.equal(await totalOf(otherToken), theirs.size);
  });

  it('two API nodes over one store (same secret key): a token issued by one is accepted by the other, and a revoked client is refused by both', async () => {
    const nodeB = await createStoreOneRosterServer({ store: a });
    await nodeB.listen({ host: '127.0.0.1', port: 0 });
    try {
      const addr = nodeB.server.address();
      if (addr === null || typeof addr === 'string') throw new Error('no address');
      const baseB = `http://127.0.0.1:${addr.port}/ims/oneroster/v1p1`;
      const extra = await a.apiClients.create({ connectionId, name: 'two nodes', scopes: ['roster-core'] });
      const t = await token(extra.client.clientId, extra.clientSecret);
      assert.equal(t.status, 200);
      const bearer = t.body['access_token'] as string;
      const onB = (): Promise<Response> => fetch(`${baseB}/orgs?limit=1`, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal((await onB()).status, 200, 'node B accepts the token node A issued');
      assert.equal((await get('/orgs?limit=1', bearer)).status, 200);
      await a.apiClients.revoke(extra.client.clientId);
      assert.equal((await onB()).status, 401, 'revoked: refused by node B');
      assert.equal((await get('/orgs?limit=1', bearer)).status, 401, 'revoked: refused by node A');
    } finally {
      await nodeB.close();
    }
  });

  it('OAuth 1.0a: only clients created with it may sign, and a bad signature is refused', async () => {
    const read = async (clientId: string, secret: string): Promise<number> => {
      const c = new OneRosterClient(parseConnection({ baseUrl: apiBase(), auth: { kind: 'oauth1', clientId, clientSecret: secret }, retry: { maxAttempts: 1 } }));
      try {
        return (await c.getRaw('/orgs', { limit: 1 })).status;
      } finally {
        await c.close();
      }
    };
    assert.equal(await read(clients.oauth1.client.clientId, clients.oauth1.clientSecret), 200, 'signed with the right secret');
    assert.equal(await read(clients.oauth1.client.clientId, 'wrong'), 401, 'bad signature');
    assert.equal(await read(clients.full.client.clientId, clients.full.clientSecret), 401, 'an OAuth 2-only client cannot sign');
    const core = await a.apiClients.create({ connectionId, name: 'legacy core', scopes: ['roster-core'], oauth1: true });
    const c = new OneRosterClient(parseConnection({ baseUrl: apiBase(), auth: { kind: 'oauth1', clientId: core.client.clientId, clientSecret: core.clientSecret }, retry: { maxAttempts: 1 } }));
    try {
      assert.equal((await c.getRaw('/demographics')).status, 403, 'an OAuth 1.0a client\'s stored scopes apply');
    } finally {
      await c.close();
    }
  });

  it('dateLastModified>T returns exactly what a later run changed, tombstones included as tobedeleted', async () => {
    const full = (await token(clients.full.client.clientId, clients.full.clientSecret)).body['access_token'] as string;
    const runs = await a.runs.list({ connectionId, limit: 10 });
    const done = runs.filter((r) => r.finishedAt !== undefined).sort((x, y) => x.id - y.id);
    if (done.length < 2) {
      // Independent of test order: make a later run here when the first test did not.
      await advance(sim, 25);
      await syncConnection({
        store: a,
        access: { baseUrl: sim.baseUrl, auth: { kind: 'oauth2', tokenUrl: sim.tokenUrl, clientId: sim.clientId, clientSecret: sim.clientSecret } },
        connectionName: 'district',
        optional: OPTIONAL,
      });
    }
    const finished = (await a.runs.list({ connectionId, limit: 10 })).filter((r) => r.finishedAt !== undefined).sort((x, y) => x.id - y.id);
    const last = finished[finished.length - 1]!;
    const previous = finished[finished.length - 2]!;
    const readAll = async (collection: string, filter: string): Promise<Array<Record<string, unknown>>> => {
      const out: Array<Record<string, unknown>> = [];
      for (let offset = 0; ; offset += 7) {
        const res = await get(`/${collection}?limit=7&offset=${offset}&filter=${encodeURIComponent(filter)}`, full);
        assert.equal(res.status, 200);
        const page = ((await res.json()) as Record<string, Array<Record<string, unknown>>>)[collection]!;
        out.push(...page);
        if (offset + 7 >= Number(res.headers.get('x-total-count'))) return out;
      }
    };
    let deletions = 0;
    for (const c of ['users', 'enrollments', 'classes'] as const) {
      const changes = await a.db.selectFrom('changes').select(['sourced_id', 'kind']).where('run_id', '=', last.id).where('entity', '=', c).where('applied', '=', 1).execute();
      const served = await readAll(c, `dateLastModified>'${previous.finishedAt!}'`);
      assert.deepEqual(served.map((r) => r['sourcedId']).sort(), [...new Set(changes.map((r) => r.sourced_id))].sort(), `${c}: exactly the changes of run ${last.id}`);
      for (const r of served) assert.equal(r['dateLastModified'], last.finishedAt, `${c} ${String(r['sourcedId'])}: served time is the run's end`);
      const deleted = new Set(changes.filter((r) => r.kind === 'deleted').map((r) => r.sourced_id));
      for (const r of served) assert.equal(r['status'], deleted.has(r['sourcedId'] as string) ? 'tobedeleted' : 'active', `${c} ${String(r['sourcedId'])} status`);
      deletions += deleted.size;
      assert.deepEqual(await readAll(c, `dateLastModified>'${last.finishedAt!}'`), [], `${c}: nothing after the last run`);
      // A tombstone is readable by id and listed by status, until the retention purge.
      const [gone] = deleted;
      if (gone !== undefined) {
        const one = (await (await get(`/${c}/${encodeURIComponent(gone)}`, full)).json()) as Record<string, Record<string, unknown>>;
        assert.equal(Object.values(one)[0]!['status'], 'tobedeleted');
        const tomb = await readAll(c, "status='tobedeleted'");
        assert.ok(tomb.some((r) => r['sourcedId'] === gone), `${c}: tombstone listed by status`);
        const active = await readAll(c, "status='active'");
        assert.ok(!active.some((r) => r['sourcedId'] === gone), `${c}: tombstone not listed as active`);
      }
    }
    assert.ok(deletions > 0, 'the later run deleted something');
  });
});
