import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HttpClient } from './http-client.ts';
import { OAuth2TokenProvider, refreshSkewSeconds, type TokenPost } from './oauth2-token.ts';
import { SourceError } from './errors.ts';
import { fakeClock, startServer, testConnection } from './test-support.ts';

const SECRET = 'p@ss word+/=';

function decodeBasic(header: string | undefined): [string, string] | undefined {
  if (header === undefined || !header.startsWith('Basic ')) return undefined;
  const [id, secret] = Buffer.from(header.slice(6), 'base64').toString('utf8').split(':');
  // RFC 6749 §2.3.1: both parts are form-urlencoded.
  const dec = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
  return [dec(id ?? ''), dec(secret ?? '')];
}

test('Basic client auth with form-urlencoded credentials; token cached; scope sent', async (t) => {
  const seen: Array<{ auth: [string, string] | undefined; body: Record<string, string> }> = [];
  const srv = await startServer((app) => {
    app.post('/oauth/token', async (req) => {
      const body = req.body as Record<string, string>;
      seen.push({ auth: decodeBasic(req.headers.authorization), body });
      return { access_token: `tok${seen.length}`, token_type: 'Bearer', expires_in: 3600, scope: body['scope'] };
    });
  });
  t.after(() => srv.close());
  const conn = testConnection(srv.baseUrl, {
    auth: { kind: 'oauth2', tokenUrl: `${srv.origin}/oauth/token`, clientId: 'my id', clientSecret: SECRET, scope: 'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly' },
  });
  const clock = fakeClock();
  const http = new HttpClient(conn, { clock });
  t.after(() => http.close());
  const info = await http.fetchToken();
  assert.equal(info.clientAuth, 'basic');
  assert.equal(info.scope, 'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly');
  assert.deepEqual(seen[0]?.auth, ['my id', SECRET]);
  assert.deepEqual(seen[0]?.body, { grant_type: 'client_credentials', scope: 'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly' });
  assert.equal(http.tokenRequests, 1);
});

test('auto falls back to body credentials once on 400/401 and then sticks with body', async (t) => {
  const seen: string[] = [];
  const srv = await startServer((app) => {
    app.post('/token', async (req, reply) => {
      const body = req.body as Record<string, string>;
      if (req.headers.authorization !== undefined) {
        seen.push('basic');
        return reply.code(401).send({ error: 'invalid_client' });
      }
      seen.push('body');
      assert.equal(body['client_id'], 'id');
      assert.equal(body['client_secret'], SECRET);
      return { access_token: 'b', token_type: 'bearer', expires_in: 60 };
    });
  });
  t.after(() => srv.close());
  const clock = fakeClock();
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'oauth2', tokenUrl: `${srv.origin}/token`, clientId: 'id', clientSecret: SECRET } }), { clock });
  t.after(() => http.close());
  assert.equal((await http.fetchToken()).clientAuth, 'body');
  await http.fetchToken();
  assert.deepEqual(seen, ['basic', 'body', 'body']);
});

test('clientAuth basic does not fall back; failure is auth_failed with the endpoint error, never the secret', async (t) => {
  let calls = 0;
  const srv = await startServer((app) => {
    app.post('/token', async (_req, reply) => {
      calls++;
      return reply.code(401).send({ error: 'invalid_client', error_description: `Client authentication failed for secret ${SECRET}` });
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'oauth2', tokenUrl: `${srv.origin}/token`, clientId: 'id', clientSecret: SECRET, clientAuth: 'basic' } }));
  t.after(() => http.close());
  await assert.rejects(http.fetchToken(), (e: unknown) => {
    assert.ok(e instanceof SourceError);
    assert.equal(e.code, 'auth_failed');
    assert.equal(e.status, 401);
    assert.match(e.message, /rejected the client id\/secret \(invalid_client: Client authentication failed for secret \*\*\*\)\. Check the client id and client secret/);
    assert.ok(!e.message.includes(SECRET));
    return true;
  });
  assert.equal(calls, 1);
});

