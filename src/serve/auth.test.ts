import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { signRequest } from '../source/oauth1-signer.ts';
import { ONEROSTER_SCOPES } from './oauth2-server.ts';
import { createOneRosterServer } from './oneroster-server.ts';
import { tinyDistrict } from './test-district.ts';

const P = '/ims/oneroster/v1p1';
const CLIENT = { clientId: 'client one', clientSecret: 'p@ss:word+/' };
const basic = 'Basic ' + Buffer.from(`${encodeURIComponent(CLIENT.clientId)}:${encodeURIComponent(CLIENT.clientSecret)}`).toString('base64');

const codeMinor = (r: LightMyRequestResponse): string =>
  (JSON.parse(r.body) as { statusInfoSet: Array<{ imsx_codeMinor: { imsx_codeMinorField: Array<{ imsx_codeMinorFieldValue: string }> } }> })
    .statusInfoSet[0]?.imsx_codeMinor.imsx_codeMinorField[0]?.imsx_codeMinorFieldValue ?? '';
const description = (r: LightMyRequestResponse): string =>
  (JSON.parse(r.body) as { statusInfoSet: Array<{ imsx_description: string }> }).statusInfoSet[0]?.imsx_description ?? '';

async function oauth2Server(clock: { t: number }, tokenPath?: string): Promise<FastifyInstance> {
  return createOneRosterServer({
    source: tinyDistrict(),
    auth: { mode: 'oauth2', credentials: [CLIENT], tokenTtlSeconds: 60, now: () => clock.t, ...(tokenPath ? { tokenPath } : {}) },
  });
}

async function token(app: FastifyInstance, scope?: string, path = '/oauth/token'): Promise<string> {
  const payload = new URLSearchParams({ grant_type: 'client_credentials', ...(scope ? { scope } : {}) }).toString();
  const r = await app.inject({ method: 'POST', url: path, headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload });
  assert.equal(r.statusCode, 200, r.body);
  const b = JSON.parse(r.body) as { access_token: string; token_type: string; expires_in: number; scope: string };
  assert.equal(b.token_type, 'bearer');
  assert.equal(b.expires_in, 60);
  return b.access_token;
}

