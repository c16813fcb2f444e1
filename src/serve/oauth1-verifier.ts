import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * OAuth 1.0a request verification for the OneRoster 1.1 provider (two-legged: consumer key and
 * secret, no token), written from RFC 5849 on node:crypto.
 *
 * Deliberately independent of the client signer in `source/`: two implementations written
 * separately from the RFC catch each other's encoding mistakes (spec notes §4.3: "signing-order
 * bugs cause 401s"). Do not import from `source/` here.
 *
 * Pure except for the nonce store, which is an injected in-memory object.
 */

export type OAuth1SignatureMethod = 'HMAC-SHA1' | 'HMAC-SHA256';

export const OAUTH1_SIGNATURE_METHODS: readonly OAuth1SignatureMethod[] = ['HMAC-SHA1', 'HMAC-SHA256'];

/** One name/value pair, decoded. Order matters only for display; the base string sorts them. */
export type Param = readonly [name: string, value: string];

/**
 * RFC 3986 percent-encoding as RFC 5849 §3.6 requires: only `A-Z a-z 0-9 - . _ ~` stay as they
 * are, everything else is UTF-8 encoded and written `%XX` with upper-case hex. (JavaScript's
 * `encodeURIComponent` leaves `!'()*` alone, which is the classic OAuth 1 bug.)
 */
export function percentEncode(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase(),
  );
}

/** Decodes `%XX` sequences (UTF-8); returns undefined when they are not valid UTF-8 or malformed. */
function percentDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * Parses an `application/x-www-form-urlencoded` string (a URL query or a form body) into decoded
 * pairs, as RFC 5849 §3.4.1.3.1 prescribes (HTML 4.01 §17.13.4: `+` is a space). Pairs whose
 * encoding is broken are kept undecoded so that the signature check (not this parser) rejects
 * them. Empty segments (`a=1&&b=2`) are skipped; `c@` without `=` is the pair `["c@", ""]`.
 */
export function parseFormEncoded(raw: string): Param[] {
  const out: Param[] = [];
  if (raw === '') return out;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawName = eq === -1 ? part : part.slice(0, eq);
    const rawValue = eq === -1 ? '' : part.slice(eq + 1);
    const name = rawName.replace(/\+/g, ' ');
    const value = rawValue.replace(/\+/g, ' ');
    out.push([percentDecode(name) ?? name, percentDecode(value) ?? value]);
  }
  return out;
}

/**
 * Parses an `Authorization: OAuth ...` header (RFC 5849 §3.5.1) into decoded pairs, `realm`
 * included. Returns undefined when the header is not an OAuth header or is malformed.
 * Values are percent-decoded only (`+` stays `+`: the header is not form-encoded).
 */
export function parseOAuthHeader(header: string): Param[] | undefined {
  const m = /^\s*OAuth(?:\s+|$)/i.exec(header);
  if (!m) return undefined;
  const rest = header.slice(m[0].length);
  const out: Param[] = [];
  const re = /\s*([^\s=,]+)\s*=\s*"([^"]*)"\s*(,|$)/y;
  let pos = 0;
  while (pos < rest.length) {
    if (/^\s*$/.test(rest.slice(pos))) break;
    re.lastIndex = pos;
    const p = re.exec(rest);
    if (!p) return undefined;
    const name = percentDecode(p[1] ?? '');
    const value = percentDecode(p[2] ?? '');
    if (name === undefined || value === undefined) return undefined;
    out.push([name, value]);
    pos = re.lastIndex;
    if (p[3] === '') break;
  }
  return out;
}

/**
 * The base string URI of RFC 5849 §3.4.1.2: lower-case scheme and host, the port only when it is
 * not the scheme's default, the path, and no query or fragment. `host` is the `Host` header as
 * the client sent it (it is what the client signed).
 */
export function baseStringUri(scheme: string, host: string, path: string): string {
  const s = scheme.toLowerCase();
  let h = host.toLowerCase();
  if ((s === 'http' && h.endsWith(':80')) || (s === 'https' && h.endsWith(':443'))) {
    h = h.slice(0, h.lastIndexOf(':'));
  }
  return `${s}://${h}${path === '' ? '/' : path}`;
}

/**
 * Parameter normalisation of RFC 5849 §3.4.1.3.2: encode every name and value, sort by encoded
 * name then encoded value (byte order), join `name=value` with `&`.
 */