test('token endpoint 429/503 is retried; 500 is server_error; invalid_scope gets a scope hint', async (t) => {
  let n = 0;
  let mode: 'busy' | 'boom' | 'scope' = 'busy';
  const srv = await startServer((app) => {
    app.post('/token', async (_req, reply) => {
      n++;
      if (mode === 'busy' && n === 1) return reply.code(429).header('retry-after', '2').send({});
      if (mode === 'busy' && n === 2) return reply.code(503).send('down');
      if (mode === 'boom') return reply.code(500).send({ error: 'server_error' });
      if (mode === 'scope') return reply.code(400).send({ error: 'invalid_scope' });
      return { access_token: 'ok', expires_in: 100 };
    });
  });
  t.after(() => srv.close());
  const clock = fakeClock();
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'oauth2', tokenUrl: `${srv.origin}/token`, clientId: 'id', clientSecret: 's', clientAuth: 'body' } }), { clock, random: () => 0.5 });
  t.after(() => http.close());
  const info = await http.fetchToken();
  assert.equal(info.tokenType, 'bearer');
  assert.equal(n, 3);
  assert.equal(clock.sleeps[0], 1000, 'Retry-After 2 s capped by maxDelayMs 1 s');
  mode = 'boom';
  await assert.rejects(http.fetchToken(), (e: unknown) => e instanceof SourceError && e.code === 'server_error' && /HTTP 500/.test(e.message));
  mode = 'scope';
  await assert.rejects(http.fetchToken(), (e: unknown) => e instanceof SourceError && e.code === 'auth_failed' && /refused the requested scope \(invalid_scope\)\. Check the scope setting/.test(e.message));
});

test('a 200 that is not a usable token is auth_failed', async () => {
  const auth = { kind: 'oauth2' as const, tokenUrl: 'https://h/token', clientId: 'i', clientSecret: 's', clientAuth: 'body' as const };
  const reply = (body: string): TokenPost => async () => ({ status: 200, headers: {}, body: Buffer.from(body) });
  await assert.rejects(new OAuth2TokenProvider(auth, reply('<html>login</html>')).getToken(), /not with a JSON object/);
  await assert.rejects(new OAuth2TokenProvider(auth, reply('{"token_type":"bearer"}')).getToken(), /without an access_token/);
  await assert.rejects(new OAuth2TokenProvider(auth, reply('{"access_token":"x","token_type":"mac"}')).getToken(), /only bearer tokens/);
});

test('cache until expires_in minus skew (60 s, or 10 % for short lifetimes)', async () => {
  assert.equal(refreshSkewSeconds(3600), 60);
  assert.equal(refreshSkewSeconds(300), 30);
  let now = 0;
  let n = 0;
  let ttl = 3600;
  const post: TokenPost = async () => ({ status: 200, headers: {}, body: Buffer.from(JSON.stringify({ access_token: `t${++n}`, expires_in: ttl })) });
  const p = new OAuth2TokenProvider({ kind: 'oauth2', tokenUrl: 'https://h/t', clientId: 'i', clientSecret: 's', clientAuth: 'basic' }, post, () => now);
  assert.equal(await p.getToken(), 't1');
  now = 3539_000;
  assert.equal(await p.getToken(), 't1');
  now = 3540_000;
  assert.equal(await p.getToken(), 't2');
  ttl = 100;
  p.invalidate();
  assert.equal(await p.getToken(), 't3');
  now += 89_000;
  assert.equal(await p.getToken(), 't3');
  now += 1_000;
  assert.equal(await p.getToken(), 't4');
});

test('concurrent callers share one token request; invalidating an older token is a no-op', async () => {
  let n = 0;
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const post: TokenPost = async () => {
    n++;
    await gate;
    return { status: 200, headers: {}, body: Buffer.from(JSON.stringify({ access_token: `t${n}`, expires_in: 3600 })) };
  };
  const p = new OAuth2TokenProvider({ kind: 'oauth2', tokenUrl: 'https://h/t', clientId: 'i', clientSecret: 's', clientAuth: 'basic' }, post);
  const all = Promise.all([p.getToken(), p.getToken(), p.getToken()]);
  release();
  assert.deepEqual(await all, ['t1', 't1', 't1']);
  assert.equal(n, 1);
  p.invalidate('t1');
  assert.equal(await p.getToken(), 't2');
  // A late 401 for the old token must not throw away the new one.
  p.invalidate('t1');
  assert.equal(await p.getToken(), 't2');
  assert.equal(n, 2);
});

test('a failed shared request rejects every waiter and the next call tries again', async () => {
  let n = 0;
  const post: TokenPost = async () => {
    n++;
    return n === 1 ? { status: 401, headers: {}, body: Buffer.from('{"error":"invalid_client"}') } : { status: 200, headers: {}, body: Buffer.from('{"access_token":"ok"}') };
  };
  const p = new OAuth2TokenProvider({ kind: 'oauth2', tokenUrl: 'https://h/t', clientId: 'i', clientSecret: 's', clientAuth: 'body' }, post);
  const r = await Promise.allSettled([p.getToken(), p.getToken()]);
  assert.deepEqual(r.map((x) => x.status), ['rejected', 'rejected']);
  assert.equal(await p.getToken(), 'ok');
  assert.equal(n, 2);
});
