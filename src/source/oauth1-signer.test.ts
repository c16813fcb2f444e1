import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { buildQuery, computeSignature, percentEncode, signRequest, signatureBaseString } from './oauth1-signer.ts';

// RFC 5849 §3.4.1 example request (client credentials 9djdj82h48djs9d2 / j49sk3j29djd, token kkk9d7dh3k39sjv7 /
// dh893hdasih9 as in §3.1). Body: "c2&a3=2+q".
const RFC = {
  method: 'POST',
  url: 'http://example.com/request?b5=%3D%253D&a3=a&c%40=&a2=r%20b',
  consumerKey: '9djdj82h48djs9d2',
  consumerSecret: 'j49sk3j29djd',
  token: 'kkk9d7dh3k39sjv7',
  tokenSecret: 'dh893hdasih9',
  signatureMethod: 'HMAC-SHA1',
  bodyParams: [['c2', ''], ['a3', '2 q']],
  nonce: '7d8f3e4a',
  timestamp: 137131201,
  includeVersion: false,
} as const;

const RFC_BASE =
  'POST&http%3A%2F%2Fexample.com%2Frequest&a2%3Dr%2520b%26a3%3D2%2520q%26a3%3Da%26b5%3D%253D%25253D%26c%2540%3D%26c2%3D%26oauth_consumer_key%3D9djdj82h48djs9d2%26oauth_nonce%3D7d8f3e4a%26oauth_signature_method%3DHMAC-SHA1%26oauth_timestamp%3D137131201%26oauth_token%3Dkkk9d7dh3k39sjv7';

test('RFC 5849 §3.4.1.1 base string', () => {
  assert.equal(signatureBaseString({ ...RFC, bodyParams: [...RFC.bodyParams] }), RFC_BASE);
});

test('RFC 5849 §3.4.1 signature (value as corrected by RFC errata 2550)', () => {
  // The RFC text prints bYT5CMsGcbgUdFHObYMEfcx6bsw=, which no implementation reproduces from the printed
  // base string and secrets; errata 2550 gives r6/TJjbCOr97/+UU0NsvSne7s5g= (openssl agrees).
  const sig = computeSignature({ ...RFC, bodyParams: [...RFC.bodyParams] });
  assert.equal(sig, 'r6/TJjbCOr97/+UU0NsvSne7s5g=');
  const header = signRequest({ ...RFC, bodyParams: [...RFC.bodyParams], realm: 'Example' });
  assert.match(header, /^OAuth realm="Example", /);
  assert.match(header, /oauth_signature="r6%2FTJjbCOr97%2F%2BUU0NsvSne7s5g%3D"/);
  assert.match(header, /oauth_token="kkk9d7dh3k39sjv7"/);
  assert.doesNotMatch(header, /oauth_version/);
});

test('RFC 5849 §1.2 GET example (HMAC-SHA1, with token)', () => {
  const input = {
    method: 'GET',
    url: 'http://photos.example.net/photos?file=vacation.jpg&size=original',
    consumerKey: 'dpf43f3p2l4k3l03',
    consumerSecret: 'kd94hf93k423kf44',
    token: 'nnch734d00sl2jdk',
    tokenSecret: 'pfkkdhi9sl3r4s00',
    signatureMethod: 'HMAC-SHA1',
    nonce: 'chapoH',
    timestamp: '137131202',
    includeVersion: false,
  } as const;
  assert.equal(computeSignature(input), 'MdpQcU8iPSUjWoN/UDMsK2sui9I=');
});

test('percentEncode escapes everything but unreserved, including !\'()*', () => {
  assert.equal(percentEncode("A-z0.9_~!'()* =&+/%é"), 'A-z0.9_~%21%27%28%29%2A%20%3D%26%2B%2F%25%C3%A9');
  assert.equal(buildQuery([['filter', "status='active'"], ['limit', '5']]), 'filter=status%3D%27active%27&limit=5');
});

