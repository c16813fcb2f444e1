import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ONEROSTER_SCOPES, TokenIssuer, safeEqual } from './oauth2-server.ts';

const basic = (id: string, secret: string): string =>
  'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64');

function issuer(now: { t: number }, scopes?: string[]) {
  let n = 0;
  return new TokenIssuer({
    clients: [{ clientId: 'app 1', clientSecret: 's:e+c', ...(scopes ? { scopes } : {}) }],
    tokenTtlSeconds: 60,
    now: () => now.t,
    newToken: () => `tok${++n}`,
  });
}

test('Basic auth (url-encoded id/secret) grants all allowed scopes when none requested', () => {
  const clock = { t: 1000 };
  const r = issuer(clock).handleTokenRequest({ authorization: basic('app 1', 's:e+c'), body: { grant_type: 'client_credentials' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, {
    access_token: 'tok1',
    token_type: 'bearer',
    expires_in: 60,
    scope: Object.values(ONEROSTER_SCOPES).join(' '),
  });
  assert.equal(r.headers['cache-control'], 'no-store');
});

test('form body credentials and requested scopes', () => {
  const clock = { t: 0 };
  const r = issuer(clock).handleTokenRequest({
    body: { grant_type: 'client_credentials', client_id: 'app 1', client_secret: 's:e+c', scope: `${ONEROSTER_SCOPES.core}  ${ONEROSTER_SCOPES.core}` },
  });
  assert.equal(r.status, 200);
  assert.equal(r.body['scope'], ONEROSTER_SCOPES.core);
});

test('RFC 6749 errors', () => {
  const i = issuer({ t: 0 }, [ONEROSTER_SCOPES.core]);
  const err = (input: Parameters<TokenIssuer['handleTokenRequest']>[0]) => {
    const r = i.handleTokenRequest(input);
    return [r.status, r.body['error']];
  };
  assert.deepEqual(err({ body: { grant_type: 'client_credentials' } }), [401, 'invalid_client']);
  assert.deepEqual(err({ authorization: basic('app 1', 'wrong'), body: { grant_type: 'client_credentials' } }), [401, 'invalid_client']);
  assert.deepEqual(err({ authorization: basic('nobody', 's:e+c'), body: { grant_type: 'client_credentials' } }), [401, 'invalid_client']);
  assert.deepEqual(err({ authorization: 'Basic !!!', body: { grant_type: 'client_credentials' } }), [401, 'invalid_client']);
  assert.deepEqual(err({ authorization: basic('app 1', 's:e+c'), body: {} }), [400, 'invalid_request']);
  assert.deepEqual(err({ authorization: basic('app 1', 's:e+c'), body: { grant_type: 'password' } }), [400, 'unsupported_grant_type']);
  assert.deepEqual(err({ authorization: basic('app 1', 's:e+c'), body: { grant_type: 'client_credentials', scope: 'https://x/other' } }), [400, 'invalid_scope']);
  // Known scope the client is not allowed.
  assert.deepEqual(
    err({ authorization: basic('app 1', 's:e+c'), body: { grant_type: 'client_credentials', scope: ONEROSTER_SCOPES.demographics } }),
    [400, 'invalid_scope'],
  );
  const basicFail = i.handleTokenRequest({ authorization: basic('app 1', 'x'), body: { grant_type: 'client_credentials' } });
  assert.match(basicFail.headers['www-authenticate'] ?? '', /^Basic/);
  // Never echo the secret.
  assert.doesNotMatch(JSON.stringify(basicFail.body), /s:e\+c/);
});

test('tokens expire; a newer token does not invalidate an older one', () => {
  const clock = { t: 0 };
  const i = issuer(clock);
  const get = () => i.handleTokenRequest({ authorization: basic('app 1', 's:e+c'), body: { grant_type: 'client_credentials' } }).body['access_token'] as string;
  const a = get();
  clock.t = 30_000;
  const b = get();
  assert.notEqual(a, b);
  const ca = i.check(a);
  assert.ok(ca !== undefined && ca !== 'expired', 'first token is live');
  assert.equal(ca.clientId, 'app 1');
  assert.ok(typeof i.check(b) === 'object', 'second token is live');
  clock.t = 60_000;
  assert.equal(i.check(a), 'expired');
  assert.ok(typeof i.check(b) === 'object', 'second token is live');
  clock.t = 90_000;
  assert.equal(i.check(b), 'expired');
  assert.equal(i.check('never-issued'), undefined);
});

test('safeEqual', () => {
  assert.equal(safeEqual('abc', 'abc'), true);
  assert.equal(safeEqual('abc', 'abcd'), false);
});

test('signed tokens: another issuer with the same key accepts them (several API nodes); a wrong key, a tampered payload or a short key do not', () => {
  const clock = { t: 5_000 };
  const key = Buffer.alloc(32, 7);
  const clients = [{ clientId: 'app 1', clientSecret: 's:e+c' }];
  const nodeA = new TokenIssuer({ clients, tokenTtlSeconds: 60, now: () => clock.t, signingKey: key });
  const nodeB = new TokenIssuer({ clients: [], tokenTtlSeconds: 60, now: () => clock.t, signingKey: Buffer.from(key) });
  const other = new TokenIssuer({ clients: [], now: () => clock.t, signingKey: Buffer.alloc(32, 8) });
  const r = nodeA.handleTokenRequest({ authorization: basic('app 1', 's:e+c'), body: { grant_type: 'client_credentials', scope: ONEROSTER_SCOPES.core } });
  assert.equal(r.status, 200);
  const token = r.body['access_token'] as string;
  assert.match(token, /^rs1\./);
  assert.equal(nodeA.liveTokens, 0, 'a signed token is kept nowhere');
  assert.deepEqual(nodeB.check(token), { clientId: 'app 1', scopes: [ONEROSTER_SCOPES.core], expiresAtMs: 65_000 });
  assert.equal(other.check(token), undefined);
  // The payload changed (another client, more scopes) under the old signature.
  const [prefix, payload, sig] = token.split('.');
  const forged = Buffer.from(JSON.stringify({ c: 'admin', s: Object.values(ONEROSTER_SCOPES), e: 9e15 })).toString('base64url');
  assert.notEqual(forged, payload);
  assert.equal(nodeB.check(`${prefix}.${forged}.${sig}`), undefined);
  assert.equal(nodeB.check('rs1.x'), undefined);
  assert.equal(nodeB.check('tok1'), undefined);
  clock.t += 60_000;
  assert.equal(nodeB.check(token), 'expired');
  assert.throws(() => new TokenIssuer({ clients: [], signingKey: Buffer.alloc(16) }), /at least 32 bytes/);
});
