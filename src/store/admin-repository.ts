/**
 * Admin accounts, sessions and API tokens (issue 7, migration 0006): who may use the admin API,
 * with which role, in which tenant.
 *
 * - Passwords arrive here already hashed (`password-hash.ts`; the HTTP layer chooses the cost), so
 *   no plaintext password ever reaches the store.
 * - Session and API tokens are generated here and returned once; only their sha256 is stored, and
 *   lookups hash the presented token. A 256-bit random token needs no slow hash: sha256 of it cannot
 *   be brute-forced, and a lookup by hash is one indexed read per request.
 * - Role and tenant must agree: an installation admin has no tenant, a tenant admin has one, a
 *   viewer has one or none (none: read-only over every tenant).
 * Tables come from migration 0006; they are typed here with `withTables`, so `schema.ts` need not change.
 */
import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Selectable } from 'kysely';
import { StoreError, isUniqueViolation } from './errors.ts';
import type { Database } from './schema.ts';

export const ADMIN_ROLES = ['installation_admin', 'tenant_admin', 'viewer'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** Usernames: lower case, log-safe, at most 100 characters (an email address works). */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._@+-]{0,99}$/;

type AdminUserTable = {
  id: string;
  username: string;
  password_hash: string;
  role: string;
  tenant_id: string | null;
  created_at: string;
  password_changed_at: string;
  disabled_at: string | null;
};

type AdminSessionTable = {
  id: string;
  user_id: string;
  csrf_token: string;
  created_at: string;
  expires_at: string;
  last_seen_at: string;
};

type ApiTokenTable = {
  id: string;
  token_hash: string;
  user_id: string;
  name: string;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
  revoked_at: string | null;
};

/** The tables of migration 0006 (audit_log is typed by `audit-repository.ts`). */
// Type aliases, not interfaces: `withTables` needs an index-signature-compatible shape.
export type AdminTables = {
  admin_users: AdminUserTable;
  admin_sessions: AdminSessionTable;
  api_tokens: ApiTokenTable;
};

/** An account as returned to callers: never carries the password hash. */
export interface AdminUser {
  id: string;
  username: string;
  role: AdminRole;
  /** Absent: installation-wide (installation admins, installation viewers). */
  tenantId?: string;
  createdAt: string;
  passwordChangedAt: string;
  disabledAt?: string;
}

export interface AdminSession {
  /** sha256 (hex) of the session token: the token itself is never stored. */
  id: string;
  userId: string;
  csrfToken: string;
  createdAt: string;
  expiresAt: string;
  lastSeenAt: string;
}

/** An API token as returned to callers: never carries the token or its hash. */
export interface ApiToken {
  id: string;
  userId: string;
  name: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  revokedAt?: string;
}

function toUser(r: Selectable<AdminUserTable>): AdminUser {
  const u: AdminUser = { id: r.id, username: r.username, role: r.role as AdminRole, createdAt: r.created_at, passwordChangedAt: r.password_changed_at };
  if (r.tenant_id !== null) u.tenantId = r.tenant_id;
  if (r.disabled_at !== null) u.disabledAt = r.disabled_at;
  return u;
}

function toSession(r: Selectable<AdminSessionTable>): AdminSession {
  return { id: r.id, userId: r.user_id, csrfToken: r.csrf_token, createdAt: r.created_at, expiresAt: r.expires_at, lastSeenAt: r.last_seen_at };
}

function toToken(r: Pick<Selectable<ApiTokenTable>, 'id' | 'user_id' | 'name' | 'created_at' | 'expires_at' | 'last_used_at' | 'revoked_at'>): ApiToken {
  const t: ApiToken = { id: r.id, userId: r.user_id, name: r.name, createdAt: r.created_at };
  if (r.expires_at !== null) t.expiresAt = r.expires_at;
  if (r.last_used_at !== null) t.lastUsedAt = r.last_used_at;
  if (r.revoked_at !== null) t.revokedAt = r.revoked_at;
  return t;
}

