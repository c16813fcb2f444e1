/**
 * Webhook signatures (issue 6: "signed with HMAC-SHA256 over the body, header with timestamp and
 * signature, documented").
 *
 * Every webhook POST carries
 *
 *     Rostersync-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>
 *
 * - `t` is when the request was signed; each retry is signed afresh, so `t` is recent on every
 *   attempt.
 * - `v1` is the lowercase hex HMAC-SHA256 of the timestamp, a full stop, and the exact body bytes,
 *   keyed with the subscriber's secret (UTF-8). Binding the timestamp stops an old request from
 *   being replayed with a new `t`.
 * - While a secret is being rotated the header may carry several `v1=` entries (one per active
 *   secret); a receiver accepts the request when any of them matches.
 *
 * A receiver must verify the raw body as received (before any JSON parsing), compare in constant
 * time, and reject timestamps outside a tolerance (5 minutes is usual): `verifyWebhookSignature`
 * does all three. The scheme is the one Stripe documents for its `Stripe-Signature` header, so
 * receivers can reuse familiar code.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The header name (HTTP headers are case-insensitive; Node lower-cases them on receipt). */
export const SIGNATURE_HEADER = 'Rostersync-Signature';

/** Default tolerance between the signature timestamp and the receiver's clock, in seconds. */
export const DEFAULT_TOLERANCE_SEC = 300;

/** Hex HMAC-SHA256 of `${timestamp}.${body}` keyed with `secret`. */
export function computeSignature(secret: string, timestamp: number, body: string | Buffer): string {
  const h = createHmac('sha256', secret);
  h.update(`${timestamp}.`, 'utf8');
  h.update(body);
  return h.digest('hex');
}

/**
 * The `Rostersync-Signature` value for `body`, signed now (or at `timestampSec`). With several
 * secrets (rotation), one `v1` per secret.
 */
export function signWebhook(secret: string | readonly string[], body: string | Buffer, timestampSec: number = Math.floor(Date.now() / 1000)): string {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0) throw new RangeError('signWebhook needs at least one secret');
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new RangeError('timestamp must be a non-negative integer (unix seconds)');
  return [`t=${timestampSec}`, ...secrets.map((s) => `v1=${computeSignature(s, timestampSec, body)}`)].join(',');
}

export type VerifyFailure = 'missing-header' | 'malformed-header' | 'timestamp-outside-tolerance' | 'signature-mismatch';

export type VerifyResult = { ok: true; timestamp: number } | { ok: false; reason: VerifyFailure };

/** Parses `t=…,v1=…[,v1=…]`; unknown schemes (`v0=`, future `v2=`) are ignored. */
function parseHeader(header: string): { timestamp: number; signatures: string[] } | undefined {
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const key = part.slice(0, eq).trim();
    const value = part.slice(eq + 1).trim();
    if (key === 't') {
      if (!/^\d{1,15}$/.test(value)) return undefined;
      timestamp = Number(value);
    } else if (key === 'v1') {
      if (/^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase());
    }
  }
  if (timestamp === undefined || signatures.length === 0) return undefined;
  return { timestamp, signatures };
}

/**
 * Verifies a received webhook: the header parses, its timestamp is within `toleranceSec` of now,
 * and one `v1` equals the HMAC of the raw body (constant-time comparison).
 * @param secret the subscriber's secret, or several while rotating.
 * @param header the `Rostersync-Signature` value (undefined when the header is missing).
 * @param body the raw request body, byte for byte as received.
 * @param nowSec the receiver's clock (unix seconds), for tests.
 */
export function verifyWebhookSignature(
  secret: string | readonly string[],
  header: string | undefined,
  body: string | Buffer,
  toleranceSec: number = DEFAULT_TOLERANCE_SEC,
  nowSec: number = Math.floor(Date.now() / 1000),
): VerifyResult {
  if (header === undefined || header === '') return { ok: false, reason: 'missing-header' };
  const parsed = parseHeader(header);
  if (parsed === undefined) return { ok: false, reason: 'malformed-header' };
  if (Math.abs(nowSec - parsed.timestamp) > toleranceSec) return { ok: false, reason: 'timestamp-outside-tolerance' };
  const secrets = typeof secret === 'string' ? [secret] : secret;
  let match = false;
  for (const s of secrets) {
    const expected = Buffer.from(computeSignature(s, parsed.timestamp, body), 'hex');
    for (const sig of parsed.signatures) {
      // Both are 32 bytes (the header regex admits only 64 hex digits), as timingSafeEqual requires.
      if (timingSafeEqual(expected, Buffer.from(sig, 'hex'))) match = true;
    }
  }
  return match ? { ok: true, timestamp: parsed.timestamp } : { ok: false, reason: 'signature-mismatch' };
}
