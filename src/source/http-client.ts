/**
 * Authenticated, retried, rate-limited GETs against one OneRoster provider, with HTTP statuses turned into
 * typed `SourceError`s (engineering-anchors §1.7.4–1.7.7, spec-notes §1.4 and §2.6).
 *
 * Per attempt: take a concurrency permit and a rate token, authorise (OAuth 1.0a: sign again with a new
 * nonce and timestamp; OAuth 2: the current token), send, read the whole body, count requests and bytes.
 * 429/502/503/504 and resets/timeouts are retried (Retry-After honoured, else full-jitter backoff) within
 * the attempt and elapsed-time caps. A 401 with OAuth 2 drops the token and retries once.
 */
import type { ConnectionConfig } from './connection.ts';
import { SourceError, describeImsx, parseImsxStatus, parseImsxStatuses, type ImsxStatus, type SourceErrorDetails } from './errors.ts';
import { Semaphore, TokenBucket } from './limiter.ts';
import { signRequest } from './oauth1-signer.ts';
import { OAuth2TokenProvider, type TokenInfo } from './oauth2-token.ts';
import {
  RetryBudget,
  abortedError,
  classifyNetworkError,
  isRetryableStatus,
  parseRetryAfter,
  systemClock,
  type Clock,
} from './retry.ts';
import { createUndiciTransport, type Transport, type TransportResponse } from './transport.ts';

/** Counters for one read or for the client's lifetime. `retries` is keyed by cause: `429`, `503`, `ECONNRESET`, … */
export interface RequestCounters {
  requests: number;
  bytes: number;
  retries: Record<string, number>;
}

/** Fresh zeroed counters. */
export function emptyCounters(): RequestCounters {
  return { requests: 0, bytes: 0, retries: {} };
}

export interface HttpClientDeps {
  transport?: Transport;
  clock?: Clock;
  random?: () => number;
  userAgent?: string;
}

/** What to make of a 404: a missing endpoint (collections), a missing record (single reads), or just return it. */
export type NotFoundMeaning = 'endpoint_missing' | 'undefined';

export interface GetJsonOptions {
  signal?: AbortSignal;
  /** The 2xx body must be an object with this key (the OneRoster wrapper, e.g. `users`). */
  expectKey?: string;
  /** …and its value must be an array (collections) or an object (single reads). */
  expectShape?: 'array' | 'object';
  /** Default `endpoint_missing`. With `undefined`, a 404 resolves to undefined. */
  notFound?: NotFoundMeaning;
  /** Added to (besides the client's lifetime counters). */
  counters?: RequestCounters;
  /**
   * Looks at a 2xx body before it is parsed; `true` leaves it unparsed (the response's `raw`, with
   * an empty `body`): a caller that recognises the bytes (a page it has seen before) parses them
   * later with `parseEnvelope` only if it must.
   */
  peek?: (body: Buffer) => boolean;
}

export interface JsonResponse {
  status: number;
  headers: Record<string, string>;
  /** The parsed body (an object with `expectKey` when one was asked for). */
  body: Record<string, unknown>;
  bytes: number;
  /** HTTP requests this call took (retries and a token-refresh retry included). */
  requests: number;
  /** 1.1 `statusInfoSet` entries on a successful response (e.g. invalid_sort_field warnings). */
  warnings: ImsxStatus[];
  /** The unparsed body, when `peek` asked to leave it so (then `body` is empty). */
  raw?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  /** Parsed JSON body, or undefined when the body is not JSON. */
  json: unknown;
  bytes: number;
  requests: number;
}

interface Exchange {
  method: 'GET' | 'POST';
  url: string;
  /** Path relative to the API root (or the token endpoint's path): what messages show. */
  label: string;
  headers?: Record<string, string>;
  body?: string;
  /** API calls are authorised and rate-limited; token requests are neither (they would deadlock on the permit). */
  api: boolean;
  signal?: AbortSignal;
  counters?: RequestCounters;
}