/** sha256 hex of a token: what the store keeps and looks up. */
export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Prefix of API tokens, so secret scanners and people recognise one. */
export const API_TOKEN_PREFIX = 'rsa_';

/** Normalises a username (trimmed, lower case). @throws StoreError `invalid_input`. */
export function normalizeUsername(username: string): string {
  const u = username.trim().toLowerCase();
  if (!USERNAME_PATTERN.test(u)) throw new StoreError('invalid_input', `a username must match ${USERNAME_PATTERN.source} (letters, digits, . _ @ + -)`);
  return u;
}

/** @throws StoreError `invalid_input` when role and tenant disagree. */
function checkRoleTenant(role: string, tenantId: string | null): void {
  if (!(ADMIN_ROLES as readonly string[]).includes(role)) throw new StoreError('invalid_input', `role must be one of ${ADMIN_ROLES.join(', ')}`);
  if (role === 'installation_admin' && tenantId !== null) throw new StoreError('invalid_input', 'an installation admin belongs to no tenant (it sees every tenant)');
  if (role === 'tenant_admin' && tenantId === null) throw new StoreError('invalid_input', 'a tenant admin needs a tenant');
}

/** Creates, reads and changes admin accounts, sessions and API tokens. */
export class AdminRepository {
  readonly #db: Kysely<Database & AdminTables>;

  constructor(db: Kysely<Database>) {
    this.#db = db.withTables<AdminTables>();
  }