export function normalizeParameters(params: readonly Param[]): string {
  const encoded = params.map(([n, v]) => [percentEncode(n), percentEncode(v)] as const);
  encoded.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return encoded.map(([n, v]) => `${n}=${v}`).join('&');
}

/**
 * The signature base string of RFC 5849 §3.4.1.1:
 * `METHOD&pct(base string URI)&pct(normalised parameters)`. `params` must already exclude
 * `oauth_signature` and `realm` (§3.4.1.3.1).
 */
export function signatureBaseString(method: string, uri: string, params: readonly Param[]): string {
  return `${method.toUpperCase()}&${percentEncode(uri)}&${percentEncode(normalizeParameters(params))}`;
}

/**
 * HMAC signature of RFC 5849 §3.4.2 (and the HMAC-SHA256 variant every OneRoster 1.1 provider
 * uses, spec notes §4.3): key = `pct(consumer secret)&pct(token secret)`, base64 digest.
 */
export function hmacSignature(
  method: OAuth1SignatureMethod,
  baseString: string,
  consumerSecret: string,
  tokenSecret = '',
): string {
  const algo = method === 'HMAC-SHA1' ? 'sha1' : 'sha256';
  const key = `${percentEncode(consumerSecret)}&${percentEncode(tokenSecret)}`;
  return createHmac(algo, key).update(baseString).digest('base64');
}

/**
 * Remembers nonces for a while so a captured request cannot be replayed (RFC 5849 §3.3). In
 * memory, expiring; entries live as long as a timestamp could still pass the window check.
 */
export class NonceStore {
  readonly #seen = new Map<string, number>();
  readonly #ttlMs: number;
  #nextPrune = 0;