const UTF8_BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/** Parses a body as JSON (BOM tolerated). Returns `undefined` when it is not JSON. */
export function parseJsonBody(body: Buffer): unknown {
  const text = body.subarray(0, 3).equals(UTF8_BOM) ? body.toString('utf8', 3) : body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * A 2xx body as a OneRoster envelope: a JSON object, with `opts.expectKey` of `opts.expectShape` when
 * asked, and its non-success `statusInfoSet` entries as warnings. Throws `bad_envelope` otherwise.
 */
export function parseEnvelope(
  raw: Buffer,
  res: { status: number; headers: Record<string, string>; label: string },
  opts: Pick<GetJsonOptions, 'expectKey' | 'expectShape'>,
): Omit<JsonResponse, 'requests'> {
  const { status, label } = res;
  const json = parseJsonBody(raw);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    const type = res.headers['content-type'] ?? 'no content type';
    throw new SourceError('bad_envelope', `The provider answered ${label} with HTTP ${status} but the body is not a JSON object (${type}, ${raw.length} bytes). Check that the base URL points at the OneRoster API, not a login page.`, { status, path: label });
  }
  const body = json as Record<string, unknown>;
  if (opts.expectKey !== undefined) {
    const v = body[opts.expectKey];
    const shapeOk = v !== undefined && v !== null &&
      (opts.expectShape === 'array' ? Array.isArray(v) : opts.expectShape === 'object' ? typeof v === 'object' && !Array.isArray(v) : true);
    if (!shapeOk) {
      const keys = Object.keys(body).slice(0, 5).map((k) => `"${k.slice(0, 40)}"`).join(', ');
      const what = v === undefined ? 'has no' : `has a malformed`;
      throw new SourceError('bad_envelope', `The provider answered ${label} with HTTP ${status}, but the body ${what} "${opts.expectKey}" ${opts.expectShape ?? 'value'} (top-level keys: ${keys || 'none'}). A success without the wrapper key is not an empty page; the provider's response is malformed.`, { status, path: label });
    }
  }
  const warnings = 'statusInfoSet' in body ? parseImsxStatuses({ statusInfoSet: body['statusInfoSet'] }).filter((s) => s.codeMinor !== 'fullsuccess' && s.codeMinor !== 'full success') : [];
  return { status, headers: res.headers, body, bytes: raw.length, warnings };
}

/** Returns the path of `url` relative to `baseUrl`, without its query (queries may hold personal data). */
function labelOf(pathAndQuery: string): string {
  const q = pathAndQuery.indexOf('?');
  return q >= 0 ? pathAndQuery.slice(0, q) : pathAndQuery;
}

/**
 * One per connection: owns the transport (sockets), the concurrency permit pool, the rate bucket and the
 * OAuth 2 token cache, so every request of the connection shares the same politeness limits.
 */
export class HttpClient {
  readonly counters: RequestCounters = emptyCounters();
  private readonly transport: Transport;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly semaphore: Semaphore;
  private readonly bucket: TokenBucket | undefined;
  private readonly tokens: OAuth2TokenProvider | undefined;
  private readonly userAgent: string;

  constructor(
    readonly config: ConnectionConfig,
    deps: HttpClientDeps = {},
  ) {
    this.transport = deps.transport ?? createUndiciTransport({ connections: config.maxConcurrency, connectTimeoutMs: config.timeouts.connectMs });
    this.clock = deps.clock ?? systemClock;
    this.random = deps.random ?? Math.random;
    this.userAgent = deps.userAgent ?? 'rostersync/0.1 (OneRoster 1.1 client)';
    this.semaphore = new Semaphore(config.maxConcurrency);
    this.bucket = config.requestsPerSecond !== undefined ? new TokenBucket(config.requestsPerSecond, this.clock) : undefined;
    if (config.auth.kind === 'oauth2') {
      const auth = config.auth;
      this.tokens = new OAuth2TokenProvider(
        auth,
        async (req) => {
          const label = new URL(auth.tokenUrl).pathname;
          const { res } = await this.exchange({ method: 'POST', url: req.url, label, headers: req.headers, body: req.body, api: false });
          return res;
        },
        () => this.clock.now(),
      );
    }
  }

  /** Requests currently holding a concurrency permit (for tests and diagnostics). */
  get inFlight(): number {
    return this.semaphore.inUse;
  }

  /** Token requests sent so far (OAuth 2 only). */
  get tokenRequests(): number {
    return this.tokens?.requests ?? 0;
  }

  /** Fetches a fresh OAuth 2 token ("test connection"). Throws `invalid_config` for other auth kinds. */
  async fetchToken(): Promise<TokenInfo> {
    if (this.tokens === undefined) {
      throw new SourceError('invalid_config', `This connection uses ${this.config.auth.kind === 'oauth1' ? 'OAuth 1.0a signing' : 'no authentication'}; there is no token to fetch.`);
    }
    return this.tokens.fetchToken();
  }

  /**
   * GET `{baseUrl}{pathAndQuery}` and parse the JSON body, turning failures into SourceErrors.
   * `pathAndQuery` must already be encoded (see `buildQuery`): it is sent and signed byte for byte.
   */
  async getJson(pathAndQuery: string, opts: GetJsonOptions & { notFound: 'undefined' }): Promise<JsonResponse | undefined>;
  async getJson(pathAndQuery: string, opts?: GetJsonOptions): Promise<JsonResponse>;
  async getJson(pathAndQuery: string, opts: GetJsonOptions = {}): Promise<JsonResponse | undefined> {
    const label = labelOf(pathAndQuery);
    const ex: Exchange = { method: 'GET', url: this.config.baseUrl + pathAndQuery, label, api: true };
    if (opts.signal !== undefined) ex.signal = opts.signal;
    if (opts.counters !== undefined) ex.counters = opts.counters;
    const { res, requests } = await this.exchange(ex);
    const status = res.status;
    if (status >= 200 && status < 300) {
      if (opts.peek?.(res.body) === true) {
        return { status, headers: res.headers, body: {}, bytes: res.body.length, requests, warnings: [], raw: res.body };
      }
      return { ...parseEnvelope(res.body, { status, headers: res.headers, label }, opts), requests };
    }
    if (status === 404 && opts.notFound === 'undefined') return undefined;
    throw this.statusError(res, label);
  }

