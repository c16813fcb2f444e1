import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * OAuth 2.0 client-credentials authorisation server for the OneRoster provider (RFC 6749 §4.4),
 * with the OneRoster 1.1 scopes (spec notes §4.1, §4.2).
 *
 * Pure core: `TokenIssuer.handleTokenRequest` takes the parsed request parts and returns status,
 * headers and body; the fastify route in `auth.ts` only moves bytes.
 */

const SCOPE_BASE = 'https://purl.imsglobal.org/spec/or/v1p1/scope/';

/** The three rostering scopes of OneRoster 1.1 (spec notes §4.1). */
export const ONEROSTER_SCOPES = {
  core: `${SCOPE_BASE}roster-core.readonly`,
  roster: `${SCOPE_BASE}roster.readonly`,
  demographics: `${SCOPE_BASE}roster-demographics.readonly`,
} as const;

export const ALL_ONEROSTER_SCOPES: readonly string[] = Object.values(ONEROSTER_SCOPES);

/** A client allowed to ask for tokens (OAuth 2) or sign requests (OAuth 1: id = consumer key). */
export interface ClientCredential {
  clientId: string;
  clientSecret: string;
  /** Scopes this client may be granted. Default: all three rostering scopes. */
  scopes?: readonly string[];
}

export interface IssuedToken {
  clientId: string;
  scopes: readonly string[];
  expiresAtMs: number;
}

export interface TokenResponse {
  status: number;
  headers: Record<string, string>;
  body: Record<string, unknown>;
}

export interface TokenRequestInput {
  authorization?: string | undefined;
  /** Decoded form (or JSON) body fields; non-string values are ignored. */
  body: Record<string, unknown> | undefined;
}

export interface TokenIssuerOptions {
  clients: readonly ClientCredential[];
  /** Lifetime of a token. Default 3600 s. */
  tokenTtlSeconds?: number;
  now?: () => number;
  /** Token generator, injectable for tests. Default 32 random bytes, base64url. */
  newToken?: () => string;
  /**
   * Issue self-contained tokens signed with this key (HMAC-SHA256) instead of keeping them in this
   * process: every process holding the same key accepts them (several API nodes behind one
   * address). At least 32 bytes. `newToken` is not used then.
   */
  signingKey?: Buffer;
}

/** Prefix of a signed token: `rs1.<payload base64url>.<HMAC-SHA256 base64url>`. */
const SIGNED_PREFIX = 'rs1.';

/** The signed token's payload: client id, granted scopes, expiry (ms since the epoch). */
interface SignedPayload {
  c: string;
  s: string[];
  e: number;
}

