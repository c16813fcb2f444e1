import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { EventsAuthFailure, EventsPrincipal } from '../http/events-api.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import type { ApiClient, ApiClientRepository, ApiScope } from '../store/api-client-repository.ts';
import { insufficientScope, registerTokenEndpoint, type AuthFailure, type RequestAuth } from './auth.ts';
import { OAuth1Verifier, parseFormEncoded, parseOAuthHeader } from './oauth1-verifier.ts';
import { ONEROSTER_SCOPES, TokenIssuer } from './oauth2-server.ts';
import type { Access } from './routes.ts';

/**
 * Authentication of downstream API clients stored in the store (`rostersync api-client add`), for
 * the re-served OneRoster API: OAuth 2 client credentials (secrets checked against their scrypt
 * hash; bearer tokens signed with a key derived from the store's secret key, so every API node
 * with that key accepts them, or kept in this process when the store has no key) and, for clients created with
 * `--oauth1`, OAuth 1.0a signatures (the one `OAuth1Verifier`, fed the unsealed secret of the
 * consumer key the request names).
 *
 * On every API request the client is looked up again, so a revoked client is refused at once, even
 * with a token issued before the revocation. Scopes are enforced as for the simulator
 * (`insufficientScope`): demographics only with the demographics scope, nested reads only with
 * `roster`; an OAuth 1.0a request carries no scope, so the client's stored scopes apply.
 * The authenticated client is attached to the request (`apiClientOf`): the server serves the data
 * of that client's connection and nothing else.
 *
 * Logs and errors name client ids at most, never secrets.
 */

/** OneRoster scope URI of each stored short scope name. */
export const SCOPE_URIS: Readonly<Record<ApiScope, string>> = {
  'roster-core': ONEROSTER_SCOPES.core,
  roster: ONEROSTER_SCOPES.roster,
  demographics: ONEROSTER_SCOPES.demographics,
};

/** Who a request was authenticated as. */
export interface ApiPrincipal {
  client: ApiClient;
  /** Granted OneRoster scope URIs (the token's, or the client's for OAuth 1.0a). */
  scopes: readonly string[];
  method: 'oauth2' | 'oauth1';
}

const principals = new WeakMap<FastifyRequest, ApiPrincipal>();

/** The client a request was authenticated as (set by `StoreClientAuth.check`), or undefined. */
export function apiClientOf(request: FastifyRequest): ApiPrincipal | undefined {
  return principals.get(request);
}

export interface StoreClientAuthOptions {
  clients: ApiClientRepository;
  /** Bearer token lifetime. Default 3600 s. */
  tokenTtlSeconds?: number;
  /** OAuth 1.0a timestamp tolerance, both directions. Default 600 s. */
  timestampWindowSeconds?: number;
  /** Least time between two `last_used_at` writes of one client. Default 60 s. */
  touchIntervalMs?: number;
  now?: () => number;
}

function unauthorised(description: string, challenge: string): AuthFailure {
  return { status: 401, codeMinor: 'unauthorisedrequest', description, wwwAuthenticate: challenge };
}

const BEARER = 'Bearer realm="oneroster"';
const BEARER_INVALID = 'Bearer realm="oneroster", error="invalid_token"';
const OAUTH1 = 'OAuth realm="oneroster"';

/** The consumer key an OAuth 1.0a request names (header first, then query), or undefined. */
function consumerKeyOf(authorization: string | undefined, url: string): string | undefined {
  if (authorization !== undefined && /^\s*OAuth\b/i.test(authorization)) {
    return parseOAuthHeader(authorization)?.find(([n]) => n === 'oauth_consumer_key')?.[1];
  }
  const q = url.indexOf('?');
  if (q === -1) return undefined;
  return parseFormEncoded(url.slice(q + 1)).find(([n]) => n === 'oauth_consumer_key')?.[1];
}

/** See module comment. */
export class StoreClientAuth implements RequestAuth {
  readonly mode = 'store';
  readonly issuer: TokenIssuer;
  readonly #clients: ApiClientRepository;
  readonly #verifier: OAuth1Verifier;
  readonly #now: () => number;
  readonly #touchIntervalMs: number;
  readonly #touched = new Map<string, number>();
  /** The consumer key and secret of the request being verified (verify is synchronous). */
  #pending: { key: string; secret: string } | undefined;

  constructor(options: StoreClientAuthOptions) {
    this.#clients = options.clients;
    this.#now = options.now ?? Date.now;
    this.#touchIntervalMs = options.touchIntervalMs ?? 60_000;
    const signingKey = this.#clients.tokenSigningKey();
    this.issuer = new TokenIssuer({
      clients: [],
      // Signed tokens: any API node with the store's key accepts them (in this process's memory otherwise).
      ...(signingKey !== undefined ? { signingKey } : {}),
      ...(options.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
      now: this.#now,
    });
    this.#verifier = new OAuth1Verifier({
      lookupSecret: (key) => (this.#pending !== undefined && this.#pending.key === key ? this.#pending.secret : undefined),
      ...(options.timestampWindowSeconds !== undefined ? { timestampWindowSeconds: options.timestampWindowSeconds } : {}),
      now: this.#now,
    });
  }