  /**
   * GET without interpreting the status (for provider checks that look at error bodies and headers).
   * Still authorised, rate-limited and retried on 429/502–504 and resets.
   */
  async getRaw(pathAndQuery: string, opts: { signal?: AbortSignal; counters?: RequestCounters } = {}): Promise<RawResponse> {
    const ex: Exchange = { method: 'GET', url: this.config.baseUrl + pathAndQuery, label: labelOf(pathAndQuery), api: true };
    if (opts.signal !== undefined) ex.signal = opts.signal;
    if (opts.counters !== undefined) ex.counters = opts.counters;
    const { res, requests } = await this.exchange(ex);
    return { status: res.status, headers: res.headers, json: parseJsonBody(res.body), bytes: res.body.length, requests };
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  /** Maps a final non-2xx response to the SourceError an admin can act on. */
  private statusError(res: TransportResponse, label: string): SourceError {
    const status = res.status;
    const imsx = parseImsxStatus(parseJsonBody(res.body));
    const said = describeImsx(imsx);
    const d = { status, path: label, ...(imsx !== undefined ? { imsx } : {}) };
    const auth = this.config.auth;
    if (status === 401) {
      const msg = auth.kind === 'oauth2'
        ? `The provider rejected the access token for ${label} (HTTP 401) even after fetching a new one${said}. Check that the token URL belongs to this provider and that the client is allowed to use the API.`
        : auth.kind === 'oauth1'
          ? `The provider rejected the OAuth 1.0a signature for ${label} (HTTP 401)${said}. Check the client key and secret, the signature method (${auth.signatureMethod}) and this machine's clock.`
          : `The provider requires authentication for ${label} (HTTP 401)${said}. Configure OAuth 2 or OAuth 1.0a in the connection settings.`;
      return new SourceError('auth_failed', msg, d);
    }
    if (status === 403) {
      const scopeHint = auth.kind === 'oauth2'
        ? ` Check that the client is granted the needed scope${auth.scope !== undefined ? ` (requested: ${auth.scope})` : ' (no scope is requested; try e.g. https://purl.imsglobal.org/spec/or/v1p1/scope/roster-core.readonly)'}; demographics need the roster-demographics scope.`
        : ' Check the permissions granted to this client in the SIS (some SIS gate each endpoint separately).';
      return new SourceError('forbidden', `The provider refused access to ${label} (HTTP 403)${said}.${scopeHint}`, d);
    }
    if (status === 404) {
      return new SourceError('endpoint_missing', `The provider does not serve ${label} (HTTP 404)${said}. If this data is optional, turn it off for this connection; otherwise check the base URL.`, d);
    }
    if (status >= 400 && status < 500) {
      return new SourceError('bad_request', `The provider rejected the request for ${label} (HTTP ${status})${said}. The filter or paging parameters may not be supported by this provider.`, d);
    }
    if (status >= 500) {
      return new SourceError('server_error', `The provider failed on ${label} (HTTP ${status})${said}. This is an error inside the SIS; try again later or contact the SIS vendor.`, d);
    }
    const location = res.headers['location'];
    const where = location !== undefined ? ` to ${safeLocation(location)}` : '';
    return new SourceError('unexpected_status', `The provider answered ${label} with HTTP ${status}${where}. Redirects are not followed with credentials attached; put the final API address in the base URL.`, d);
  }

  /** One logical request: attempts, auth, politeness, retries. Returns the final response (any status). */
  private async exchange(ex: Exchange): Promise<{ res: TransportResponse; requests: number }> {
    const budget = new RetryBudget(this.config.retry, this.clock, this.random);
    const counters = [this.counters, ...(ex.counters !== undefined ? [ex.counters] : [])];
    const count = (f: (c: RequestCounters) => void): void => counters.forEach(f);
    let refreshed = false;
    let lastCause = '';
    let lastStatus: number | undefined;
    let lastImsx: ImsxStatus | undefined;
    for (;;) {
      if (ex.signal?.aborted) throw abortedError(ex.signal);
      budget.begin();
      let res: TransportResponse;
      let bearer: string | undefined;
      try {
        const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.userAgent, ...ex.headers };
        if (ex.api && this.tokens !== undefined) {
          bearer = await this.tokens.getToken();
          headers['authorization'] = `Bearer ${bearer}`;
        }
        const release = ex.api ? await this.semaphore.acquire(ex.signal) : undefined;
        try {
          if (ex.api && this.bucket !== undefined) await this.bucket.take(ex.signal);
          if (ex.api && this.config.auth.kind === 'oauth1') {
            // Signed at the last moment, inside the permit: a fresh nonce and timestamp for every attempt.
            const a = this.config.auth;
            headers['authorization'] = signRequest({ method: ex.method, url: ex.url, consumerKey: a.clientId, consumerSecret: a.clientSecret, signatureMethod: a.signatureMethod });
          }
          count((c) => c.requests++);
          const req = { method: ex.method, url: ex.url, headers, timeoutMs: this.config.timeouts.requestMs, ...(ex.body !== undefined ? { body: ex.body } : {}), ...(ex.signal !== undefined ? { signal: ex.signal } : {}) };
          res = await this.transport.send(req);
        } finally {
          release?.();
        }
      } catch (err) {
        if (err instanceof SourceError) throw err;
        if (ex.signal?.aborted) throw abortedError(ex.signal);
        const net = classifyNetworkError(err);
        if (!net.retry) {
          throw new SourceError('network', `Could not reach the provider for ${ex.label} (${net.cause}). Check the base URL, DNS and firewall.`, { path: ex.label, cause: err, attempts: budget.attempts });
        }
        lastCause = net.timeout ? 'timeout' : net.cause;
        lastStatus = undefined;
        lastImsx = undefined;
        await this.backoff(ex, budget, lastCause, undefined, count, () => this.gaveUp(ex, budget, lastCause, lastStatus, lastImsx, err));
        continue;
      }
      count((c) => (c.bytes += res.body.length));

      if (res.status === 401 && ex.api && this.tokens !== undefined && !refreshed) {
        // The token may have been revoked or expired early: drop it (only if still the cached one) and retry once.
        refreshed = true;
        this.tokens.invalidate(bearer);
        count((c) => (c.retries['401-refresh'] = (c.retries['401-refresh'] ?? 0) + 1));
        continue;
      }
      if (isRetryableStatus(res.status)) {
        lastCause = String(res.status);
        lastStatus = res.status;
        lastImsx = parseImsxStatus(parseJsonBody(res.body));
        const retryAfter = parseRetryAfter(res.headers['retry-after'], this.clock.now());
        await this.backoff(ex, budget, lastCause, retryAfter, count, () => this.gaveUp(ex, budget, lastCause, lastStatus, lastImsx, undefined));
        continue;
      }
      return { res, requests: budget.attempts };
    }
  }

