/**
 * Connection settings for one OneRoster provider, and their validation.
 *
 * Settings arrive as untrusted input (JSON from the admin API, a config file, CLI flags), so
 * `parseConnection` takes `unknown`, fills defaults, and reports every bad field at once with a message
 * an admin can act on. Defaults follow engineering-anchors §1.6–1.7: SDS-sized pages (5000), serial
 * requests (Infinite Campus asks for serial requests at peak, ≤ 5 concurrent off-peak), 120 s per request.
 */
import { SourceError, type ConfigProblem } from './errors.ts';

/** How the OAuth 2 client authenticates at the token endpoint (RFC 6749 §2.3.1). */
export type ClientAuthMethod = 'basic' | 'body' | 'auto';
export type OAuth1SignatureMethod = 'HMAC-SHA256' | 'HMAC-SHA1';

export interface NoAuth {
  kind: 'none';
}

export interface OAuth2Auth {
  kind: 'oauth2';
  /** Absolute URL; may carry a query (Infinite Campus: `…/campus/oauth2/token?appName=…`). */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scope URIs, sent as-is (Aeries requires at least one). */
  scope?: string;
  /** `auto` = HTTP Basic first, then form-body credentials once if the token endpoint answers 400/401. */
  clientAuth: ClientAuthMethod;
}

export interface OAuth1Auth {
  kind: 'oauth1';
  /** The consumer key. */
  clientId: string;
  /** The consumer secret. */
  clientSecret: string;
  signatureMethod: OAuth1SignatureMethod;
}

export type AuthConfig = NoAuth | OAuth2Auth | OAuth1Auth;

export interface TimeoutConfig {
  /** TCP+TLS connect timeout. */
  connectMs: number;
  /** Whole-attempt timeout (headers and body). */
  requestMs: number;
}

export interface RetryConfig {
  /** Total attempts per request, the first one included. */
  maxAttempts: number;
  /** Give up when the next wait would end later than this after the first attempt started. */
  maxElapsedMs: number;
  /** Backoff base: attempt n waits up to `baseDelayMs * 2^(n-1)` (full jitter). */
  baseDelayMs: number;
  /** Cap on one wait, `Retry-After` included. */
  maxDelayMs: number;
}

/** A validated connection. All defaults filled in; `baseUrl` has no trailing slash. */
export interface ConnectionConfig {
  /** Full API root, e.g. `https://district.aeries.net/aeries/ims/oneroster/v1p1`. */
  baseUrl: string;
  auth: AuthConfig;
  /** `limit` requested per page, 1..10000. */
  pageSize: number;
  /** Requests in flight at once for this connection, 1..5. */
  maxConcurrency: number;
  /** Optional request rate cap (token bucket shared by all requests of the connection). */
  requestsPerSecond?: number;
  timeouts: TimeoutConfig;
  retry: RetryConfig;
}

export const API_ROOT_SUFFIX = '/ims/oneroster/v1p1';

export const CONNECTION_DEFAULTS = {
  pageSize: 5000,
  maxConcurrency: 1,
  timeouts: { connectMs: 10_000, requestMs: 120_000 },
  retry: { maxAttempts: 8, maxElapsedMs: 10 * 60_000, baseDelayMs: 500, maxDelayMs: 60_000 },
} as const;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

class Checker {
  readonly problems: ConfigProblem[] = [];

  fail(field: string, message: string): undefined {
    this.problems.push({ field, message });
    return undefined;
  }

  string(o: Obj, key: string, prefix: string, required: boolean): string | undefined {
    const field = prefix + key;
    const v = o[key];
    if (v === undefined || v === null) return required ? this.fail(field, `${field} is required.`) : undefined;
    if (typeof v !== 'string') return this.fail(field, `${field} must be a string.`);
    if (v.trim() === '') return required ? this.fail(field, `${field} must not be empty.`) : undefined;
    return v;
  }

