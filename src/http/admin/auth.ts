/**
 * Authentication and authorisation of the admin API (issue 7).
 *
 * Who is asking:
 * - a browser session: the `rostersync_session` cookie (random 256-bit token; the store keeps its
 *   sha256), http-only, SameSite=Strict, Secure (see `cookieSecure`). A session ends at its absolute
 *   lifetime or after `idleTimeoutMs` without a request. Every state-changing request (not GET/HEAD/
 *   OPTIONS) made with the cookie must carry the session's CSRF token in `x-csrf-token`: SameSite
 *   alone leaves same-site subdomains and old browsers, the token closes that (OWASP's synchronizer
 *   token pattern).
 * - a script: `Authorization: Bearer rsa_…` (an API token, acting as its user). Exempt from CSRF: a
 *   cross-site page cannot set that header without a CORS preflight, which this server never allows.
 *
 * What they may do (`AccessGuard` helpers, called by every route):
 * - `installation_admin`: everything, every tenant;
 * - `tenant_admin`: everything inside their tenant, nothing outside it;
 * - `viewer`: reads only (one tenant, or every tenant when it has none); writes answer 403, except
 *   on their own account (password, own API tokens, logout).
 * Objects of a tenant the caller cannot see answer 404, exactly as absent ones, so ids do not leak
 * across tenants; lists never include them.
 */
import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AdminSession, AdminUser } from '../../store/admin-repository.ts';
import { API_TOKEN_PREFIX } from '../../store/admin-repository.ts';
import type { Connection } from '../../store/connection-repository.ts';
import type { Store } from '../../store/store.ts';
import { AdminError } from './admin-errors.ts';

export const SESSION_COOKIE = 'rostersync_session';
export const CSRF_HEADER = 'x-csrf-token';

export interface AuthSettings {
  /** Absolute session lifetime. Default 12 hours. */
  sessionTtlMs?: number;
  /** A session unused this long ends. Default 30 minutes. */
  idleTimeoutMs?: number;
  /**
   * The cookie's Secure attribute. `auto` (default): Secure unless the request reached us over
   * plain http on a loopback host (`http://127.0.0.1:8080` on the admin's own machine), so a
   * session cookie is never sent in clear over a network. `true` behind a TLS-terminating proxy.
   */
  cookieSecure?: boolean | 'auto';
  /** Sessions' last-seen time and tokens' last-used time are written at most this often. Default 60 s. */
  touchEveryMs?: number;
  now?: () => Date;
}

/** Who is asking, and how they proved it. */
export interface Principal {
  user: AdminUser;
  via: 'session' | 'token';
  /** The session (cookie logins). */
  session?: AdminSession;
  /** The API token id (bearer logins). */
  tokenId?: string;
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);
const LOOPBACK = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Resolves and checks sessions and API tokens against the store. */
export class AdminAuth {
  readonly sessionTtlMs: number;
  readonly idleTimeoutMs: number;
  readonly #store: Store;
  readonly #secure: boolean | 'auto';
  readonly #touchEveryMs: number;
  readonly #now: () => Date;
  readonly #principals = new WeakMap<FastifyRequest, Principal>();

  constructor(store: Store, settings: AuthSettings = {}) {
    this.#store = store;
    this.sessionTtlMs = settings.sessionTtlMs ?? 12 * 3_600_000;
    this.idleTimeoutMs = settings.idleTimeoutMs ?? 30 * 60_000;
    this.#secure = settings.cookieSecure ?? 'auto';
    this.#touchEveryMs = settings.touchEveryMs ?? 60_000;
    this.#now = settings.now ?? (() => new Date());
  }

  now(): Date {
    return this.#now();
  }

