/**
 * OAuth 2.0 client-credentials tokens (RFC 6749 §4.4) for OneRoster providers (spec-notes §4.2).
 *
 * - Client authentication: HTTP Basic with form-urlencoded id and secret (RFC 6749 §2.3.1), or the
 *   credentials in the form body; `auto` tries Basic and falls back to the body once on 400/401 (servers
 *   differ: 1EdTech's bootcamp wants Basic, Aeries and Infinite Campus also take the body), then sticks
 *   with whichever worked.
 * - Cache until `expires_in` minus 60 s (or minus 10 % for short lifetimes), one in-flight request shared
 *   by concurrent callers, and `invalidate(token)` for the "401 → refresh once" rule. Invalidating an older
 *   token than the current one is a no-op, so a burst of 401s on an old token costs one refresh, not many.
 * - Failures are `auth_failed` with the endpoint's `error` / `error_description`, never the secret.
 */
import type { OAuth2Auth } from './connection.ts';
import { SourceError, sanitizeProviderText } from './errors.ts';

/** The token endpoint's raw answer. Transient failures (429, 502–504, resets) are retried by whoever sends. */
export interface TokenHttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** Sends the token POST (form body) and returns any status; throws only for transport failures. */
export type TokenPost = (req: { url: string; headers: Record<string, string>; body: string }) => Promise<TokenHttpResponse>;

/** What a token request yielded. The access token itself is never logged or shown. */
export interface TokenInfo {
  accessToken: string;
  tokenType: string;
  /** Lifetime the server granted, in seconds, when it said. */
  expiresInS?: number;
  /** Scopes granted, when the server said (RFC 6749 §5.1 makes it optional). */
  scope?: string;
  /** Epoch ms after which we fetch a new one. */
  refreshAt: number;
  /** Which client authentication worked. */
  clientAuth: 'basic' | 'body';
}

/** Assumed lifetime when the server omits `expires_in` (a 401 still triggers a refresh sooner). */
const DEFAULT_TTL_S = 3600;

/** RFC 6749 Appendix B: application/x-www-form-urlencoded, as required inside the Basic credentials. */
function formEncode(s: string): string {
  return new URLSearchParams([['x', s]]).toString().slice(2);
}

/** Seconds to refresh early: 60 s, or 10 % of the lifetime when that is shorter (short-lived tokens). */
export function refreshSkewSeconds(expiresInS: number): number {
  return Math.min(60, expiresInS * 0.1);
}

function tokenPath(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url;
  }
}

function parseJson(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString('utf8'));
  } catch {
    return undefined;
  }
}

/** Hints for the RFC 6749 §5.2 error codes an admin can act on. */
const HINTS: Record<string, string> = {
  invalid_client: 'Check the client id and client secret in the connection settings.',
  unauthorized_client: 'The SIS has not enabled the client-credentials grant for this client; ask the SIS administrator.',
  invalid_scope: 'Check the scope setting: the SIS does not grant the requested scope to this client.',
  unsupported_grant_type: 'The token endpoint does not support client credentials; check the token URL.',
  invalid_grant: 'Check the client credentials and the token URL.',
  invalid_request: 'Check the token URL and the client authentication method (basic/body).',
};

export class OAuth2TokenProvider {
  private current: TokenInfo | undefined;
  private inflight: Promise<TokenInfo> | undefined;
  /** Client authentication method that last worked (`auto` settles on one). */
  private method: 'basic' | 'body' | 'auto';
  /** Token requests sent (for stats). */
  requests = 0;

  constructor(
    private readonly auth: OAuth2Auth,
    private readonly post: TokenPost,
    private readonly now: () => number = Date.now,
  ) {
    this.method = auth.clientAuth;
  }

  /** A valid access token: cached, shared in-flight, or freshly fetched. */
  async getToken(): Promise<string> {
    const c = this.current;
    if (c !== undefined && this.now() < c.refreshAt) return c.accessToken;
    return (await this.refresh()).accessToken;
  }

  /**
   * Drops the cached token after the API rejected it with 401. Pass the token that was rejected: if a newer
   * one is already cached (another request refreshed first), nothing happens.
   */
  invalidate(token?: string): void {
    if (this.current !== undefined && (token === undefined || token === this.current.accessToken)) {
      this.current = undefined;
    }
  }

  /** Fetches a new token now, bypassing the cache ("test connection"); caches it for later calls. */
  async fetchToken(): Promise<TokenInfo> {
    this.current = undefined;
    return this.refresh();
  }

  private refresh(): Promise<TokenInfo> {
    if (this.inflight === undefined) {
      this.inflight = this.request().then(
        (info) => {
          this.current = info;
          this.inflight = undefined;
          return info;
        },
        (err: unknown) => {
          this.inflight = undefined;
          throw err;
        },
      );
    }
    return this.inflight;
  }

