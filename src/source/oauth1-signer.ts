/**
 * Two-legged OAuth 1.0a request signing (RFC 5849 §3), as OneRoster 1.1 providers (ClassLink, older
 * Infinite Campus) expect it. Hand-written on node:crypto because every retry must be signed again with a
 * new nonce and timestamp (engineering-anchors §1.7.4), which rules out transport-level signing helpers.
 *
 * Sign exactly the bytes you send: build the query with `percentEncode` (or `buildQuery`), then pass that
 * final URL here. The signer re-parses the URL's query, so what is signed is what the server will decode.
 */
import { createHmac, randomBytes } from 'node:crypto';
import type { OAuth1SignatureMethod } from './connection.ts';

/**
 * RFC 3986 §2.3 percent-encoding as RFC 5849 §3.6 requires: only `A-Z a-z 0-9 - . _ ~` stay unescaped,
 * UTF-8 bytes, upper-case hex. `encodeURIComponent` also leaves `! ' ( ) *` alone, and OneRoster filters are
 * full of `'` (`status='active'`), so those five are escaped by hand.
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** `k=v&k2=v2` with both sides RFC 3986-encoded; the order is kept (the signer sorts separately). */
export function buildQuery(params: ReadonlyArray<readonly [string, string]>): string {
  return params.map(([k, v]) => `${percentEncode(k)}=${percentEncode(v)}`).join('&');
}

export interface OAuth1SignInput {
  method: string;
  /** The exact URL that will be requested, query included. */
  url: string;
  consumerKey: string;
  consumerSecret: string;
  signatureMethod: OAuth1SignatureMethod;
  /** Three-legged token; OneRoster never uses one. Here so RFC 5849's own examples can be checked. */
  token?: string;
  tokenSecret?: string;
  /** Form-encoded body parameters (RFC 5849 §3.4.1.3.1); OneRoster GETs have none. */
  bodyParams?: ReadonlyArray<readonly [string, string]>;
  /** Default: 16 random bytes, hex. Injected only by tests. */
  nonce?: string;
  /** Unix seconds. Default: now. Injected only by tests. */
  timestamp?: number | string;
  /** Send `oauth_version="1.0"` (default true; RFC 5849 §3.1 makes it optional, some verifiers want it). */
  includeVersion?: boolean;
  /** Optional `realm` for the header (never signed, §3.4.1.3.1). */
  realm?: string;
}

/** The oauth_* protocol parameters for one request, nonce and timestamp fixed. */
function protocolParams(input: OAuth1SignInput): Array<[string, string]> {
  const p: Array<[string, string]> = [
    ['oauth_consumer_key', input.consumerKey],
    ['oauth_nonce', input.nonce ?? randomBytes(16).toString('hex')],
    ['oauth_signature_method', input.signatureMethod],
    ['oauth_timestamp', String(input.timestamp ?? Math.floor(Date.now() / 1000))],
  ];
  if (input.token !== undefined) p.push(['oauth_token', input.token]);
  if (input.includeVersion ?? true) p.push(['oauth_version', '1.0']);
  return p;
}

/** RFC 5849 §3.4.1.2: scheme and host lower-case, default port dropped, path kept, no query or fragment. */
function baseStringUri(u: URL): string {
  // WHATWG URL already lower-cases scheme and host and drops :80 / :443.
  return `${u.protocol}//${u.host}${u.pathname === '' ? '/' : u.pathname}`;
}

function baseString(input: OAuth1SignInput, oauth: ReadonlyArray<readonly [string, string]>): string {
  const u = new URL(input.url);
  // §3.4.1.3.1: query parsed as application/x-www-form-urlencoded (so `+` is a space), then re-encoded.
  const params: Array<readonly [string, string]> = [...u.searchParams.entries()];
  if (input.bodyParams !== undefined) params.push(...input.bodyParams);
  params.push(...oauth);
  // §3.4.1.3.2: encode, sort by name then value in byte order (plain `<` on ASCII; not localeCompare).
  const encoded = params.map(([k, v]) => [percentEncode(k), percentEncode(v)] as const);
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  const normalized = encoded.map(([k, v]) => `${k}=${v}`).join('&');
  return [input.method.toUpperCase(), percentEncode(baseStringUri(u)), percentEncode(normalized)].join('&');
}

/**
 * The RFC 5849 §3.4.1 signature base string for a request. `nonce` and `timestamp` should be given
 * (otherwise fresh ones are drawn and the result cannot be reproduced).
 */
export function signatureBaseString(input: OAuth1SignInput): string {
  return baseString(input, protocolParams(input));
}

function sign(base: string, input: OAuth1SignInput): string {
  // §3.4.2: key = enc(client secret) & enc(token secret); two-legged leaves the token secret empty.
  const key = `${percentEncode(input.consumerSecret)}&${percentEncode(input.tokenSecret ?? '')}`;
  const algo = input.signatureMethod === 'HMAC-SHA1' ? 'sha1' : 'sha256';
  return createHmac(algo, key).update(base).digest('base64');
}

/** The base64 signature of a request (exposed for tests and diagnostics). */
export function computeSignature(input: OAuth1SignInput): string {
  return sign(signatureBaseString(input), input);
}

/**
 * Signs one request and returns the `Authorization` header value (§3.5.1). Call it for every attempt:
 * each call draws a new nonce and timestamp unless the test injects them.
 */
export function signRequest(input: OAuth1SignInput): string {
  const oauth = protocolParams(input);
  const signature = sign(baseString(input, oauth), input);
  const fields = [...oauth, ['oauth_signature', signature] as const].map(
    ([k, v]) => `${percentEncode(k)}="${percentEncode(v)}"`,
  );
  if (input.realm !== undefined) fields.unshift(`realm="${input.realm.replace(/["\\]/g, '')}"`);
  return `OAuth ${fields.join(', ')}`;
}