  async #requireTenant(tenantId: string | null): Promise<void> {
    if (tenantId === null) return;
    const t = await this.#db.selectFrom('tenants').select('id').where('id', '=', tenantId).executeTakeFirst();
    if (!t) throw new StoreError('not_found', `tenant ${tenantId} does not exist`);
  }

  // ---- users ----

  /** Number of accounts (disabled ones included): zero means the installation needs its first admin. */
  async countUsers(): Promise<number> {
    const r = await this.#db.selectFrom('admin_users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Enabled installation admins, optionally not counting one account. */
  async countActiveInstallationAdmins(exceptUserId?: string): Promise<number> {
    let q = this.#db.selectFrom('admin_users').select((eb) => eb.fn.countAll<number>().as('n')).where('role', '=', 'installation_admin').where('disabled_at', 'is', null);
    if (exceptUserId !== undefined) q = q.where('id', '!=', exceptUserId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  /**
   * Creates an account.
   * @throws StoreError `invalid_input` (username, role/tenant) | `not_found` (tenant) | `already_exists` (username).
   */
  async createUser(input: { username: string; passwordHash: string; role: AdminRole; tenantId?: string }, now: Date = new Date()): Promise<AdminUser> {
    const username = normalizeUsername(input.username);
    const tenantId = input.tenantId ?? null;
    checkRoleTenant(input.role, tenantId);
    await this.#requireTenant(tenantId);
    const at = now.toISOString();
    const row = {
      id: `u${randomBytes(5).toString('hex')}`,
      username,
      password_hash: input.passwordHash,
      role: input.role,
      tenant_id: tenantId,
      created_at: at,
      password_changed_at: at,
      disabled_at: null,
    };
    try {
      await this.#db.insertInto('admin_users').values(row).execute();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreError('already_exists', `username ${username} is taken`, { cause: err });
      throw err;
    }
    return toUser(row);
  }

  /** One account, or undefined. */
  async getUser(id: string): Promise<AdminUser | undefined> {
    const r = await this.#db.selectFrom('admin_users').selectAll().where('id', '=', id).executeTakeFirst();
    return r && toUser(r);
  }

  /** An account with its password hash, by username (for a login check), or undefined. */
  async credentials(username: string): Promise<{ user: AdminUser; passwordHash: string } | undefined> {
    const u = username.trim().toLowerCase();
    const r = await this.#db.selectFrom('admin_users').selectAll().where('username', '=', u).executeTakeFirst();
    return r && { user: toUser(r), passwordHash: r.password_hash };
  }

  /** The password hash of an account (for a password change that checks the current one). */
  async passwordHashOf(id: string): Promise<string | undefined> {
    const r = await this.#db.selectFrom('admin_users').select('password_hash').where('id', '=', id).executeTakeFirst();
    return r?.password_hash;
  }

  /** Accounts by username; `tenantId` keeps one tenant's. */
  async listUsers(filter: { tenantId?: string } = {}): Promise<AdminUser[]> {
    let q = this.#db.selectFrom('admin_users').selectAll();
    if (filter.tenantId !== undefined) q = q.where('tenant_id', '=', filter.tenantId);
    return (await q.orderBy('username').execute()).map(toUser);
  }

  /**
   * Changes role, tenant (`null`: none), password hash and/or the disabled state.
   * @throws StoreError `not_found` | `invalid_input` (role/tenant).
   */
  async updateUser(
    id: string,
    patch: { role?: AdminRole; tenantId?: string | null; passwordHash?: string; disabled?: boolean },
    now: Date = new Date(),
  ): Promise<AdminUser> {
    const current = await this.getUser(id);
    if (!current) throw new StoreError('not_found', `admin user ${id} does not exist`);
    const role = patch.role ?? current.role;
    const tenantId = patch.tenantId !== undefined ? patch.tenantId : (current.tenantId ?? null);
    checkRoleTenant(role, tenantId);
    if (patch.tenantId !== undefined) await this.#requireTenant(tenantId);
    const set: Partial<AdminUserTable> = { role, tenant_id: tenantId };
    if (patch.passwordHash !== undefined) {
      set.password_hash = patch.passwordHash;
      set.password_changed_at = now.toISOString();
    }
    if (patch.disabled !== undefined) set.disabled_at = patch.disabled ? (current.disabledAt ?? now.toISOString()) : null;
    await this.#db.updateTable('admin_users').set(set).where('id', '=', id).execute();
    return (await this.getUser(id))!;
  }

  /** Deletes an account with its sessions and tokens (foreign keys cascade). Returns whether it existed. */
  async deleteUser(id: string): Promise<boolean> {
    const res = await this.#db.deleteFrom('admin_users').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  // ---- sessions ----

  /** Starts a session; the token (for the cookie) is returned here only. */
  async createSession(userId: string, options: { ttlMs: number; now?: Date }): Promise<{ token: string; session: AdminSession }> {
    const now = options.now ?? new Date();
    const token = randomBytes(32).toString('base64url');
    const row = {
      id: tokenHash(token),
      user_id: userId,
      csrf_token: randomBytes(32).toString('base64url'),
      created_at: now.toISOString(),
      expires_at: new Date(now.getTime() + options.ttlMs).toISOString(),
      last_seen_at: now.toISOString(),
    };
    await this.#db.insertInto('admin_sessions').values(row).execute();
    return { token, session: toSession(row) };
  }

  /** The session a cookie token names, with its user, or undefined (expiry is the caller's check). */
  async sessionByToken(token: string): Promise<{ session: AdminSession; user: AdminUser } | undefined> {
    const s = await this.#db.selectFrom('admin_sessions').selectAll().where('id', '=', tokenHash(token)).executeTakeFirst();
    if (!s) return undefined;
    const user = await this.getUser(s.user_id);
    return user && { session: toSession(s), user };
  }

  /** Records activity on a session (callers throttle this: it is a write). */
  async touchSession(id: string, now: Date = new Date()): Promise<void> {
    await this.#db.updateTable('admin_sessions').set({ last_seen_at: now.toISOString() }).where('id', '=', id).execute();
  }

  /** Ends one session. Returns whether it existed. */
  async deleteSession(id: string): Promise<boolean> {
    const res = await this.#db.deleteFrom('admin_sessions').where('id', '=', id).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }

  /** Ends every session of a user (but `exceptId`): after a password change, a role change, disabling. */
  async deleteSessionsOf(userId: string, exceptId?: string): Promise<number> {
    let q = this.#db.deleteFrom('admin_sessions').where('user_id', '=', userId);
    if (exceptId !== undefined) q = q.where('id', '!=', exceptId);
    const res = await q.executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  /** Deletes sessions past their absolute expiry or idle since before `idleBefore`. */
  async purgeSessions(now: Date, idleBefore?: Date): Promise<number> {
    const res = await this.#db
      .deleteFrom('admin_sessions')
      .where((eb) => eb.or([eb('expires_at', '<=', now.toISOString()), ...(idleBefore ? [eb('last_seen_at', '<', idleBefore.toISOString())] : [])]))
      .executeTakeFirst();
    return Number(res.numDeletedRows);
  }

  // ---- API tokens ----

  /** Issues an API token for a user; the token is returned here only. @throws StoreError `not_found` | `invalid_input`. */
  async createToken(userId: string, input: { name: string; expiresAt?: Date }, now: Date = new Date()): Promise<{ token: string; apiToken: ApiToken }> {
    const name = input.name.trim();
    if (name === '' || name.length > 200) throw new StoreError('invalid_input', 'an API token needs a name of 1 to 200 characters');
    if (!(await this.getUser(userId))) throw new StoreError('not_found', `admin user ${userId} does not exist`);
    const token = `${API_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const row = {
      id: `t${randomBytes(5).toString('hex')}`,
      token_hash: tokenHash(token),
      user_id: userId,
      name,
      created_at: now.toISOString(),
      expires_at: input.expiresAt?.toISOString() ?? null,
      last_used_at: null,
      revoked_at: null,
    };
    await this.#db.insertInto('api_tokens').values(row).execute();
    return { token, apiToken: toToken(row) };
  }

  /** The token a bearer value names, with its user, or undefined (revocation and expiry are the caller's checks). */
  async tokenByValue(token: string): Promise<{ apiToken: ApiToken; user: AdminUser } | undefined> {
    const t = await this.#db.selectFrom('api_tokens').selectAll().where('token_hash', '=', tokenHash(token)).executeTakeFirst();
    if (!t) return undefined;
    const user = await this.getUser(t.user_id);
    return user && { apiToken: toToken(t), user };
  }

  /** One token (never its value), or undefined. */
  async getToken(id: string): Promise<ApiToken | undefined> {
    const r = await this.#db
      .selectFrom('api_tokens')
      .select(['id', 'user_id', 'name', 'created_at', 'expires_at', 'last_used_at', 'revoked_at'])
      .where('id', '=', id)
      .executeTakeFirst();
    return r && toToken(r);
  }

  /** Tokens of a user, or of a tenant's users; revoked ones only with `includeRevoked`. Newest first. */
  async listTokens(filter: { userId?: string; tenantId?: string; includeRevoked?: boolean } = {}): Promise<ApiToken[]> {
    let q = this.#db
      .selectFrom('api_tokens as t')
      .innerJoin('admin_users as u', 'u.id', 't.user_id')
      .select(['t.id', 't.user_id', 't.name', 't.created_at', 't.expires_at', 't.last_used_at', 't.revoked_at']);
    if (filter.userId !== undefined) q = q.where('t.user_id', '=', filter.userId);
    if (filter.tenantId !== undefined) q = q.where('u.tenant_id', '=', filter.tenantId);
    if (!filter.includeRevoked) q = q.where('t.revoked_at', 'is', null);
    return (await q.orderBy('t.created_at', 'desc').orderBy('t.id').execute()).map(toToken);
  }

  /** Revokes a token (idempotent: the first revocation time is kept). @throws StoreError `not_found`. */
  async revokeToken(id: string, now: Date = new Date()): Promise<ApiToken> {
    await this.#db.updateTable('api_tokens').set({ revoked_at: sql<string>`coalesce(revoked_at, ${now.toISOString()})` }).where('id', '=', id).execute();
    const t = await this.getToken(id);
    if (!t) throw new StoreError('not_found', `API token ${id} does not exist`);
    return t;
  }

  /** Records that a token was used (callers throttle this: it is a write). */
  async touchToken(id: string, now: Date = new Date()): Promise<void> {
    await this.#db.updateTable('api_tokens').set({ last_used_at: now.toISOString() }).where('id', '=', id).execute();
  }
}