  int(o: Obj, key: string, prefix: string, min: number, max: number, dflt: number): number {
    const field = prefix + key;
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.fail(field, `${field} must be a whole number from ${min} to ${max} (got ${JSON.stringify(v)}).`);
      return dflt;
    }
    return v;
  }

  url(value: string, field: string): URL | undefined {
    let u: URL;
    try {
      u = new URL(value);
    } catch {
      return this.fail(field, `${field} is not a valid absolute URL (expected e.g. https://sis.example.org/…).`);
    }
    if (u.protocol !== 'https:' && u.protocol !== 'http:') {
      return this.fail(field, `${field} must use http or https (got ${u.protocol.replace(':', '')}).`);
    }
    if (u.username !== '' || u.password !== '') {
      // Credentials in URLs end up in logs and browser history; they belong in the auth settings.
      return this.fail(field, `${field} must not contain a user name or password; use the auth settings.`);
    }
    if (u.hash !== '') return this.fail(field, `${field} must not contain a #fragment.`);
    return u;
  }
}

function normaliseBaseUrl(c: Checker, raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const u = c.url(raw.trim(), 'baseUrl');
  if (u === undefined) return undefined;
  if (u.search !== '') {
    return c.fail('baseUrl', 'baseUrl must not contain a query string; give only the API root.');
  }
  const path = u.pathname.replace(/\/+$/, '');
  if (!path.endsWith(API_ROOT_SUFFIX)) {
    const hint = path.endsWith('/ims/oneroster/rostering/v1p2')
      ? ' OneRoster 1.2 endpoints are not supported yet; use the provider\'s 1.1 root.'
      : ` Any prefix before it is fine, e.g. https://district.aeries.net/aeries${API_ROOT_SUFFIX}.`;
    return c.fail('baseUrl', `baseUrl must be the full API root ending in ${API_ROOT_SUFFIX} (got path "${path || '/'}").${hint}`);
  }
  return `${u.protocol}//${u.host}${path}`;
}

function parseAuth(c: Checker, v: unknown): AuthConfig | undefined {
  if (v === undefined || v === null) return { kind: 'none' };
  if (!isObj(v)) return c.fail('auth', 'auth must be an object like {"kind": "oauth2", …}.');
  const kind = v['kind'];
  if (kind === 'none') return { kind: 'none' };
  if (kind === 'oauth2') {
    const tokenUrl = c.string(v, 'tokenUrl', 'auth.', true);
    if (tokenUrl !== undefined) c.url(tokenUrl.trim(), 'auth.tokenUrl');
    const clientId = c.string(v, 'clientId', 'auth.', true);
    const clientSecret = c.string(v, 'clientSecret', 'auth.', true);
    const scope = c.string(v, 'scope', 'auth.', false);
    const ca = v['clientAuth'] ?? 'auto';
    if (ca !== 'basic' && ca !== 'body' && ca !== 'auto') {
      c.fail('auth.clientAuth', 'auth.clientAuth must be "basic", "body" or "auto".');
    }
    if (tokenUrl === undefined || clientId === undefined || clientSecret === undefined) return undefined;
    const out: OAuth2Auth = {
      kind: 'oauth2',
      tokenUrl: tokenUrl.trim(),
      clientId,
      clientSecret,
      clientAuth: ca === 'basic' || ca === 'body' ? ca : 'auto',
    };
    if (scope !== undefined) out.scope = scope.trim();
    return out;
  }
  if (kind === 'oauth1') {
    const clientId = c.string(v, 'clientId', 'auth.', true);
    const clientSecret = c.string(v, 'clientSecret', 'auth.', true);
    const sm = v['signatureMethod'] ?? 'HMAC-SHA256';
    if (sm !== 'HMAC-SHA256' && sm !== 'HMAC-SHA1') {
      c.fail('auth.signatureMethod', 'auth.signatureMethod must be "HMAC-SHA256" or "HMAC-SHA1".');
    }
    if (clientId === undefined || clientSecret === undefined) return undefined;
    return { kind: 'oauth1', clientId, clientSecret, signatureMethod: sm === 'HMAC-SHA1' ? 'HMAC-SHA1' : 'HMAC-SHA256' };
  }
  return c.fail('auth.kind', 'auth.kind must be "none", "oauth2" or "oauth1".');
}

export type ValidationResult = { ok: true; config: ConnectionConfig } | { ok: false; problems: ConfigProblem[] };

/**
 * Validates raw connection settings and fills defaults. Reports every problem, one per bad field.
 * Never echoes secret values in problem messages.
 */