  /** Registers the OAuth 2 token endpoint for stored clients at `path` (e.g. `/oauth/token`). */
  registerTokenRoute(app: FastifyInstance, path: string): void {
    registerTokenEndpoint(app, path, (input) =>
      this.issuer.handleTokenRequestAsync(input, async (clientId, secret) => {
        const client = await this.#clients.authenticate(clientId, secret);
        if (client === undefined) return undefined;
        this.#touch(client);
        return { clientId: client.clientId, scopes: client.scopes.map((s) => SCOPE_URIS[s]) };
      }),
    );
  }

  /**
   * The events API (`/api/v1/events`) for an API client's bearer token: the change history of the
   * client's own connection, without demographics unless the token grants that scope. Undefined when
   * the request carries no bearer token (the caller answers 401).
   */
  async eventsPrincipal(request: FastifyRequest): Promise<EventsPrincipal | EventsAuthFailure | undefined> {
    const authorization = request.headers.authorization;
    const m = authorization === undefined ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return undefined;
    const refuse = (message: string): EventsAuthFailure => ({ status: 401, error: 'unauthorized', message, headers: { 'www-authenticate': BEARER_INVALID } });
    const grant = this.issuer.check(m[1] as string);
    if (grant === undefined) return refuse('The access token is not valid');
    if (grant === 'expired') return refuse('The access token has expired');
    const client = await this.#clients.get(grant.clientId);
    if (client === undefined || client.revokedAt !== undefined) return refuse('The API client of this token has been revoked');
    this.#touch(client);
    const demographics = grant.scopes.includes(SCOPE_URIS.demographics);
    return {
      tenantId: client.tenantId,
      connectionIds: [client.connectionId],
      ...(demographics ? {} : { entities: COLLECTIONS.filter((c) => c !== 'demographics') }),
    };
  }

  /** Checks one OneRoster request; on success the client is attached to it (`apiClientOf`). */
  async check(request: FastifyRequest, access: Access | undefined): Promise<AuthFailure | undefined> {
    const authorization = request.headers.authorization;
    const url = request.raw.url ?? request.url;
    const consumerKey = consumerKeyOf(authorization, url);
    if (consumerKey !== undefined || (authorization !== undefined && /^\s*OAuth\b/i.test(authorization))) {
      return this.#checkOAuth1(request, access, consumerKey, authorization, url);
    }
    const m = authorization === undefined ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) return unauthorised('A bearer access token (or an OAuth 1.0a signature) is required', BEARER);
    const grant = this.issuer.check(m[1] as string);
    if (grant === undefined) return unauthorised('The access token is not valid', BEARER_INVALID);
    if (grant === 'expired') return unauthorised('The access token has expired', `${BEARER_INVALID}, error_description="expired"`);
    const client = await this.#clients.get(grant.clientId);
    if (client === undefined || client.revokedAt !== undefined) return unauthorised('The API client of this token has been revoked', BEARER_INVALID);
    principals.set(request, { client, scopes: grant.scopes, method: 'oauth2' });
    this.#touch(client);
    return insufficientScope(access, grant.scopes);
  }

  async #checkOAuth1(
    request: FastifyRequest,
    access: Access | undefined,
    consumerKey: string | undefined,
    authorization: string | undefined,
    url: string,
  ): Promise<AuthFailure | undefined> {
    const found = consumerKey === undefined ? undefined : await this.#clients.oauth1Secret(consumerKey);
    this.#pending = found === undefined || consumerKey === undefined ? undefined : { key: consumerKey, secret: found.secret };
    let result;
    try {
      result = this.#verifier.verify({ method: request.method, scheme: request.protocol, host: request.headers.host ?? '', url, authorization });
    } finally {
      this.#pending = undefined;
    }
    if (!result.ok || found === undefined) {
      const reason = result.ok ? 'unknown consumer key' : result.reason;
      return unauthorised(`OAuth 1.0a: ${reason}`, OAUTH1);
    }
    const scopes = found.client.scopes.map((s) => SCOPE_URIS[s]);
    principals.set(request, { client: found.client, scopes, method: 'oauth1' });
    this.#touch(found.client);
    return insufficientScope(access, scopes, false);
  }

  /** Records use of the API at most once per interval per client (a write; never awaited by requests). */
  #touch(client: ApiClient): void {
    const now = this.#now();
    const last = this.#touched.get(client.id);
    if (last !== undefined && now - last < this.#touchIntervalMs) return;
    this.#touched.set(client.id, now);
    this.#clients.touch(client.id, new Date(now)).catch(() => {
      // Bookkeeping only: a failed write (store closing) must not fail the request.
    });
  }
}
