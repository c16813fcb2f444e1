/**
 * The events API for downstream API clients, as `rostersync serve` composes it: a bearer token from
 * the re-served OneRoster API's token endpoint also reads `/api/v1/events`, limited to the client's
 * own connection, and to non-demographic collections unless the token has the demographics scope.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { buildApp } from '../src/http/app.ts';
import { servePlugins } from '../src/http/plugins.ts';
import { ONEROSTER_SCOPES } from '../src/serve/oauth2-server.ts';
import { syncConnection } from '../src/services/sync-service.ts';
import { startSimulator } from '../src/simulate/server.ts';
import { openStore } from '../src/store/store.ts';

interface EventPage {
  events: Array<{ connectionId: string; entity: string; kind: string }>;
  hasMore: boolean;
  next?: string;
  cursor?: string;
}

test('API clients read the events of their own connection with their OneRoster bearer token', async (t) => {
  const sim = await startSimulator({ size: 'tiny', auth: 'none', seed: 5 });
  const store = await openStore({ url: ':memory:', secretKey: randomBytes(32) });
  const before = process.env.ROSTERSYNC_ADMIN_PASSWORD;
  process.env.ROSTERSYNC_ADMIN_PASSWORD = 'an admin password for the test';
  const app = await buildApp({ store, plugins: servePlugins({ store, logger: pino({ enabled: false }) }) });
  if (before === undefined) delete process.env.ROSTERSYNC_ADMIN_PASSWORD;
  else process.env.ROSTERSYNC_ADMIN_PASSWORD = before;
  t.after(async () => {
    await app.close();
    await store.close();
    await sim.close();
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

  const synced = await syncConnection({ store, access: { baseUrl: sim.baseUrl, auth: { kind: 'none' } }, optional: { demographics: true }, policy: { thresholds: false } });
  assert.equal(synced.result.status, 'succeeded');
  const connectionId = synced.connection.id;
  assert.ok((synced.result.entities.demographics?.created ?? 0) > 0, 'the district has demographics');
  // Another connection's history must stay invisible.
  const other = await store.connections.create({ id: 'other', name: 'other', baseUrl: 'https://other.example/ims/oneroster/v1p1', authKind: 'none' });
  await store.db.insertInto('changes').values({ tenant_id: other.tenantId, connection_id: 'other', run_id: synced.result.runId, entity: 'users', sourced_id: 'not-yours', kind: 'created', fields: null, at: new Date().toISOString() }).execute();

  const core = await store.apiClients.create({ connectionId, name: 'lms', scopes: ['roster-core'] });
  const demo = await store.apiClients.create({ connectionId, name: 'analytics', scopes: ['roster-core', 'demographics'] });
  const token = async (c: typeof core, scope: string): Promise<string> => {
    const res = await fetch(`${origin}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${c.client.clientId}:${c.clientSecret}`).toString('base64')}` },
      body: `grant_type=client_credentials&scope=${encodeURIComponent(scope)}`,
    });
    assert.equal(res.status, 200);
    return ((await res.json()) as { access_token: string }).access_token;
  };
  const all = async (bearer: string): Promise<EventPage['events']> => {
    const out: EventPage['events'] = [];
    let url = `${origin}/api/v1/events?limit=500`;
    for (;;) {
      const res = await fetch(url, { headers: { authorization: `Bearer ${bearer}` } });
      assert.equal(res.status, 200, await res.clone().text());
      const page = (await res.json()) as EventPage;
      out.push(...page.events);
      if (!page.hasMore || page.next === undefined) return out;
      url = `${origin}/api/v1/events?limit=500&after=${encodeURIComponent(page.next)}`;
    }
  };

  const coreEvents = await all(await token(core, ONEROSTER_SCOPES.core));
  const expected = Object.entries(synced.result.entities).filter(([c]) => c !== 'demographics').reduce((n, [, e]) => n + (e?.created ?? 0), 0);
  assert.equal(coreEvents.length, expected, 'every created record of the non-demographic collections, once');
  assert.ok(coreEvents.every((e) => e.connectionId === connectionId), 'only its own connection');
  assert.ok(!coreEvents.some((e) => e.entity === 'demographics'), 'no demographics without the scope');

  const demoEvents = await all(await token(demo, `${ONEROSTER_SCOPES.core} ${ONEROSTER_SCOPES.demographics}`));
  assert.equal(demoEvents.filter((e) => e.entity === 'demographics').length, synced.result.entities.demographics?.created);
  assert.ok(demoEvents.every((e) => e.connectionId === connectionId));

  // Refusals: a made-up token, and a revoked client's token.
  const bad = await fetch(`${origin}/api/v1/events`, { headers: { authorization: 'Bearer not-a-token' } });
  assert.equal(bad.status, 401);
  const revokedToken = await token(core, ONEROSTER_SCOPES.core);
  await store.apiClients.revoke(core.client.id);
  const revoked = await fetch(`${origin}/api/v1/events`, { headers: { authorization: `Bearer ${revokedToken}` } });
  assert.equal(revoked.status, 401);
  assert.match(((await revoked.json()) as { message: string }).message, /revoked/);
  // Admin routes stay closed to API-client tokens.
  const adminRoute = await fetch(`${origin}/api/v1/connections`, { headers: { authorization: `Bearer ${await token(demo, ONEROSTER_SCOPES.core)}` } });
  assert.equal(adminRoute.status, 401);
});
