import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HttpClient } from './http-client.ts';
import { SourceError } from './errors.ts';
import { buildQuery } from './oauth1-signer.ts';
import { requestTarget } from './transport.ts';
import { API, fakeClock, startServer, testConnection, users } from './test-support.ts';

function isErr(code: string, re?: RegExp) {
  return (e: unknown): boolean => {
    assert.ok(e instanceof SourceError, `expected SourceError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    if (re !== undefined) assert.match(e.message, re);
    return true;
  };
}

/**
 * An independent OAuth 1.0a check, written from RFC 5849 §3.4 without the client's signer:
 * decode what arrived, rebuild the base string, recompute the HMAC.
 */
function verifyOAuth1(req: FastifyRequest, secret: string): { ok: boolean; nonce: string; ts: number; method: string } {
  const header = req.headers.authorization ?? '';
  const oauth = new Map<string, string>();
  for (const m of header.replace(/^OAuth\s+/, '').matchAll(/([\w]+)="([^"]*)"/g)) oauth.set(m[1]!, decodeURIComponent(m[2]!));
  const rawUrl = req.raw.url ?? '';
  const q = rawUrl.includes('?') ? rawUrl.slice(rawUrl.indexOf('?') + 1) : '';
  const pairs: string[][] = [...new URLSearchParams(q).entries()];
  for (const [k, v] of oauth) if (k !== 'oauth_signature' && k !== 'realm') pairs.push([k, v]);
  const e = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const norm = pairs.map(([k, v]) => [e(k!), e(v!)]).sort((a, b) => (a[0]! === b[0]! ? (a[1]! < b[1]! ? -1 : 1) : a[0]! < b[0]! ? -1 : 1)).map((p) => p.join('=')).join('&');
  const base = [req.method, e(`http://${req.headers.host}${rawUrl.split('?')[0]}`), e(norm)].join('&');
  const method = oauth.get('oauth_signature_method') ?? '';
  const expected = createHmac(method === 'HMAC-SHA1' ? 'sha1' : 'sha256', `${e(secret)}&`).update(base).digest();
  const got = Buffer.from(oauth.get('oauth_signature') ?? '', 'base64');
  return { ok: got.length === expected.length && timingSafeEqual(got, expected), nonce: oauth.get('oauth_nonce') ?? '', ts: Number(oauth.get('oauth_timestamp')), method };
}

test('OAuth 1.0a: every attempt is signed afresh, filter with quotes/spaces/= verifies independently', async (t) => {
  const nonces: string[] = [];
  let calls = 0;
  let gotFilter = '';
  const srv = await startServer((app) => {
    app.get(`${API}/users`, async (req, reply) => {
      calls++;
      const v = verifyOAuth1(req, 'c0nsumer secret!');
      if (!v.ok) return reply.code(401).send({ imsx_codeMajor: 'failure', imsx_description: 'bad signature' });
      assert.ok(Math.abs(v.ts - Date.now() / 1000) < 5);
      assert.equal(v.method, 'HMAC-SHA256');
      nonces.push(v.nonce);
      gotFilter = (req.query as Record<string, string>)['filter'] ?? '';
      if (calls < 3) return reply.code(503).send({});
      return { users: users(0, 1) };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'oauth1', clientId: 'key', clientSecret: 'c0nsumer secret!' } }), { clock: fakeClock() });
  t.after(() => http.close());
  const filter = "familyName='O''Neil' AND dateLastModified>='2025-01-01T00:00:00Z'";
  const res = await http.getJson(`/users?${buildQuery([['limit', '10'], ['offset', '0'], ['filter', filter]])}`, { expectKey: 'users', expectShape: 'array' });
  assert.equal(res.requests, 3);
  assert.equal(gotFilter, filter);
  assert.equal(nonces.length, 3);
  assert.equal(new Set(nonces).size, 3, 'a new nonce for each retry');
});

test('OAuth 1.0a rejected → auth_failed naming signature method and clock', async (t) => {
  const srv = await startServer((app) => {
    app.get(`${API}/orgs`, async (_req, reply) => reply.code(401).send({ statusInfoSet: [{ imsx_codeMajor: 'failure', imsx_codeMinor: 'unauthorized', imsx_description: 'Invalid signature' }] }));
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'oauth1', clientId: 'k', clientSecret: 's', signatureMethod: 'HMAC-SHA1' } }));
  t.after(() => http.close());
  await assert.rejects(http.getJson('/orgs?limit=1'), isErr('auth_failed', /OAuth 1\.0a signature for \/orgs \(HTTP 401\) \(provider says: unauthorized: Invalid signature\).*HMAC-SHA1.*clock/));
});