  private async backoff(
    ex: Exchange,
    budget: RetryBudget,
    cause: string,
    retryAfterMs: number | undefined,
    count: (f: (c: RequestCounters) => void) => void,
    gaveUp: () => SourceError,
  ): Promise<void> {
    const decision = budget.next(retryAfterMs);
    if (!decision.retry) throw gaveUp();
    count((c) => (c.retries[cause] = (c.retries[cause] ?? 0) + 1));
    await this.clock.sleep(decision.delayMs, ex.signal);
  }

  private gaveUp(ex: Exchange, budget: RetryBudget, cause: string, status: number | undefined, imsx: ImsxStatus | undefined, err: unknown): SourceError {
    const secs = Math.round(budget.elapsed() / 1000);
    const last = status !== undefined ? `HTTP ${status}${describeImsx(imsx)}` : cause === 'timeout' ? `a timeout after ${this.config.timeouts.requestMs} ms` : `connection error ${cause}`;
    const hint = status === 429
      ? 'The provider is rate-limiting us: lower maxConcurrency or requestsPerSecond, or sync off-peak.'
      : 'The provider seems overloaded or unreachable; try again later.';
    const d: SourceErrorDetails = { path: ex.label, attempts: budget.attempts, retryable: true };
    if (status !== undefined) d.status = status;
    if (imsx !== undefined) d.imsx = imsx;
    if (err !== undefined) {
      // Keep the last transport failure as a typed cause: `timeout` or `network`.
      const code = cause === 'timeout' ? 'timeout' : 'network';
      d.cause = new SourceError(code, `${cause} on ${ex.label}`, { path: ex.label, retryable: true, cause: err });
    }
    return new SourceError('too_many_retries', `Gave up on ${ex.label} after ${budget.attempts} attempt${budget.attempts === 1 ? '' : 's'} over ${secs} s; last: ${last}. ${hint}`, d);
  }
}

/** A redirect target without its query (for messages). */
function safeLocation(location: string): string {
  try {
    const u = new URL(location);
    return `${u.origin}${u.pathname}`;
  } catch {
    return labelOf(location).slice(0, 200);
  }
}