test('OAuth 2: token endpoint (Basic and form body), bearer check, WWW-Authenticate', async () => {
  const clock = { t: 1_000_000 };
  const app = await oauth2Server(clock);
  const t = await token(app);
  const ok = await app.inject({ method: 'GET', url: `${P}/users`, headers: { authorization: `Bearer ${t}` } });
  assert.equal(ok.statusCode, 200);

  const form = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `grant_type=client_credentials&client_id=${encodeURIComponent(CLIENT.clientId)}&client_secret=${encodeURIComponent(CLIENT.clientSecret)}`,
  });
  assert.equal(form.statusCode, 200, form.body);

  const missing = await app.inject({ method: 'GET', url: `${P}/users` });
  assert.equal(missing.statusCode, 401);
  assert.match(missing.headers['www-authenticate'] as string, /^Bearer/);
  assert.equal(codeMinor(missing), 'unauthorisedrequest');

  const bogus = await app.inject({ method: 'GET', url: `${P}/users`, headers: { authorization: 'Bearer nope' } });
  assert.equal(bogus.statusCode, 401);
  assert.match(bogus.headers['www-authenticate'] as string, /invalid_token/);

  // Unknown routes under the prefix still need a token (a 404 must not reveal anything first).
  assert.equal((await app.inject({ method: 'GET', url: `${P}/nothing` })).statusCode, 401);
  assert.equal((await app.inject({ method: 'GET', url: `${P}/nothing`, headers: { authorization: `Bearer ${t}` } })).statusCode, 404);

  const badGrant = await app.inject({ method: 'POST', url: '/oauth/token', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=password' });
  assert.equal(badGrant.statusCode, 400);
  assert.equal((JSON.parse(badGrant.body) as { error: string }).error, 'unsupported_grant_type');
  const badScope = await app.inject({ method: 'POST', url: '/oauth/token', headers: { authorization: basic, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials&scope=admin' });
  assert.equal((JSON.parse(badScope.body) as { error: string }).error, 'invalid_scope');
  const badClient = await app.inject({ method: 'POST', url: '/oauth/token', headers: { authorization: 'Basic ' + Buffer.from('client%20one:wrong').toString('base64'), 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' });
  assert.equal(badClient.statusCode, 401);
  assert.equal((JSON.parse(badClient.body) as { error: string }).error, 'invalid_client');
  await app.close();
});

test('OAuth 2: expiry, and older tokens stay valid after a new one is issued', async () => {
  const clock = { t: 1_000_000 };
  const app = await oauth2Server(clock, '/custom/token');
  const get = (tok: string) => app.inject({ method: 'GET', url: `${P}/orgs`, headers: { authorization: `Bearer ${tok}` } });
  const first = await token(app, undefined, '/custom/token');
  clock.t += 30_000;
  const second = await token(app, undefined, '/custom/token');
  assert.equal((await get(first)).statusCode, 200);
  assert.equal((await get(second)).statusCode, 200);
  clock.t += 30_000; // first is 60 s old: expired
  const expired = await get(first);
  assert.equal(expired.statusCode, 401);
  assert.match(description(expired), /expired/);
  assert.equal((await get(second)).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: '/oauth/token', payload: {} })).statusCode, 404);
  await app.close();
});

test('OAuth 2: scope enforcement (403 forbidden)', async () => {
  const app = await oauth2Server({ t: 0 });
  const core = await token(app, ONEROSTER_SCOPES.core);
  const roster = await token(app, ONEROSTER_SCOPES.roster);
  const demo = await token(app, ONEROSTER_SCOPES.demographics);
  const status = async (tok: string, path: string) => (await app.inject({ method: 'GET', url: P + path, headers: { authorization: `Bearer ${tok}` } })).statusCode;
  // top-level reads: roster or core
  assert.equal(await status(core, '/users'), 200);
  assert.equal(await status(core, '/users/st1'), 200);
  assert.equal(await status(roster, '/users'), 200);
  assert.equal(await status(demo, '/users'), 403);
  // nested reads: roster only
  assert.equal(await status(roster, '/classes/c1/students'), 200);
  const forbidden = await app.inject({ method: 'GET', url: `${P}/classes/c1/students`, headers: { authorization: `Bearer ${core}` } });
  assert.equal(forbidden.statusCode, 403);
  assert.equal(codeMinor(forbidden), 'forbidden');
  assert.match(forbidden.headers['www-authenticate'] as string, /insufficient_scope/);
  // demographics: demographics scope only, even with roster
  assert.equal(await status(demo, '/demographics'), 200);
  assert.equal(await status(demo, '/demographics/st1'), 200);
  assert.equal(await status(roster, '/demographics'), 403);
  assert.equal(await status(core, '/demographics/st1'), 403);
  await app.close();
});

test('OAuth 1.0a: signed requests over a real socket (Host header as the client saw it)', async () => {
  const app = await createOneRosterServer({ source: tinyDistrict(), auth: { mode: 'oauth1', credentials: [CLIENT] } });
  await app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const port = (app.server.address() as AddressInfo).port;
    const url = `http://127.0.0.1:${port}${P}/users?filter=${encodeURIComponent("role='student' AND email~'st'")}&limit=2&offset=1`;
    for (const signatureMethod of ['HMAC-SHA256', 'HMAC-SHA1'] as const) {
      const authorization = signRequest({ method: 'GET', url, consumerKey: CLIENT.clientId, consumerSecret: CLIENT.clientSecret, signatureMethod });
      const r = await fetch(url, { headers: { authorization } });
      assert.equal(r.status, 200, await r.clone().text());
      const b = (await r.json()) as { users: Array<{ sourcedId: string }> };
      assert.deepEqual(b.users.map((u) => u.sourcedId), ['st2', 'st3']);
      // The same header again is a replay.
      const replay = await fetch(url, { headers: { authorization } });
      assert.equal(replay.status, 401);
      assert.match(await replay.text(), /replayed nonce/);
    }
    // oauth_* parameters in the query string instead of the header (RFC 5849 §3.5.3).
    const header = signRequest({ method: 'GET', url, consumerKey: CLIENT.clientId, consumerSecret: CLIENT.clientSecret, signatureMethod: 'HMAC-SHA256' });
    const oauthQuery = [...header.matchAll(/(oauth_\w+)="([^"]*)"/g)].map((m) => `${m[1]}=${m[2]}`).join('&');
    const viaQuery = await fetch(`${url}&${oauthQuery}`);
    assert.equal(viaQuery.status, 200, await viaQuery.clone().text());
    assert.doesNotMatch(viaQuery.headers.get('link') ?? '', /oauth_/);

    const unsigned = await fetch(url);
    assert.equal(unsigned.status, 401);
    assert.match(await unsigned.text(), /missing OAuth/);
    const wrong = signRequest({ method: 'GET', url, consumerKey: CLIENT.clientId, consumerSecret: 'nope', signatureMethod: 'HMAC-SHA256' });
    const bad = await fetch(url, { headers: { authorization: wrong } });
    assert.equal(bad.status, 401);
    assert.match(await bad.text(), /bad signature/);
    const stale = signRequest({ method: 'GET', url, consumerKey: CLIENT.clientId, consumerSecret: CLIENT.clientSecret, signatureMethod: 'HMAC-SHA256', timestamp: Math.floor(Date.now() / 1000) - 3600 });
    assert.match(await (await fetch(url, { headers: { authorization: stale } })).text(), /stale timestamp/);
    const unknown = signRequest({ method: 'GET', url, consumerKey: 'who', consumerSecret: CLIENT.clientSecret, signatureMethod: 'HMAC-SHA256' });
    assert.match(await (await fetch(url, { headers: { authorization: unknown } })).text(), /unknown consumer key/);
    // OAuth 1 servers have no token endpoint.
    assert.equal((await fetch(`http://127.0.0.1:${port}/oauth/token`, { method: 'POST' })).status, 404);
  } finally {
    await app.close();
  }
});

test('auth none: no credentials needed; oauth modes need credentials', async () => {
  const app = await createOneRosterServer({ source: tinyDistrict() });
  assert.equal((await app.inject({ method: 'GET', url: `${P}/orgs` })).statusCode, 200);
  await app.close();
  await assert.rejects(createOneRosterServer({ source: tinyDistrict(), auth: { mode: 'oauth2' } }), /needs at least one credential/);
});