  private async request(): Promise<TokenInfo> {
    const first: 'basic' | 'body' = this.method === 'body' ? 'body' : 'basic';
    const res = await this.send(first);
    if (res.status >= 200 && res.status < 300) return this.accept(res, first);
    if (this.method === 'auto' && first === 'basic' && (res.status === 400 || res.status === 401)) {
      // Some servers only read credentials from the body (and answer Basic with 400/401): try once.
      const res2 = await this.send('body');
      if (res2.status >= 200 && res2.status < 300) return this.accept(res2, 'body');
      throw this.failure(res2, ' (tried HTTP Basic and form-body client authentication)');
    }
    throw this.failure(res, '');
  }

  private async send(how: 'basic' | 'body'): Promise<TokenHttpResponse> {
    const form: Array<[string, string]> = [['grant_type', 'client_credentials']];
    if (this.auth.scope !== undefined && this.auth.scope !== '') form.push(['scope', this.auth.scope]);
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    };
    if (how === 'basic') {
      const creds = `${formEncode(this.auth.clientId)}:${formEncode(this.auth.clientSecret)}`;
      headers['authorization'] = `Basic ${Buffer.from(creds, 'utf8').toString('base64')}`;
    } else {
      form.push(['client_id', this.auth.clientId], ['client_secret', this.auth.clientSecret]);
    }
    this.requests++;
    return this.post({ url: this.auth.tokenUrl, headers, body: new URLSearchParams(form).toString() });
  }

  private accept(res: TokenHttpResponse, how: 'basic' | 'body'): TokenInfo {
    const path = tokenPath(this.auth.tokenUrl);
    const json = parseJson(res.body);
    if (json === null || typeof json !== 'object' || Array.isArray(json)) {
      throw new SourceError('auth_failed', `The token endpoint ${path} answered ${res.status} but not with a JSON object. Check the token URL.`, { status: res.status, path });
    }
    const o = json as Record<string, unknown>;
    const accessToken = o['access_token'];
    if (typeof accessToken !== 'string' || accessToken === '') {
      throw new SourceError('auth_failed', `The token endpoint ${path} answered ${res.status} without an access_token. Check the token URL.`, { status: res.status, path });
    }
    // Accept "bearer" in any case (some servers send "Bearer", some "bearer", some nothing).
    const tokenType = typeof o['token_type'] === 'string' ? (o['token_type'] as string) : 'bearer';
    if (tokenType.toLowerCase() !== 'bearer') {
      throw new SourceError('auth_failed', `The token endpoint issued a "${sanitizeProviderText(tokenType, [], 40)}" token; only bearer tokens are supported.`, { status: res.status, path });
    }
    const rawTtl = o['expires_in'];
    const ttl = typeof rawTtl === 'number' ? rawTtl : typeof rawTtl === 'string' && /^\d+$/.test(rawTtl) ? Number(rawTtl) : undefined;
    const lifetime = ttl !== undefined && ttl > 0 ? ttl : DEFAULT_TTL_S;
    const info: TokenInfo = {
      accessToken,
      tokenType,
      refreshAt: this.now() + (lifetime - refreshSkewSeconds(lifetime)) * 1000,
      clientAuth: how,
    };
    if (ttl !== undefined) info.expiresInS = ttl;
    if (typeof o['scope'] === 'string') info.scope = o['scope'];
    if (this.method === 'auto') this.method = how;
    return info;
  }

  private failure(res: TokenHttpResponse, tried: string): SourceError {
    const path = tokenPath(this.auth.tokenUrl);
    const json = parseJson(res.body);
    const o = json !== null && typeof json === 'object' ? (json as Record<string, unknown>) : {};
    const secrets = [this.auth.clientSecret];
    const error = typeof o['error'] === 'string' ? sanitizeProviderText(o['error'], secrets, 80) : undefined;
    const desc = typeof o['error_description'] === 'string' ? sanitizeProviderText(o['error_description'], secrets) : undefined;
    const said = [error, desc].filter((s): s is string => s !== undefined).join(': ');
    const saidText = said !== '' ? ` (${said})` : '';
    if (res.status >= 500) {
      return new SourceError('server_error', `The token endpoint ${path} failed with HTTP ${res.status}${saidText}. The SIS may be down; try again later.`, { status: res.status, path });
    }
    let lead: string;
    if (error === 'invalid_client' || res.status === 401) lead = 'The token endpoint rejected the client id/secret';
    else if (error === 'invalid_scope') lead = 'The token endpoint refused the requested scope';
    else lead = `The token endpoint ${path} refused the token request with HTTP ${res.status}`;
    const hint = (error !== undefined ? HINTS[error] : undefined) ??
      (res.status === 404 ? 'Check the token URL.' : 'Check the client id, client secret, scope and token URL in the connection settings.');
    return new SourceError('auth_failed', `${lead}${saidText}${tried}. ${hint}`, { status: res.status, path });
  }
}