  /** @param ttlMs how long a nonce is remembered; use at least twice the timestamp window. */
  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  /**
   * Records the nonce and returns true when it is fresh; false when this consumer already used
   * it with this timestamp within the TTL.
   */
  checkAndRemember(consumerKey: string, timestamp: string, nonce: string, nowMs: number): boolean {
    if (nowMs >= this.#nextPrune) this.prune(nowMs);
    const key = `${consumerKey}\n${timestamp}\n${nonce}`;
    const expires = this.#seen.get(key);
    if (expires !== undefined && expires > nowMs) return false;
    this.#seen.set(key, nowMs + this.#ttlMs);
    return true;
  }

  /** Drops expired entries. Called automatically at most once a second. */
  prune(nowMs: number): void {
    for (const [k, exp] of this.#seen) if (exp <= nowMs) this.#seen.delete(k);
    this.#nextPrune = nowMs + 1000;
  }

  get size(): number {
    return this.#seen.size;
  }
}

/** What the verifier needs to know about an incoming request. */
export interface OAuth1Request {
  method: string;
  /** `http` or `https`, as the client saw it. */
  scheme: string;
  /** The `Host` header. */
  host: string;
  /** Path plus raw (still encoded) query string, e.g. `/ims/oneroster/v1p1/users?limit=5`. */
  url: string;
  authorization?: string | undefined;
  /** Decoded form body pairs when the body is `application/x-www-form-urlencoded` (§3.4.1.3.1). */
  formBody?: readonly Param[] | undefined;
}

export type OAuth1Result =
  | { ok: true; consumerKey: string; signatureMethod: OAuth1SignatureMethod }
  | { ok: false; reason: string; consumerKey?: string };

export interface OAuth1VerifierOptions {
  /** Secret of a consumer key, or undefined when the key is unknown. */
  lookupSecret: (consumerKey: string) => string | undefined;
  /** Accepted clock difference, both directions. Default 600 s (Instructure asks for 10 min). */
  timestampWindowSeconds?: number;
  /** Clock, injectable for tests. */
  now?: () => number;
  /** Nonce store; default a new in-memory store remembering nonces for twice the window. */
  nonceStore?: NonceStore;
}

/**
 * Verifies two-legged OAuth 1.0a signatures (HMAC-SHA1 and HMAC-SHA256), with the `oauth_*`
 * parameters in the `Authorization` header or, failing that, in the query string (RFC 5849
 * §3.5.1, §3.5.3). Every failure carries a reason fit for an error description: it names the
 * consumer key at most, never the secret or the expected signature.
 */
export class OAuth1Verifier {
  readonly #lookupSecret: (consumerKey: string) => string | undefined;
  readonly #windowSeconds: number;
  readonly #now: () => number;
  readonly #nonces: NonceStore;

  constructor(options: OAuth1VerifierOptions) {
    this.#lookupSecret = options.lookupSecret;
    this.#windowSeconds = options.timestampWindowSeconds ?? 600;
    this.#now = options.now ?? Date.now;
    this.#nonces = options.nonceStore ?? new NonceStore(this.#windowSeconds * 2 * 1000);
  }

  /** Checks one request. Records its nonce only when everything else passed. */
  verify(req: OAuth1Request): OAuth1Result {
    const q = req.url.indexOf('?');
    const path = q === -1 ? req.url : req.url.slice(0, q);
    const queryParams = q === -1 ? [] : parseFormEncoded(req.url.slice(q + 1));

    let protocolParams: Param[];
    let otherParams: Param[];
    const header = req.authorization;
    if (header !== undefined && /^\s*OAuth\b/i.test(header)) {
      const parsed = parseOAuthHeader(header);
      if (!parsed) return { ok: false, reason: 'malformed OAuth Authorization header' };
      protocolParams = parsed.filter(([n]) => n !== 'realm');
      otherParams = [...queryParams, ...(req.formBody ?? [])];
    } else {
      protocolParams = queryParams.filter(([n]) => n.startsWith('oauth_'));
      otherParams = [...queryParams.filter(([n]) => !n.startsWith('oauth_')), ...(req.formBody ?? [])];
      if (protocolParams.length === 0) return { ok: false, reason: 'missing OAuth 1.0a credentials' };
    }

    const oauth = new Map<string, string>();
    for (const [n, v] of protocolParams) {
      if (oauth.has(n)) return { ok: false, reason: `duplicate OAuth parameter ${n}` };
      oauth.set(n, v);
    }
    for (const required of ['oauth_consumer_key', 'oauth_signature_method', 'oauth_timestamp', 'oauth_nonce', 'oauth_signature']) {
      if (!oauth.get(required)) return { ok: false, reason: `missing OAuth parameter ${required}` };
    }
    const consumerKey = oauth.get('oauth_consumer_key') ?? '';
    const method = oauth.get('oauth_signature_method') ?? '';
    if (!(OAUTH1_SIGNATURE_METHODS as readonly string[]).includes(method)) {
      return { ok: false, consumerKey, reason: `unsupported signature method ${method.slice(0, 40)}` };
    }
    const version = oauth.get('oauth_version');
    if (version !== undefined && version !== '1.0') {
      return { ok: false, consumerKey, reason: `unsupported oauth_version ${version.slice(0, 20)}` };
    }
    // Two-legged only: OneRoster 1.1 consumers hold a key and secret, no access token.
    const token = oauth.get('oauth_token');
    if (token !== undefined && token !== '') {
      return { ok: false, consumerKey, reason: 'oauth_token is not supported (two-legged OAuth only)' };
    }
    const secret = this.#lookupSecret(consumerKey);
    if (secret === undefined) return { ok: false, consumerKey, reason: 'unknown consumer key' };

    const tsText = oauth.get('oauth_timestamp') ?? '';
    if (!/^\d{1,12}$/.test(tsText)) return { ok: false, consumerKey, reason: 'malformed oauth_timestamp' };
    const nowMs = this.#now();
    const skew = Number(tsText) - Math.floor(nowMs / 1000);
    if (Math.abs(skew) > this.#windowSeconds) {
      return { ok: false, consumerKey, reason: `stale timestamp (${skew > 0 ? '+' : ''}${skew} s off the server clock)` };
    }

    const signed = [...otherParams, ...protocolParams.filter(([n]) => n !== 'oauth_signature')];
    const base = signatureBaseString(req.method, baseStringUri(req.scheme, req.host, path), signed);
    // Compare the base64 text itself (Buffer's base64 decoder skips junk characters).
    const expected = Buffer.from(hmacSignature(method as OAuth1SignatureMethod, base, secret), 'utf8');
    const given = Buffer.from(oauth.get('oauth_signature') ?? '', 'utf8');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return { ok: false, consumerKey, reason: 'bad signature' };
    }
    if (!this.#nonces.checkAndRemember(consumerKey, tsText, oauth.get('oauth_nonce') ?? '', nowMs)) {
      return { ok: false, consumerKey, reason: 'replayed nonce' };
    }
    return { ok: true, consumerKey, signatureMethod: method as OAuth1SignatureMethod };
  }
}