test('OAuth 2: bearer on every request, 401 → refresh once and retry; second 401 → auth_failed', async (t) => {
  let issued = 0;
  const valid = new Set<string>();
  let rejectAll = false;
  const srv = await startServer((app) => {
    app.post('/token', async () => {
      const tok = `tok${++issued}`;
      valid.add(tok);
      return { access_token: tok, token_type: 'bearer', expires_in: 3600 };
    });
    app.get(`${API}/orgs`, async (req, reply) => {
      const tok = (req.headers.authorization ?? '').replace(/^Bearer /, '');
      if (rejectAll || !valid.has(tok)) return reply.code(401).send({ imsx_codeMajor: 'failure', imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldValue: 'unauthorisedrequest' }] } });
      return { orgs: [{ sourcedId: 'o1', seenWith: tok }] };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'oauth2', tokenUrl: `${srv.origin}/token`, clientId: 'i', clientSecret: 's' } }));
  t.after(() => http.close());
  const a = await http.getJson('/orgs', { expectKey: 'orgs' });
  assert.equal((a.body['orgs'] as Array<{ seenWith: string }>)[0]?.seenWith, 'tok1');
  await http.getJson('/orgs', { expectKey: 'orgs' });
  assert.equal(issued, 1, 'token cached');
  valid.delete('tok1'); // revoked server-side
  const b = await http.getJson('/orgs', { expectKey: 'orgs' });
  assert.equal((b.body['orgs'] as Array<{ seenWith: string }>)[0]?.seenWith, 'tok2');
  assert.equal(b.requests, 2);
  assert.equal(http.counters.retries['401-refresh'], 1);
  rejectAll = true;
  await assert.rejects(http.getJson('/orgs'), isErr('auth_failed', /rejected the access token for \/orgs \(HTTP 401\) even after fetching a new one \(provider says: unauthorisedrequest\)/));
  assert.equal(issued, 3);
});