test('base URI: lower-case scheme/host, default port dropped, other ports kept, query excluded', () => {
  const common = { method: 'get', consumerKey: 'k', consumerSecret: 's', signatureMethod: 'HMAC-SHA256', nonce: 'n', timestamp: 1 } as const;
  const a = signatureBaseString({ ...common, url: 'HTTPS://SIS.Example.org:443/ims/oneroster/v1p1/users?limit=1' });
  assert.ok(a.startsWith('GET&https%3A%2F%2Fsis.example.org%2Fims%2Foneroster%2Fv1p1%2Fusers&'), a);
  assert.ok(a.includes('limit%3D1'), 'query params are signed');
  const b = signatureBaseString({ ...common, url: 'http://127.0.0.1:8080/x' });
  assert.ok(b.startsWith('GET&http%3A%2F%2F127.0.0.1%3A8080%2Fx&'), b);
});

test('filter values with quotes, spaces and = sign exactly what is sent', () => {
  const filter = "familyName='O''Brien Smith' AND dateLastModified>='2025-01-01T00:00:00Z'";
  const url = `https://h.example/ims/oneroster/v1p1/users?${buildQuery([['limit', '100'], ['offset', '0'], ['filter', filter]])}`;
  const input = { method: 'GET', url, consumerKey: 'key', consumerSecret: 'se cr+et', signatureMethod: 'HMAC-SHA256', nonce: 'abc', timestamp: 1700000000 } as const;
  // Independent expectation: decode the query the way a server does, then build RFC 5849 by hand.
  const enc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
  const params = [
    ['limit', '100'], ['offset', '0'], ['filter', filter],
    ['oauth_consumer_key', 'key'], ['oauth_nonce', 'abc'], ['oauth_signature_method', 'HMAC-SHA256'],
    ['oauth_timestamp', '1700000000'], ['oauth_version', '1.0'],
  ].map(([k, v]) => `${enc(k!)}=${enc(v!)}`).sort();
  const base = `GET&${enc('https://h.example/ims/oneroster/v1p1/users')}&${enc(params.join('&'))}`;
  assert.equal(signatureBaseString(input), base);
  assert.ok(base.includes('%2527O%2527%2527Brien%2520Smith%2527'), 'quote and space double-encoded in the base string');
  const expected = createHmac('sha256', `${enc('se cr+et')}&`).update(base).digest('base64');
  assert.equal(computeSignature(input), expected);
  assert.ok(signRequest(input).includes(`oauth_signature="${enc(expected)}"`));
});

test('byte-order sort on encoded name then value (not locale order)', () => {
  const base = signatureBaseString({
    method: 'GET', url: 'http://h/p?b=2&a=z&a=Z&B=1&a=%C3%A9', consumerKey: 'k', consumerSecret: 's',
    signatureMethod: 'HMAC-SHA1', nonce: 'n', timestamp: 1, includeVersion: false,
  });
  const params = decodeURIComponent(base.split('&')[2]!);
  assert.ok(params.startsWith('B=1&a=%C3%A9&a=Z&a=z&b=2&oauth_consumer_key=k'), params);
});

test('every call draws a fresh nonce and the current timestamp', () => {
  const input = { method: 'GET', url: 'https://h/x', consumerKey: 'k', consumerSecret: 's', signatureMethod: 'HMAC-SHA256' } as const;
  const nonce = (h: string) => /oauth_nonce="([^"]+)"/.exec(h)?.[1];
  const h1 = signRequest(input);
  const h2 = signRequest(input);
  assert.notEqual(nonce(h1), nonce(h2));
  assert.match(nonce(h1) ?? '', /^[0-9a-f]{32}$/);
  const ts = Number(/oauth_timestamp="(\d+)"/.exec(h1)?.[1]);
  assert.ok(Math.abs(ts - Date.now() / 1000) < 5);
  assert.match(h1, /oauth_signature_method="HMAC-SHA256"/);
  assert.match(h1, /oauth_version="1.0"/);
});