function mac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/** A signed token for `grant`. */
function signToken(key: Buffer, grant: IssuedToken): string {
  const payload: SignedPayload = { c: grant.clientId, s: [...grant.scopes], e: grant.expiresAtMs };
  const head = SIGNED_PREFIX + Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${head}.${mac(key, head).toString('base64url')}`;
}

/** The grant a signed token carries, or undefined when it is malformed or its signature is wrong. */
function openToken(key: Buffer, token: string): IssuedToken | undefined {
  if (!token.startsWith(SIGNED_PREFIX)) return undefined;
  const dot = token.lastIndexOf('.');
  if (dot <= SIGNED_PREFIX.length) return undefined;
  const head = token.slice(0, dot);
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const want = mac(key, head);
  if (sig.length !== want.length || !timingSafeEqual(sig, want)) return undefined;
  try {
    const p = JSON.parse(Buffer.from(head.slice(SIGNED_PREFIX.length), 'base64url').toString('utf8')) as Partial<SignedPayload>;
    if (typeof p.c !== 'string' || !Array.isArray(p.s) || !p.s.every((x) => typeof x === 'string') || typeof p.e !== 'number') return undefined;
    return { clientId: p.c, scopes: p.s, expiresAtMs: p.e };
  } catch {
    return undefined;
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** Constant-time string comparison (compares digests, so lengths need not match). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Form-url-decodes one credential half of a Basic header: RFC 6749 §2.3.1 says client id and
 * secret are `application/x-www-form-urlencoded` before base64, so `+` is a space.
 */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

function oauthError(status: number, error: string, description: string, extra: Record<string, string> = {}): TokenResponse {
  return {
    status,
    headers: { 'cache-control': 'no-store', pragma: 'no-cache', ...extra },
    body: { error, error_description: description },
  };
}

/** A client whose credentials checked out: who it is and what it may be granted (default all scopes). */
export interface AuthenticatedClient {
  clientId: string;
  scopes?: readonly string[];
}

interface ParsedTokenRequest {
  clientId: string;
  clientSecret: string;
  usedBasic: boolean;
  /** A string body field, or undefined. */
  field: (k: string) => string | undefined;
}

/** The client credentials of a token request (HTTP Basic, else body fields), or the error response. */
function readTokenRequest(input: TokenRequestInput): ParsedTokenRequest | TokenResponse {
  const body = input.body ?? {};
  const field = (k: string): string | undefined => (typeof body[k] === 'string' ? (body[k] as string) : undefined);

  let clientId: string | undefined;
  let clientSecret: string | undefined;
  let usedBasic = false;
  const auth = input.authorization;
  if (auth !== undefined && /^\s*Basic\s+/i.test(auth)) {
    usedBasic = true;
    const decoded = Buffer.from(auth.replace(/^\s*Basic\s+/i, '').trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon === -1) return oauthError(401, 'invalid_client', 'malformed Basic credentials', { 'www-authenticate': 'Basic realm="oneroster"' });
    clientId = formDecode(decoded.slice(0, colon));
    clientSecret = formDecode(decoded.slice(colon + 1));
  } else {
    clientId = field('client_id');
    clientSecret = field('client_secret');
  }
  if (clientId === undefined || clientSecret === undefined) {
    return usedBasic
      ? oauthError(401, 'invalid_client', 'malformed Basic credentials', { 'www-authenticate': 'Basic realm="oneroster"' })
      : oauthError(401, 'invalid_client', 'client authentication required (HTTP Basic or client_id/client_secret)');
  }
  return { clientId, clientSecret, usedBasic, field };
}

/**
 * Issues and checks bearer tokens. Tokens are independent: issuing a new one never invalidates
 * an older one (Instructure: concurrent workers each fetch a token, spec notes §4.2). Kept in this
 * process by default; with `signingKey`, signed and kept nowhere (see `TokenIssuerOptions`).
 */
export class TokenIssuer {
  readonly #clients = new Map<string, ClientCredential>();
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #ttlSeconds: number;
  readonly #now: () => number;
  readonly #newToken: () => string;
  readonly #signingKey: Buffer | undefined;
  #nextPrune = 0;

  constructor(options: TokenIssuerOptions) {
    for (const c of options.clients) this.#clients.set(c.clientId, c);
    this.#ttlSeconds = options.tokenTtlSeconds ?? 3600;
    this.#now = options.now ?? Date.now;
    this.#newToken = options.newToken ?? (() => randomBytes(32).toString('base64url'));
    if (options.signingKey !== undefined && options.signingKey.length < 32) throw new Error('the token signing key must be at least 32 bytes');
    this.#signingKey = options.signingKey;
  }

  get tokenTtlSeconds(): number {
    return this.#ttlSeconds;
  }

  /** Number of live tokens held (expired ones are pruned lazily). */
  get liveTokens(): number {
    return this.#tokens.size;
  }

  /**
   * Handles `POST {tokenPath}` (RFC 6749 §4.4.2): client authentication by HTTP Basic or by
   * `client_id`/`client_secret` body fields (§2.3.1), `grant_type=client_credentials`, optional
   * space-separated `scope`. Errors are RFC 6749 §5.2 JSON bodies.
   */
  handleTokenRequest(input: TokenRequestInput): TokenResponse {
    const req = readTokenRequest(input);
    if ('status' in req) return req;
    const client = this.#clients.get(req.clientId);
    // Compare against a dummy secret for unknown ids so timing does not reveal which ids exist.
    const secretOk = safeEqual(req.clientSecret, client?.clientSecret ?? '\u0000no-such-client');
    return this.#grant(req, client && secretOk ? client : undefined);
  }

  /**
   * `handleTokenRequest` with clients checked by `authenticate` instead of the static list (a store
   * holding hashed secrets). `authenticate` resolves the client when the secret is right, else
   * undefined (it should take the same time either way).
   */
  async handleTokenRequestAsync(input: TokenRequestInput, authenticate: (clientId: string, clientSecret: string) => Promise<AuthenticatedClient | undefined>): Promise<TokenResponse> {
    const req = readTokenRequest(input);
    if ('status' in req) return req;
    return this.#grant(req, await authenticate(req.clientId, req.clientSecret));
  }

  #grant(req: ParsedTokenRequest, client: AuthenticatedClient | undefined): TokenResponse {
    if (!client) {
      return oauthError(401, 'invalid_client', 'client authentication failed', req.usedBasic ? { 'www-authenticate': 'Basic realm="oneroster"' } : {});
    }
    const grantType = req.field('grant_type');
    if (grantType === undefined) return oauthError(400, 'invalid_request', 'grant_type is required');
    if (grantType !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'only grant_type=client_credentials is supported');
    }

    const allowed = client.scopes ?? ALL_ONEROSTER_SCOPES;
    const requestedText = req.field('scope');
    let granted: string[];
    if (requestedText === undefined || requestedText.trim() === '') {
      granted = [...allowed];
    } else {
      const requested = [...new Set(requestedText.trim().split(/\s+/))];
      const unknown = requested.find((s) => !ALL_ONEROSTER_SCOPES.includes(s));
      if (unknown !== undefined) return oauthError(400, 'invalid_scope', `unknown scope ${unknown.slice(0, 120)}`);
      const notAllowed = requested.find((s) => !allowed.includes(s));
      if (notAllowed !== undefined) return oauthError(400, 'invalid_scope', `scope not allowed for this client: ${notAllowed}`);
      granted = requested;
    }

    const nowMs = this.#now();
    const grant: IssuedToken = { clientId: client.clientId, scopes: granted, expiresAtMs: nowMs + this.#ttlSeconds * 1000 };
    let token: string;
    if (this.#signingKey !== undefined) token = signToken(this.#signingKey, grant);
    else {
      this.#prune(nowMs);
      token = this.#newToken();
      this.#tokens.set(token, grant);
    }
    return {
      status: 200,
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
      body: { access_token: token, token_type: 'bearer', expires_in: this.#ttlSeconds, scope: granted.join(' ') },
    };
  }

  /**
   * Looks up a bearer token: the grant when it is live, `'expired'` when it was issued but has
   * run out, undefined when it was never issued (or expired long enough ago to be pruned).
   */
  check(token: string): IssuedToken | 'expired' | undefined {
    const t = this.#signingKey !== undefined ? openToken(this.#signingKey, token) : this.#tokens.get(token);
    if (!t) return undefined;
    if (t.expiresAtMs <= this.#now()) return 'expired';
    return t;
  }

  /** Drops tokens expired for more than an hour, at most once a minute. */
  #prune(nowMs: number): void {
    if (nowMs < this.#nextPrune) return;
    this.#nextPrune = nowMs + 60_000;
    for (const [k, t] of this.#tokens) if (t.expiresAtMs + 3_600_000 <= nowMs) this.#tokens.delete(k);
  }
}