test('OAuth 2: concurrent 401s on an older token cause one refresh, not one each', async (t) => {
  let issued = 0;
  let current = '';
  const srv = await startServer((app) => {
    app.post('/token', async () => {
      current = `tok${++issued}`;
      return { access_token: current, expires_in: 3600 };
    });
    app.get(`${API}/orgs`, async (req, reply) => {
      // This server (unlike Instructure's advice) only honours the newest token.
      if (req.headers.authorization !== `Bearer ${current}`) return reply.code(401).send({});
      return { orgs: [] };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { maxConcurrency: 4, auth: { kind: 'oauth2', tokenUrl: `${srv.origin}/token`, clientId: 'i', clientSecret: 's' } }));
  t.after(() => http.close());
  await http.getJson('/orgs');
  current = 'rotated-elsewhere';
  issued = 1;
  const results = await Promise.all([1, 2, 3, 4].map(() => http.getJson('/orgs', { expectKey: 'orgs' })));
  assert.equal(results.length, 4);
  assert.equal(issued, 2, 'exactly one refresh for four concurrent 401s');
});

test('429 with Retry-After in seconds and as an HTTP-date is honoured (capped by maxDelayMs)', async (t) => {
  let n = 0;
  const clock = fakeClock(Date.parse('2025-03-01T10:00:00Z'));
  const srv = await startServer((app) => {
    app.get(`${API}/users`, async (_req, reply) => {
      n++;
      if (n === 1) return reply.code(429).header('retry-after', '0.3').send({ statusInfoSet: [{ imsx_codeMajor: 'failure', imsx_codeMinor: 'server_busy' }] });
      if (n === 2) return reply.code(429).header('retry-after', 'Sat, 01 Mar 2025 10:00:00 GMT').send({});
      if (n === 3) return reply.code(429).header('retry-after', new Date(clock.t + 700_000).toUTCString()).send({});
      return { users: [] };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl), { clock });
  t.after(() => http.close());
  const res = await http.getJson('/users', { expectKey: 'users' });
  assert.equal(res.requests, 4);
  // 0.3 s; a date 0.3 s in the past (clock moved) → 0; a date ~700 s ahead → capped at 1 s.
  assert.deepEqual(clock.sleeps, [300, 0, 1000]);
  assert.equal(http.counters.retries['429'], 3);
});

test('502/503/504 are retried with jittered backoff; 500 is not', async (t) => {
  const codes = [502, 503, 504];
  let n = 0;
  const srv = await startServer((app) => {
    app.get(`${API}/classes`, async (_req, reply) => {
      const c = codes[n++];
      return c !== undefined ? reply.code(c).send('gateway') : { classes: [] };
    });
    app.get(`${API}/courses`, async (_req, reply) => reply.code(500).send({ imsx_codeMajor: 'failure', imsx_description: 'NullReferenceException' }));
  });
  t.after(() => srv.close());
  const clock = fakeClock();
  const http = new HttpClient(testConnection(srv.baseUrl), { clock, random: () => 0.5 });
  t.after(() => http.close());
  await http.getJson('/classes', { expectKey: 'classes' });
  assert.deepEqual(clock.sleeps, [5, 10, 20], 'full jitter: 0.5 × 10·2^(n-1)');
  assert.deepEqual(http.counters.retries, { '502': 1, '503': 1, '504': 1 });
  await assert.rejects(http.getJson('/courses'), isErr('server_error', /failed on \/courses \(HTTP 500\) \(provider says: NullReferenceException\)/));
});

test('dropped connections are retried and counted by cause', async (t) => {
  let n = 0;
  const srv = await startServer((app) => {
    app.get(`${API}/enrollments`, async (req, reply) => {
      n++;
      if (n <= 2) {
        reply.hijack();
        req.raw.socket.destroy();
        return;
      }
      return { enrollments: [{ sourcedId: 'e1' }] };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl), { clock: fakeClock() });
  t.after(() => http.close());
  const res = await http.getJson('/enrollments', { expectKey: 'enrollments' });
  assert.equal(res.requests, 3);
  const causes = Object.keys(http.counters.retries);
  assert.ok(causes.every((c) => c === 'UND_ERR_SOCKET' || c === 'ECONNRESET'), causes.join());
  assert.equal(Object.values(http.counters.retries).reduce((a, b) => a + b, 0), 2);
});

test('attempt cap and elapsed cap → too_many_retries naming the path and last status', async (t) => {
  let n = 0;
  const srv = await startServer((app) => {
    app.get(`${API}/users`, async (_req, reply) => {
      n++;
      return reply.code(503).send({ imsx_codeMajor: 'failure', imsx_description: 'maintenance' });
    });
  });
  t.after(() => srv.close());
  const clock = fakeClock();
  const http = new HttpClient(testConnection(srv.baseUrl), { clock, random: () => 1 });
  t.after(() => http.close());
  await assert.rejects(
    http.getJson('/users?filter=email%3D%27jane%40x.org%27'),
    (e: unknown) => isErr('too_many_retries', /^Gave up on \/users after 5 attempts over 0 s; last: HTTP 503 \(provider says: maintenance\)/)(e) &&
      (e as SourceError).status === 503 && !(e as SourceError).message.includes('jane'),
  );
  assert.equal(n, 5);

  n = 0;
  const clock2 = fakeClock();
  const http2 = new HttpClient(testConnection(srv.baseUrl, { retry: { maxAttempts: 50, maxElapsedMs: 2_500, baseDelayMs: 1_000, maxDelayMs: 1_000 } }), { clock: clock2, random: () => 1 });
  t.after(() => http2.close());
  await assert.rejects(http2.getJson('/users'), isErr('too_many_retries', /after 3 attempts over 2 s/));
  assert.equal(n, 3);
});

test('a slow response times out and is retried; exhausted → too_many_retries with a timeout cause', async (t) => {
  let n = 0;
  const srv = await startServer((app) => {
    app.get(`${API}/orgs`, async () => {
      n++;
      if (n === 1) await new Promise((r) => setTimeout(r, 900));
      return { orgs: [] };
    });
    app.get(`${API}/slow`, async () => {
      await new Promise((r) => setTimeout(r, 900));
      return { x: [] };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { timeouts: { connectMs: 1000, requestMs: 300 }, retry: { maxAttempts: 2, baseDelayMs: 0, maxDelayMs: 0 } }));
  t.after(() => http.close());
  const res = await http.getJson('/orgs', { expectKey: 'orgs' });
  assert.equal(res.requests, 2);
  assert.equal(http.counters.retries['timeout'], 1);
  await assert.rejects(http.getJson('/slow'), (e: unknown) =>
    isErr('too_many_retries', /last: a timeout after 300 ms/)(e) && (e as SourceError).cause instanceof SourceError && ((e as SourceError).cause as SourceError).code === 'timeout');
});

test('status mapping: 403 forbidden (mentions scope), 404 endpoint_missing, 400 bad_request with imsx, 3xx unexpected_status', async (t) => {
  const srv = await startServer((app) => {
    app.get(`${API}/demographics`, async (_req, reply) => reply.code(403).send({}));
    app.get(`${API}/users`, async (_req, reply) => reply.code(400).send({
      imsx_codeMajor: 'failure', imsx_severity: 'error', imsx_description: 'Unknown filter field: colour',
      imsx_CodeMinor: { imsx_codeMinorField: [{ imsx_codeMinorFieldName: 'TargetEndSystem', imsx_codeMinorFieldValue: 'invalid_filter_field' }] },
    }));
    app.get(`${API}/classes`, async (_req, reply) => reply.code(422).send({ statusInfoSet: [{ imsx_codeMajor: 'failure', imsx_codeMinor: 'invalid data', imsx_description: 'limit must be positive' }] }));
    app.get(`${API}/orgs`, async (_req, reply) => reply.code(301).header('location', 'https://elsewhere.example/api/orgs?token=x').send());
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'none' } }));
  t.after(() => http.close());
  await assert.rejects(http.getJson('/demographics'), isErr('forbidden', /refused access to \/demographics \(HTTP 403\)/));
  await assert.rejects(http.getJson('/academicSessions?limit=1'), isErr('endpoint_missing', /does not serve \/academicSessions \(HTTP 404\)/));
  await assert.rejects(http.getJson("/users?filter=colour%3D%27red%27"), isErr('bad_request', /\/users \(HTTP 400\) \(provider says: invalid_filter_field: Unknown filter field: colour\)/));
  await assert.rejects(http.getJson('/classes?limit=-1'), isErr('bad_request', /HTTP 422\) \(provider says: invalid data: limit must be positive\)/));
  await assert.rejects(http.getJson('/orgs'), isErr('unexpected_status', /HTTP 301 to https:\/\/elsewhere\.example\/api\/orgs\. Redirects/));
  assert.equal(await http.getJson('/academicSessions/x', { notFound: 'undefined' }), undefined);
});

test('403 with OAuth 2 names the requested scope', async (t) => {
  const srv = await startServer((app) => {
    app.post('/token', async () => ({ access_token: 'a', expires_in: 60 }));
    app.get(`${API}/demographics`, async (_req, reply) => reply.code(403).send({}));
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { auth: { kind: 'oauth2', tokenUrl: `${srv.origin}/token`, clientId: 'i', clientSecret: 's', scope: 'https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly' } }));
  t.after(() => http.close());
  await assert.rejects(http.getJson('/demographics'), isErr('forbidden', /requested: https:\/\/purl\.imsglobal\.org\/spec\/or\/v1p1\/scope\/roster-core\.readonly\); demographics need the roster-demographics scope/));
});

test('bad envelopes: non-JSON 200, JSON without the wrapper key, wrapper of the wrong shape; BOM tolerated', async (t) => {
  const srv = await startServer((app) => {
    app.get(`${API}/html`, async (_req, reply) => reply.type('text/html').send('<html>Sign in</html>'));
    app.get(`${API}/users`, async () => ({ data: [], statusInfoSet: [] }));
    app.get(`${API}/orgs`, async () => ({ orgs: { sourcedId: 'o1' } }));
    app.get(`${API}/bom`, async (_req, reply) => reply.type('application/json').send(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"bom":[1]}')])));
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl));
  t.after(() => http.close());
  await assert.rejects(http.getJson('/html', { expectKey: 'x' }), isErr('bad_envelope', /not a JSON object \(text\/html[^,]*, 20 bytes\)/));
  await assert.rejects(http.getJson('/users', { expectKey: 'users', expectShape: 'array' }), isErr('bad_envelope', /has no "users" array \(top-level keys: "data", "statusInfoSet"\)\. A success without the wrapper key is not an empty page/));
  await assert.rejects(http.getJson('/orgs', { expectKey: 'orgs', expectShape: 'array' }), isErr('bad_envelope', /malformed "orgs" array/));
  assert.deepEqual((await http.getJson('/bom', { expectKey: 'bom' })).body, { bom: [1] });
});

test('politeness: never more than maxConcurrency requests in flight; requests and bytes counted', async (t) => {
  let inFlight = 0;
  let peak = 0;
  const srv = await startServer((app) => {
    app.get(`${API}/orgs`, async () => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { orgs: [{ sourcedId: 'o' }] };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { maxConcurrency: 2 }));
  t.after(() => http.close());
  const rs = await Promise.all(Array.from({ length: 8 }, () => http.getJson('/orgs', { expectKey: 'orgs' })));
  assert.equal(peak, 2);
  assert.equal(http.counters.requests, 8);
  assert.equal(http.counters.bytes, rs.reduce((s, r) => s + r.bytes, 0));
  assert.ok(rs[0]!.bytes > 10);
});

test('requestsPerSecond spaces requests in real time', async (t) => {
  const at: number[] = [];
  const srv = await startServer((app) => {
    app.get(`${API}/orgs`, async () => {
      at.push(performance.now());
      return { orgs: [] };
    });
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { maxConcurrency: 3, requestsPerSecond: 20 }));
  t.after(() => http.close());
  const t0 = performance.now();
  await Promise.all([1, 2, 3, 4].map(() => http.getJson('/orgs')));
  // Request i cannot arrive before its token (i × 50 ms); arrival jitter (new sockets) only adds delay.
  const since = at.map((v) => v - t0).sort((a, b) => a - b);
  assert.ok(since.every((v, i) => v >= i * 50 - 5), `arrivals ${since.map((g) => g.toFixed(0)).join(',')} ms should be ≥ 0,50,100,150`);
});

test('unreachable host → network error without retries', async () => {
  const http = new HttpClient(testConnection('http://127.0.0.1:1/ims/oneroster/v1p1'));
  await assert.rejects(http.getJson('/orgs'), isErr('network', /Could not reach the provider for \/orgs \(ECONNREFUSED\)/));
  assert.equal(http.counters.requests, 1);
  await http.close();
});

test('abort: a caller signal stops a backoff wait', async (t) => {
  const srv = await startServer((app) => {
    app.get(`${API}/orgs`, async (_req, reply) => reply.code(503).header('retry-after', '30').send({}));
  });
  t.after(() => srv.close());
  const http = new HttpClient(testConnection(srv.baseUrl, { retry: { maxDelayMs: 60_000 } }));
  t.after(() => http.close());
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 100);
  const t0 = performance.now();
  await assert.rejects(http.getJson('/orgs', { signal: ac.signal }), isErr('aborted'));
  assert.ok(performance.now() - t0 < 2_000);
});

test('requestTarget keeps the exact path and query bytes', () => {
  assert.equal(requestTarget('https://h/ims/oneroster/v1p1/users?filter=a%27b'), '/ims/oneroster/v1p1/users?filter=a%27b');
  assert.equal(requestTarget('https://Auth.Example.com:8443/oauth/token?appName=x'), '/oauth/token?appName=x');
  assert.equal(requestTarget('http://h?x=1'), '/?x=1');
  assert.equal(requestTarget('http://h'), '/');
  assert.equal(requestTarget('http://h/p#frag'), '/p');
});