export function validateConnection(input: unknown): ValidationResult {
  const c = new Checker();
  if (!isObj(input)) return { ok: false, problems: [{ field: '', message: 'Connection settings must be an object.' }] };

  const baseUrl = normaliseBaseUrl(c, c.string(input, 'baseUrl', '', true));
  const auth = parseAuth(c, input['auth']);
  const pageSize = c.int(input, 'pageSize', '', 1, 10_000, CONNECTION_DEFAULTS.pageSize);
  const maxConcurrency = c.int(input, 'maxConcurrency', '', 1, 5, CONNECTION_DEFAULTS.maxConcurrency);

  let requestsPerSecond: number | undefined;
  const rps = input['requestsPerSecond'];
  if (rps !== undefined && rps !== null) {
    if (typeof rps !== 'number' || !Number.isFinite(rps) || rps <= 0 || rps > 1000) {
      c.fail('requestsPerSecond', 'requestsPerSecond must be a number above 0 and at most 1000 (e.g. 0.5 or 5).');
    } else requestsPerSecond = rps;
  }

  const t = input['timeouts'] ?? {};
  const timeouts: TimeoutConfig = { ...CONNECTION_DEFAULTS.timeouts };
  if (!isObj(t)) c.fail('timeouts', 'timeouts must be an object like {"connectMs": 10000, "requestMs": 120000}.');
  else {
    timeouts.connectMs = c.int(t, 'connectMs', 'timeouts.', 100, 300_000, CONNECTION_DEFAULTS.timeouts.connectMs);
    timeouts.requestMs = c.int(t, 'requestMs', 'timeouts.', 100, 3_600_000, CONNECTION_DEFAULTS.timeouts.requestMs);
  }

  const r = input['retry'] ?? {};
  const retry: RetryConfig = { ...CONNECTION_DEFAULTS.retry };
  if (!isObj(r)) c.fail('retry', 'retry must be an object like {"maxAttempts": 8}.');
  else {
    const d = CONNECTION_DEFAULTS.retry;
    retry.maxAttempts = c.int(r, 'maxAttempts', 'retry.', 1, 50, d.maxAttempts);
    retry.maxElapsedMs = c.int(r, 'maxElapsedMs', 'retry.', 0, 24 * 3_600_000, d.maxElapsedMs);
    retry.baseDelayMs = c.int(r, 'baseDelayMs', 'retry.', 0, 600_000, d.baseDelayMs);
    retry.maxDelayMs = c.int(r, 'maxDelayMs', 'retry.', 0, 3_600_000, d.maxDelayMs);
    if (retry.maxDelayMs < retry.baseDelayMs) {
      c.fail('retry.maxDelayMs', 'retry.maxDelayMs must be at least retry.baseDelayMs.');
    }
  }

  const known = new Set(['baseUrl', 'auth', 'pageSize', 'maxConcurrency', 'requestsPerSecond', 'timeouts', 'retry']);
  for (const key of Object.keys(input)) {
    if (!known.has(key)) c.fail(key, `Unknown setting "${key}".`);
  }

  if (c.problems.length > 0 || baseUrl === undefined || auth === undefined) {
    return { ok: false, problems: c.problems };
  }
  const config: ConnectionConfig = { baseUrl, auth, pageSize, maxConcurrency, timeouts, retry };
  if (requestsPerSecond !== undefined) config.requestsPerSecond = requestsPerSecond;
  return { ok: true, config };
}

/**
 * Validates raw settings (see `validateConnection`) and returns the config, or throws a
 * `SourceError('invalid_config')` whose message lists every bad field and whose `problems` holds them.
 */
export function parseConnection(input: unknown): ConnectionConfig {
  const r = validateConnection(input);
  if (r.ok) return r.config;
  const lines = r.problems.map((p) => `- ${p.message}`).join('\n');
  throw new SourceError('invalid_config', `The connection settings are invalid:\n${lines}`, { problems: r.problems });
}

/** A copy of a connection safe to show or log: secrets replaced by `***`. */
export function redactConnection(config: ConnectionConfig): ConnectionConfig {
  const auth: AuthConfig = config.auth.kind === 'none' ? { kind: 'none' } : { ...config.auth, clientSecret: '***' };
  return { ...config, auth, timeouts: { ...config.timeouts }, retry: { ...config.retry } };
}

/** A URL for display and audit: scheme, host and path; no credentials, query or fragment. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}