  /** Whether the session cookie set in answer to `request` carries Secure. */
  cookieSecure(request: FastifyRequest): boolean {
    if (this.#secure !== 'auto') return this.#secure;
    if (request.protocol === 'https') return true;
    return !LOOPBACK.has(request.hostname.toLowerCase());
  }

  /** Sets the session cookie (the browser keeps it for the session's absolute lifetime). */
  setSessionCookie(request: FastifyRequest, reply: FastifyReply, token: string): void {
    void reply.setCookie(SESSION_COOKIE, token, {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
      secure: this.cookieSecure(request),
      maxAge: Math.floor(this.sessionTtlMs / 1000),
    });
  }

  /** Tells the browser to drop the session cookie. */
  clearSessionCookie(request: FastifyRequest, reply: FastifyReply): void {
    void reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'strict', secure: this.cookieSecure(request) });
  }

  /**
   * Finds who is asking (bearer token first, then the session cookie), checks expiry, the account's
   * state and, for cookie sessions on state-changing methods, the CSRF token. Returns undefined when
   * the request carries no credentials at all.
   * @throws AdminError `unauthorized` | `session_expired` | `csrf_failed`.
   */
  async authenticate(request: FastifyRequest, reply: FastifyReply): Promise<Principal | undefined> {
    const now = this.#now();
    const header = request.headers.authorization;
    if (typeof header === 'string' && header !== '') {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
      if (!m || !m[1]!.startsWith(API_TOKEN_PREFIX)) throw new AdminError('unauthorized', 'the Authorization header must be "Bearer <API token>"', { 'www-authenticate': 'Bearer' });
      const found = await this.#store.admin.tokenByValue(m[1]!);
      const t = found?.apiToken;
      if (!found || !t || t.revokedAt !== undefined || (t.expiresAt !== undefined && t.expiresAt <= now.toISOString()) || found.user.disabledAt !== undefined) {
        throw new AdminError('unauthorized', 'the API token is unknown, revoked or expired', { 'www-authenticate': 'Bearer error="invalid_token"' });
      }
      if (t.lastUsedAt === undefined || Date.parse(t.lastUsedAt) <= now.getTime() - this.#touchEveryMs) await this.#store.admin.touchToken(t.id, now);
      const p: Principal = { user: found.user, via: 'token', tokenId: t.id };
      this.#principals.set(request, p);
      return p;
    }
    const cookie = request.cookies?.[SESSION_COOKIE];
    if (cookie === undefined || cookie === '') return undefined;
    const found = await this.#store.admin.sessionByToken(cookie);
    if (!found) {
      this.clearSessionCookie(request, reply);
      throw new AdminError('unauthorized', 'the session is unknown or has ended; log in again');
    }
    const { session, user } = found;
    const idleSince = now.getTime() - this.idleTimeoutMs;
    if (session.expiresAt <= now.toISOString() || Date.parse(session.lastSeenAt) < idleSince) {
      await this.#store.admin.deleteSession(session.id);
      this.clearSessionCookie(request, reply);
      throw new AdminError('session_expired', 'the session has expired; log in again');
    }
    if (user.disabledAt !== undefined) {
      await this.#store.admin.deleteSession(session.id);
      this.clearSessionCookie(request, reply);
      throw new AdminError('unauthorized', 'this account is disabled');
    }
    if (!SAFE_METHODS.has(request.method)) {
      const sent = request.headers[CSRF_HEADER];
      if (typeof sent !== 'string' || !sameSecret(sent, session.csrfToken)) {
        throw new AdminError('csrf_failed', `a state-changing request with a session cookie must send the session's CSRF token in ${CSRF_HEADER} (returned by POST /api/v1/login and GET /api/v1/me)`);
      }
    }
    if (Date.parse(session.lastSeenAt) <= now.getTime() - this.#touchEveryMs) await this.#store.admin.touchSession(session.id, now);
    const p: Principal = { user, via: 'session', session };
    this.#principals.set(request, p);
    return p;
  }

  /** The authenticated caller of a request. @throws AdminError `unauthorized`. */
  principal(request: FastifyRequest): Principal {
    const p = this.#principals.get(request);
    if (!p) throw new AdminError('unauthorized', 'log in (POST /api/v1/login) or send an API token (Authorization: Bearer …)', { 'www-authenticate': 'Bearer' });
    return p;
  }

  /** The caller, or undefined (public routes). */
  maybePrincipal(request: FastifyRequest): Principal | undefined {
    return this.#principals.get(request);
  }
}

// ---- the guard: every route states what it needs through these ----

/** The tenant a caller is confined to; undefined: every tenant (installation admins and viewers). */
export function tenantScope(p: Principal): string | undefined {
  return p.user.tenantId;
}

/** Whether an object of `tenantId` (undefined: installation-wide) is visible to the caller. */
export function canSee(p: Principal, tenantId: string | undefined): boolean {
  const scope = tenantScope(p);
  return scope === undefined || scope === tenantId;
}

/**
 * Returns the object when the caller may see it; otherwise (absent, or another tenant's) throws
 * the same 404, so an id of another tenant is indistinguishable from a wrong one.
 */
export function visible<T extends { tenantId?: string | undefined }>(p: Principal, obj: T | undefined, what: string): T {
  if (obj === undefined || !canSee(p, obj.tenantId)) throw new AdminError('not_found', `${what} does not exist`);
  return obj;
}

/** The connection `id` when the caller may see it; else the 404 of `visible` (a malformed id too). */
export async function visibleConnection(store: Store, p: Principal, id: string): Promise<Connection> {
  return visible(p, await store.connections.get(id).catch(() => undefined), `connection ${id}`);
}

/** Refuses read-only accounts. @throws AdminError `forbidden`. */
export function requireWrite(p: Principal): void {
  if (p.user.role === 'viewer') throw new AdminError('forbidden', 'this account is read-only (viewer)');
}

/** Refuses everyone but installation admins. @throws AdminError `forbidden`. */
export function requireInstallationAdmin(p: Principal): void {
  if (p.user.role !== 'installation_admin') throw new AdminError('forbidden', 'only an installation admin may do this');
}

/**
 * The tenant a list is filtered to: the caller's own when confined (asking for another is a 404,
 * as for any invisible object), else the one asked for (undefined: all).
 */
export function listTenant(p: Principal, asked: string | undefined): string | undefined {
  const scope = tenantScope(p);
  if (scope === undefined) return asked;
  if (asked !== undefined && asked !== scope) throw new AdminError('not_found', `tenant ${asked} does not exist`);
  return scope;
}

/** The tenant a new object goes into: the caller's own when confined, else the one asked for or `fallback`. */
export function targetTenant(p: Principal, asked: string | undefined, fallback: string): string {
  const scope = tenantScope(p);
  if (scope === undefined) return asked ?? fallback;
  if (asked !== undefined && asked !== scope) throw new AdminError('not_found', `tenant ${asked} does not exist`);
  return scope;
}

/** Who did it, for audit rows and hold decisions: the account's username. */
export function actorOf(p: Principal): string {
  return p.user.username;
}
