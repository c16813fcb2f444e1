import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NonceStore,
  OAuth1Verifier,
  baseStringUri,
  hmacSignature,
  parseFormEncoded,
  parseOAuthHeader,
  percentEncode,
  signatureBaseString,
} from './oauth1-verifier.ts';
import type { Param } from './oauth1-verifier.ts';
// The client's signer, written independently: each implementation checks the other.
import { signRequest } from '../source/oauth1-signer.ts';

test('RFC 5849 §3.4.1.1 example base string', () => {
  const header =
    'OAuth realm="Example", oauth_consumer_key="9djdj82h48djs9d2", oauth_token="kkk9d7dh3k39sjv7", ' +
    'oauth_signature_method="HMAC-SHA1", oauth_timestamp="137131201", oauth_nonce="7d8f3e4a", ' +
    'oauth_signature="bYT5CMsGcbgUdFHObYMEfcx6bsw%3D"';
  const oauth = (parseOAuthHeader(header) ?? []).filter(([n]) => n !== 'realm' && n !== 'oauth_signature');
  const params: Param[] = [
    ...parseFormEncoded('b5=%3D%253D&a3=a&c%40=&a2=r%20b'),
    ...parseFormEncoded('c2&a3=2+q'),
    ...oauth,
  ];
  const base = signatureBaseString('POST', baseStringUri('http', 'example.com', '/request'), params);
  assert.equal(
    base,
    'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D' +
      '%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method' +
      '%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7',
  );
});

