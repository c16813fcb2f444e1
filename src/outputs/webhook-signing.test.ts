import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { computeSignature, signWebhook, verifyWebhookSignature } from './webhook-signing.ts';

const SECRET = 'whsec_test_secret';
const BODY = '{"events":[{"cursor":"1","entity":"users"}]}';
const T = 1_700_000_000;
/** `printf '%s' '1700000000.<BODY>' | openssl dgst -sha256 -hmac whsec_test_secret` (independent of node:crypto). */
const OPENSSL_HEX = 'ec0190cef05c30a4510356e69d87746735793fe0ffd8ab8083be8f19200cf7ac';

describe('webhook signatures', () => {
  it('matches an HMAC-SHA256 computed by openssl over "<t>.<body>"', () => {
    assert.equal(computeSignature(SECRET, T, BODY), OPENSSL_HEX);
    assert.equal(signWebhook(SECRET, BODY, T), `t=${T},v1=${OPENSSL_HEX}`);
    assert.equal(computeSignature(SECRET, T, Buffer.from(BODY)), OPENSSL_HEX, 'Buffer bodies sign the same bytes');
  });

  it('verifies a fresh signature', () => {
    const header = signWebhook(SECRET, BODY, T);
    assert.deepEqual(verifyWebhookSignature(SECRET, header, BODY, 300, T + 10), { ok: true, timestamp: T });
    assert.deepEqual(verifyWebhookSignature(SECRET, header, Buffer.from(BODY), 300, T - 10), { ok: true, timestamp: T });
  });

  it('rejects a tampered body, a wrong secret and a tampered timestamp', () => {
    const header = signWebhook(SECRET, BODY, T);
    assert.deepEqual(verifyWebhookSignature(SECRET, header, BODY.replace('users', 'orgs'), 300, T), { ok: false, reason: 'signature-mismatch' });
    assert.deepEqual(verifyWebhookSignature('other-secret', header, BODY, 300, T), { ok: false, reason: 'signature-mismatch' });
    const replayed = header.replace(`t=${T}`, `t=${T + 100}`);
    assert.deepEqual(verifyWebhookSignature(SECRET, replayed, BODY, 300, T + 100), { ok: false, reason: 'signature-mismatch' }, 'the timestamp is signed');
    const flipped = header.slice(0, -1) + (header.endsWith('0') ? '1' : '0');
    assert.deepEqual(verifyWebhookSignature(SECRET, flipped, BODY, 300, T), { ok: false, reason: 'signature-mismatch' });
  });

  it('rejects expired and far-future timestamps', () => {
    const header = signWebhook(SECRET, BODY, T);
    assert.deepEqual(verifyWebhookSignature(SECRET, header, BODY, 300, T + 301), { ok: false, reason: 'timestamp-outside-tolerance' });
    assert.deepEqual(verifyWebhookSignature(SECRET, header, BODY, 300, T - 301), { ok: false, reason: 'timestamp-outside-tolerance' });
    assert.equal(verifyWebhookSignature(SECRET, header, BODY, 300, T + 300).ok, true, 'the tolerance is inclusive');
  });

  it('rejects missing and malformed headers', () => {
    assert.deepEqual(verifyWebhookSignature(SECRET, undefined, BODY, 300, T), { ok: false, reason: 'missing-header' });
    assert.deepEqual(verifyWebhookSignature(SECRET, '', BODY, 300, T), { ok: false, reason: 'missing-header' });
    for (const bad of [`v1=${OPENSSL_HEX}`, `t=${T}`, `t=abc,v1=${OPENSSL_HEX}`, `t=${T},v1=nothex`, `t=${T},v1=${OPENSSL_HEX.slice(2)}`, 'garbage']) {
      assert.deepEqual(verifyWebhookSignature(SECRET, bad, BODY, 300, T), { ok: false, reason: 'malformed-header' }, bad);
    }
  });

  it('supports secret rotation: several v1 entries, several receiver secrets', () => {
    const header = signWebhook(['new-secret', SECRET], BODY, T);
    assert.equal(header.split(',').length, 3);
    assert.equal(verifyWebhookSignature(SECRET, header, BODY, 300, T).ok, true);
    assert.equal(verifyWebhookSignature('new-secret', header, BODY, 300, T).ok, true);
    assert.equal(verifyWebhookSignature(['x', SECRET], signWebhook(SECRET, BODY, T), BODY, 300, T).ok, true);
    // Unknown schemes and spaces are tolerated.
    assert.equal(verifyWebhookSignature(SECRET, ` t=${T} , v0=abc, v1=${OPENSSL_HEX.toUpperCase()}`, BODY, 300, T).ok, true);
  });

  it('refuses to sign without a secret or with a bad timestamp', () => {
    assert.throws(() => signWebhook([], BODY, T), RangeError);
    assert.throws(() => signWebhook(SECRET, BODY, -1), RangeError);
    assert.throws(() => signWebhook(SECRET, BODY, 1.5), RangeError);
  });
});
