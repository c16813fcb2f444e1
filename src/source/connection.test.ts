import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConnection, redactConnection, validateConnection } from './connection.ts';
import { SourceError } from './errors.ts';

test('defaults are filled and the base URL is normalised (prefix kept, trailing slash dropped)', () => {
  const c = parseConnection({ baseUrl: 'https://District.Aeries.net/aeries/ims/oneroster/v1p1/' });
  assert.equal(c.baseUrl, 'https://district.aeries.net/aeries/ims/oneroster/v1p1');
  assert.deepEqual(c.auth, { kind: 'none' });
  assert.equal(c.pageSize, 5000);
  assert.equal(c.maxConcurrency, 1);
  assert.equal(c.timeouts.requestMs, 120_000);
  assert.equal(c.retry.maxAttempts, 8);
  assert.equal(c.retry.maxElapsedMs, 600_000);
  assert.equal(c.requestsPerSecond, undefined);
});

test('oauth2 defaults to clientAuth auto; oauth1 defaults to HMAC-SHA256', () => {
  const o2 = parseConnection({
    baseUrl: 'https://h/ims/oneroster/v1p1',
    auth: { kind: 'oauth2', tokenUrl: 'https://h/campus/oauth2/token?appName=x', clientId: 'id', clientSecret: 's', scope: ' a b ' },
  });
  assert.deepEqual(o2.auth, { kind: 'oauth2', tokenUrl: 'https://h/campus/oauth2/token?appName=x', clientId: 'id', clientSecret: 's', scope: 'a b', clientAuth: 'auto' });
  const o1 = parseConnection({ baseUrl: 'https://h/ims/oneroster/v1p1', auth: { kind: 'oauth1', clientId: 'k', clientSecret: 's' } });
  assert.equal(o1.auth.kind === 'oauth1' && o1.auth.signatureMethod, 'HMAC-SHA256');
});

test('every bad field gets its own clear problem, secrets never echoed', () => {
  const r = validateConnection({
    baseUrl: 'https://h/api/users',
    auth: { kind: 'oauth2', tokenUrl: 'not a url', clientId: '', clientSecret: 'TOPSECRET', clientAuth: 'digest' },
    pageSize: 20000,
    maxConcurrency: 9,
    requestsPerSecond: -1,
    timeouts: { requestMs: 'slow' },
    retry: { maxAttempts: 0, baseDelayMs: 5000, maxDelayMs: 100 },
    pagesize: 10,
  });
  assert.equal(r.ok, false);
  if (r.ok) return;
  const fields = r.problems.map((p) => p.field).sort();
  assert.deepEqual(fields, [
    'auth.clientAuth', 'auth.clientId', 'auth.tokenUrl', 'baseUrl', 'maxConcurrency', 'pageSize', 'pagesize',
    'requestsPerSecond', 'retry.maxAttempts', 'retry.maxDelayMs', 'timeouts.requestMs',
  ]);
  const base = r.problems.find((p) => p.field === 'baseUrl');
  assert.match(base?.message ?? '', /ending in \/ims\/oneroster\/v1p1.*got path "\/api\/users"/);
  assert.match(r.problems.find((p) => p.field === 'pageSize')?.message ?? '', /1 to 10000/);
  assert.ok(!JSON.stringify(r.problems).includes('TOPSECRET'));
});

test('baseUrl: rejects query, credentials, non-http schemes and the 1.2 root with a hint', () => {
  const msg = (baseUrl: string) => {
    const r = validateConnection({ baseUrl });
    return r.ok ? '' : r.problems.map((p) => p.message).join(' | ');
  };
  assert.match(msg('https://h/ims/oneroster/v1p1?x=1'), /query string/);
  assert.match(msg('https://u:p@h/ims/oneroster/v1p1'), /user name or password/);
  assert.match(msg('ftp://h/ims/oneroster/v1p1'), /http or https/);
  assert.match(msg('https://h/ims/oneroster/rostering/v1p2'), /1\.2 endpoints are not supported/);
  assert.match(msg(''), /must not be empty/);
  assert.equal(msg('http://127.0.0.1:3000/ims/oneroster/v1p1'), '');
});

test('parseConnection throws invalid_config listing all problems', () => {
  assert.throws(
    () => parseConnection({ baseUrl: 'x', auth: { kind: 'saml' } }),
    (e: unknown) => e instanceof SourceError && e.code === 'invalid_config' && e.problems?.length === 2 &&
      /baseUrl/.test(e.message) && /auth\.kind/.test(e.message),
  );
  assert.throws(() => parseConnection('nope'), /must be an object/);
});

test('redactConnection hides secrets and does not mutate the original', () => {
  const c = parseConnection({ baseUrl: 'https://h/ims/oneroster/v1p1', auth: { kind: 'oauth1', clientId: 'key', clientSecret: 'shh' } });
  const r = redactConnection(c);
  assert.equal(r.auth.kind === 'oauth1' && r.auth.clientSecret, '***');
  assert.equal(r.auth.kind === 'oauth1' && r.auth.clientId, 'key');
  assert.equal(c.auth.kind === 'oauth1' && c.auth.clientSecret, 'shh');
  assert.ok(!JSON.stringify(r).includes('shh'));
});