test('RFC 5849 §1.2 example signature (HMAC-SHA1 with token secret)', () => {
  const params: Param[] = [
    ...parseFormEncoded('file=vacation.jpg&size=original'),
    ['oauth_consumer_key', 'dpf43f3p2l4k3l03'],
    ['oauth_token', 'nnch734d00sl2jdk'],
    ['oauth_signature_method', 'HMAC-SHA1'],
    ['oauth_timestamp', '137131202'],
    ['oauth_nonce', 'chapoH'],
  ];
  const base = signatureBaseString('GET', baseStringUri('http', 'photos.example.net', '/photos'), params);
  assert.equal(hmacSignature('HMAC-SHA1', base, 'kd94hf93k423kf44', 'pfkkdhi9sl3r4s00'), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=');
});

test('percentEncode is RFC 3986 strict', () => {
  assert.equal(percentEncode("a b!'()*~._-é"), 'a%20b%21%27%28%29%2A~._-%C3%A9');
});

test('baseStringUri drops default ports and lower-cases host', () => {
  assert.equal(baseStringUri('HTTP', 'Example.COM:80', '/r'), 'http://example.com/r');
  assert.equal(baseStringUri('https', 'h:443', '/r'), 'https://h/r');
  assert.equal(baseStringUri('http', 'h:8080', '/r'), 'http://h:8080/r');
});

test('parseOAuthHeader rejects garbage and non-OAuth schemes', () => {
  assert.equal(parseOAuthHeader('Bearer abc'), undefined);
  assert.equal(parseOAuthHeader('OAuth oauth_nonce=unquoted'), undefined);
  assert.deepEqual(parseOAuthHeader('OAuth a="1",b="%2B+"'), [
    ['a', '1'],
    ['b', '++'],
  ]);
});

const SECRET = 'sec+ret/with spaces';
const KEY = 'consumer-1';
const NOW = 1_700_000_000_000;

function verifier(now = NOW, nonceStore?: NonceStore): OAuth1Verifier {
  return new OAuth1Verifier({
    lookupSecret: (k) => (k === KEY ? SECRET : undefined),
    now: () => now,
    ...(nonceStore ? { nonceStore } : {}),
  });
}

function signed(url: string, opts: { method?: 'HMAC-SHA1' | 'HMAC-SHA256'; nonce?: string; ts?: number; secret?: string; key?: string } = {}) {
  return signRequest({
    method: 'GET',
    url,
    consumerKey: opts.key ?? KEY,
    consumerSecret: opts.secret ?? SECRET,
    signatureMethod: opts.method ?? 'HMAC-SHA256',
    nonce: opts.nonce ?? 'n1',
    timestamp: opts.ts ?? NOW / 1000,
  });
}

const URL1 = "http://127.0.0.1:8123/ims/oneroster/v1p1/users?filter=role%3D%27student%27%20AND%20email~%27x%2By%27&limit=5&offset=10&fields=sourcedId,email";

function req(url: string, authorization?: string) {
  const u = new URL(url);
  return { method: 'GET', scheme: 'http', host: u.host, url: u.pathname + u.search, authorization };
}

test('accepts requests signed by the independent client signer (SHA256 and SHA1)', () => {
  for (const method of ['HMAC-SHA256', 'HMAC-SHA1'] as const) {
    const v = verifier();
    const r = v.verify(req(URL1, signed(URL1, { method })));
    assert.deepEqual(r, { ok: true, consumerKey: KEY, signatureMethod: method });
  }
});

test('a + in the query means space on both sides', () => {
  const url = "http://h:1/p?filter=status%3D%27active%27+AND+role%3D%27x%27";
  assert.equal(verifier().verify(req(url, signed(url))).ok, true);
  // Signed as "+" but sent as "%2B": a different parameter value, so the signature fails.
  const other = 'http://h:1/p?filter=status%3D%27active%27%2BAND%2Brole%3D%27x%27';
  const r = verifier().verify(req(other, signed(url)));
  assert.equal(r.ok, false);
});

test('oauth params in the query string are accepted', () => {
  const header = signed(URL1);
  const parsed = parseOAuthHeader(header) ?? [];
  const qs = parsed.map(([n, v]) => `${percentEncode(n)}=${percentEncode(v)}`).join('&');
  const r = verifier().verify(req(`${URL1}&${qs}`));
  assert.equal(r.ok, true);
});

test('failure reasons', () => {
  const reason = (r: ReturnType<OAuth1Verifier['verify']>): string => (r.ok ? 'ok' : r.reason);
  assert.equal(reason(verifier().verify(req(URL1))), 'missing OAuth 1.0a credentials');
  assert.equal(reason(verifier().verify(req(URL1, signed(URL1, { key: 'nobody' })))), 'unknown consumer key');
  assert.equal(reason(verifier().verify(req(URL1, signed(URL1, { secret: 'wrong' })))), 'bad signature');
  assert.match(reason(verifier().verify(req(URL1, signed(URL1, { ts: NOW / 1000 - 601 })))), /^stale timestamp/);
  assert.match(reason(verifier().verify(req(URL1, signed(URL1, { ts: NOW / 1000 + 601 })))), /^stale timestamp/);
  assert.equal(reason(verifier().verify(req(URL1, signed(URL1, { ts: NOW / 1000 - 599 })))), 'ok');
  const plaintext = signed(URL1).replace('HMAC-SHA256', 'PLAINTEXT');
  assert.match(reason(verifier().verify(req(URL1, plaintext))), /^unsupported signature method PLAINTEXT/);
  // Tampering with the query after signing.
  assert.equal(reason(verifier().verify(req(URL1.replace('limit=5', 'limit=6'), signed(URL1)))), 'bad signature');
  // A different host than the client signed for.
  const r = verifier().verify({ ...req(URL1, signed(URL1)), host: 'evil.example' });
  assert.equal(reason(r), 'bad signature');
});

test('replayed nonce is refused; the nonce is only recorded after a valid signature', () => {
  const store = new NonceStore(1_200_000);
  const v = verifier(NOW, store);
  assert.equal(v.verify(req(URL1, signed(URL1, { secret: 'wrong', nonce: 'abc' }))).ok, false);
  assert.equal(store.size, 0);
  assert.equal(v.verify(req(URL1, signed(URL1, { nonce: 'abc' }))).ok, true);
  const again = v.verify(req(URL1, signed(URL1, { nonce: 'abc' })));
  assert.deepEqual(again, { ok: false, consumerKey: KEY, reason: 'replayed nonce' });
  assert.equal(v.verify(req(URL1, signed(URL1, { nonce: 'def' }))).ok, true);
});

test('nonce store forgets after its TTL', () => {
  const store = new NonceStore(1000);
  assert.equal(store.checkAndRemember('k', '1', 'n', 0), true);
  assert.equal(store.checkAndRemember('k', '1', 'n', 999), false);
  assert.equal(store.checkAndRemember('k', '1', 'n', 1000), true);
  store.prune(5000);
  assert.equal(store.size, 0);
});

test('three-legged tokens are refused', () => {
  const h = signRequest({ method: 'GET', url: URL1, consumerKey: KEY, consumerSecret: SECRET, signatureMethod: 'HMAC-SHA256', token: 't', tokenSecret: 's', nonce: 'x', timestamp: NOW / 1000 });
  const r = verifier().verify(req(URL1, h));
  assert.equal(r.ok, false);
  assert.match(r.ok ? '' : r.reason, /two-legged/);
});
