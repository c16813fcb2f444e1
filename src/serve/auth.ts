import type { FastifyInstance, FastifyRequest } from 'fastify';
import { OAuth1Verifier, parseFormEncoded } from './oauth1-verifier.ts';
import { ONEROSTER_SCOPES, TokenIssuer } from './oauth2-server.ts';
import type { ClientCredential, TokenRequestInput, TokenResponse } from './oauth2-server.ts';
import type { Access } from './routes.ts';

/**
 * Provider-side authentication for the OneRoster routes: none, OAuth 2 client-credentials bearer
 * tokens with scope enforcement, or OAuth 1.0a two-legged signatures (spec notes §4).
 */

export type AuthMode = 'none' | 'oauth1' | 'oauth2';

export interface AuthOptions {
  mode: AuthMode;
  /** OAuth 2 clients, or OAuth 1 consumers (clientId = consumer key). */
  credentials?: readonly ClientCredential[];
  /** Token endpoint path at the server root. Default `/oauth/token`. */
  tokenPath?: string;
  /** Default 3600. */
  tokenTtlSeconds?: number;
  /** OAuth 1 timestamp tolerance, both directions. Default 600. */
  timestampWindowSeconds?: number;
  /** Clock for token expiry and OAuth 1 timestamps (tests). */
  now?: () => number;
}

/** Why a request was refused, ready for an imsx failure body. */
export interface AuthFailure {
  status: 401 | 403;
  codeMinor: 'unauthorisedrequest' | 'forbidden';
  description: string;
  wwwAuthenticate?: string;
}

/** Scopes that satisfy each access class (spec notes §1.2, Ed-Fi §4.3.3 note on demographics). */
const ACCEPTED_SCOPES: Record<Access, readonly string[]> = {
  core: [ONEROSTER_SCOPES.core, ONEROSTER_SCOPES.roster],
  roster: [ONEROSTER_SCOPES.roster],
  demographics: [ONEROSTER_SCOPES.demographics],
};

/**
 * The 403 for a request whose granted `scopes` do not cover the route's access class, or undefined
 * when they do (or the path matched no route). `bearer` adds the RFC 6750 challenge header.
 */
export function insufficientScope(access: Access | undefined, scopes: readonly string[], bearer = true): AuthFailure | undefined {
  if (access === undefined || ACCEPTED_SCOPES[access].some((s) => scopes.includes(s))) return undefined;
  const need = ACCEPTED_SCOPES[access];
  const failure: AuthFailure = {
    status: 403,
    codeMinor: 'forbidden',
    description: `The ${bearer ? 'access token' : 'client'} lacks the scope this endpoint needs (${need.join(' or ')})`,
  };
  if (bearer) failure.wwwAuthenticate = `Bearer realm="oneroster", error="insufficient_scope", scope="${need.join(' ')}"`;
  return failure;
}

/**
 * What the OneRoster plugin asks of an authenticator (`ProviderAuth` with static credentials, or the
 * store-backed one in store-auth.ts): a mode (`none` turns the check off) and a per-request check.
 */
export interface RequestAuth {
  readonly mode: string;
  check(request: FastifyRequest, access: Access | undefined): AuthFailure | undefined | Promise<AuthFailure | undefined>;
}

/**
 * Authentication state of one server: the token issuer (OAuth 2) or signature verifier (OAuth 1).
 */
export class ProviderAuth implements RequestAuth {
  readonly mode: AuthMode;
  readonly tokenPath: string;
  readonly issuer?: TokenIssuer;
  readonly verifier?: OAuth1Verifier;

  constructor(options: AuthOptions) {
    this.mode = options.mode;
    this.tokenPath = options.tokenPath ?? '/oauth/token';
    const credentials = options.credentials ?? [];
    if (options.mode !== 'none' && credentials.length === 0) {
      throw new Error(`auth mode ${options.mode} needs at least one credential`);
    }
    if (options.mode === 'oauth2') {
      this.issuer = new TokenIssuer({
        clients: credentials,
        ...(options.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
    } else if (options.mode === 'oauth1') {
      const secrets = new Map(credentials.map((c) => [c.clientId, c.clientSecret]));
      this.verifier = new OAuth1Verifier({
        lookupSecret: (k) => secrets.get(k),
        ...(options.timestampWindowSeconds !== undefined ? { timestampWindowSeconds: options.timestampWindowSeconds } : {}),
        ...(options.now ? { now: options.now } : {}),
      });
    }
  }

  /**
   * Checks one OneRoster request. `access` is the route's scope class, or undefined for paths
   * that match no route (they still need valid credentials, so 404s reveal nothing).
   * @returns undefined when the request may proceed.
   */
  check(request: FastifyRequest, access: Access | undefined): AuthFailure | undefined {
    if (this.mode === 'none') return undefined;
    const authorization = request.headers.authorization;
    if (this.verifier) {
      const result = this.verifier.verify({
        method: request.method,
        scheme: request.protocol,
        host: request.headers.host ?? '',
        url: request.raw.url ?? request.url,
        authorization,
      });
      if (result.ok) return undefined;
      return { status: 401, codeMinor: 'unauthorisedrequest', description: `OAuth 1.0a: ${result.reason}`, wwwAuthenticate: 'OAuth realm="oneroster"' };
    }
    const issuer = this.issuer as TokenIssuer;
    const m = authorization === undefined ? null : /^\s*Bearer\s+(\S+)\s*$/i.exec(authorization);
    if (!m) {
      return { status: 401, codeMinor: 'unauthorisedrequest', description: 'A bearer access token is required', wwwAuthenticate: 'Bearer realm="oneroster"' };
    }
    const grant = issuer.check(m[1] as string);
    if (grant === undefined) {
      return { status: 401, codeMinor: 'unauthorisedrequest', description: 'The access token is not valid', wwwAuthenticate: 'Bearer realm="oneroster", error="invalid_token"' };
    }
    if (grant === 'expired') {
      return { status: 401, codeMinor: 'unauthorisedrequest', description: 'The access token has expired', wwwAuthenticate: 'Bearer realm="oneroster", error="invalid_token", error_description="expired"' };
    }
    return insufficientScope(access, grant.scopes);
  }

  /**
   * Registers the OAuth 2 token endpoint (`POST {tokenPath}`) on `app` in its own scope, with a
   * form-body parser (fastify parses only JSON by default). JSON bodies are accepted too.
   * Does nothing unless the mode is oauth2.
   */
  registerTokenRoute(app: FastifyInstance): void {
    const issuer = this.issuer;
    if (!issuer) return;
    registerTokenEndpoint(app, this.tokenPath, (input) => issuer.handleTokenRequest(input));
  }
}

/**
 * Registers `POST {path}` answering OAuth 2 token requests with `handle`, in its own scope with a
 * form-body parser (fastify parses only JSON by default; JSON bodies are accepted too).
 */
export function registerTokenEndpoint(
  app: FastifyInstance,
  path: string,
  handle: (input: TokenRequestInput) => TokenResponse | Promise<TokenResponse>,
): void {
  void app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 64 * 1024 }, (_req, body, done) => {
      const out: Record<string, string> = {};
      for (const [k, v] of parseFormEncoded(body as string)) if (!(k in out)) out[k] = v;
      done(null, out);
    });
    scope.post(path, async (request, reply) => {
      const body = request.body !== null && typeof request.body === 'object' ? (request.body as Record<string, unknown>) : undefined;
      const r = await handle({ authorization: request.headers.authorization, body });
      return reply.code(r.status).headers(r.headers).type('application/json').send(r.body);
    });
  });
}
