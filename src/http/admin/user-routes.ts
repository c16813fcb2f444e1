/**
 * Admin accounts and API tokens. Installation admins manage every account; tenant admins manage
 * their tenant's accounts (tenant admins and viewers, never installation admins); viewers read.
 * Everyone manages their own API tokens. The last enabled installation admin cannot be removed,
 * disabled or demoted.
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import type { AdminRole, AdminUser } from '../../store/admin-repository.ts';
import { hashPassword, passwordProblem } from '../../store/password-hash.ts';
import { AdminError } from './admin-errors.ts';
import { canSee, listTenant, requireWrite, tenantScope, visible, type Principal } from './auth.ts';
import type { AdminContext } from './context.ts';
import { ApiToken, errors, IdParam, Role, User } from './schemas.ts';

const UserCreate = Type.Object(
  { username: Type.String({ minLength: 1, maxLength: 100 }), password: Type.String({ maxLength: 1024 }), role: Role, tenantId: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
);
const UserPatch = Type.Object(
  {
    role: Type.Optional(Role),
    tenantId: Type.Optional(Type.Union([Type.String({ maxLength: 100 }), Type.Null()], { description: 'null: installation-wide' })),
    password: Type.Optional(Type.String({ maxLength: 1024 })),
    disabled: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
const TokenCreate = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }), expiresInDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 3650 })) }, { additionalProperties: false });
const TenantQuery = Type.Object({ tenant: Type.Optional(Type.String({ maxLength: 100 })) });
const TokenQuery = Type.Object({ user: Type.Optional(Type.String({ maxLength: 100 })), all: Type.Optional(Type.Boolean({ description: 'include revoked tokens' })) });

/** A tenant admin may hand out only tenant roles, in their own tenant. */
function checkGrant(p: Principal, role: AdminRole, tenantId: string | null): void {
  const scope = tenantScope(p);
  if (scope === undefined) return;
  if (role === 'installation_admin') throw new AdminError('forbidden', 'only an installation admin may grant the installation_admin role');
  if (tenantId !== scope) throw new AdminError('forbidden', 'a tenant admin manages accounts of their own tenant only');
}

/** Registers the account and token routes. */
export function userRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;

  const userOf = async (p: Principal, id: string): Promise<AdminUser> => visible(p, await store.admin.getUser(id), `admin user ${id}`);

  /** Refuses a change that leaves no enabled installation admin. */
  const keepOneAdmin = async (target: AdminUser, after: { role?: AdminRole; disabled?: boolean; deleted?: boolean }): Promise<void> => {
    if (target.role !== 'installation_admin' || target.disabledAt !== undefined) return;
    const stays = !after.deleted && after.disabled !== true && (after.role === undefined || after.role === 'installation_admin');
    if (stays) return;
    if ((await store.admin.countActiveInstallationAdmins(target.id)) === 0) {
      throw new AdminError('last_admin', `${target.username} is the last enabled installation admin; create another one first`);
    }
  };

  app.get(
    '/users',
    { schema: { tags: ['users'], summary: 'Admin accounts (a tenant admin or viewer sees their tenant\'s)', querystring: TenantQuery, response: { 200: Type.Object({ users: Type.Array(User) }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof TenantQuery>;
      const tenantId = listTenant(p, q.tenant);
      return { users: await store.admin.listUsers(tenantId !== undefined ? { tenantId } : {}) };
    },
  );

  app.post(
    '/users',
    { schema: { tags: ['users'], summary: 'Create an account', body: UserCreate, response: { 201: Type.Object({ user: User }), ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      requireWrite(p);
      const body = request.body as Static<typeof UserCreate>;
      // A confined admin's accounts go into their tenant; an installation admin's go where asked.
      const tenantId = body.role === 'installation_admin' ? null : (body.tenantId ?? tenantScope(p) ?? null);
      if (tenantId !== null && !canSee(p, tenantId)) throw new AdminError('not_found', `tenant ${tenantId} does not exist`);
      checkGrant(p, body.role, tenantId);
      const problem = passwordProblem(body.password);
      if (problem !== undefined) throw new AdminError('invalid_request', problem);
      const user = await store.admin.createUser({
        username: body.username,
        passwordHash: await hashPassword(body.password, ctx.passwordCost),
        role: body.role,
        ...(tenantId !== null ? { tenantId } : {}),
      });
      await ctx.audit(p, 'user.create', { tenantId: user.tenantId, target: user.id, details: { username: user.username, role: user.role } });
      return reply.code(201).send({ user });
    },
  );

  app.get(
    '/users/:id',
    { schema: { tags: ['users'], summary: 'One account', params: IdParam, response: { 200: Type.Object({ user: User }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      return { user: await userOf(p, (request.params as Static<typeof IdParam>).id) };
    },
  );

  app.patch(
    '/users/:id',
    {
      schema: {
        tags: ['users'],
        summary: 'Change role, tenant, password or the disabled state (the account\'s sessions end)',
        params: IdParam,
        body: UserPatch,
        response: { 200: Type.Object({ user: User }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      requireWrite(p);
      const target = await userOf(p, (request.params as Static<typeof IdParam>).id);
      const body = request.body as Static<typeof UserPatch>;
      if (tenantScope(p) !== undefined && target.role === 'installation_admin') throw new AdminError('forbidden', 'a tenant admin cannot change an installation admin');
      const role = body.role ?? target.role;
      let tenantId: string | null = body.tenantId !== undefined ? body.tenantId : (target.tenantId ?? null);
      if (role === 'installation_admin') tenantId = null;
      if (tenantId !== null && !canSee(p, tenantId)) throw new AdminError('not_found', `tenant ${tenantId} does not exist`);
      checkGrant(p, role, tenantId);
      await keepOneAdmin(target, { role, ...(body.disabled !== undefined ? { disabled: body.disabled } : {}) });
      let passwordHash: string | undefined;
      if (body.password !== undefined) {
        const problem = passwordProblem(body.password);
        if (problem !== undefined) throw new AdminError('invalid_request', problem);
        passwordHash = await hashPassword(body.password, ctx.passwordCost);
      }
      const user = await store.admin.updateUser(target.id, {
        role,
        tenantId,
        ...(passwordHash !== undefined ? { passwordHash } : {}),
        ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
      });
      const access = body.role !== undefined || body.tenantId !== undefined || body.password !== undefined || body.disabled === true;
      // New rights or a new password start from a fresh login (the caller's own session is kept).
      if (access) await store.admin.deleteSessionsOf(user.id, target.id === p.user.id ? p.session?.id : undefined);
      await ctx.audit(p, 'user.update', {
        tenantId: user.tenantId ?? target.tenantId,
        target: user.id,
        details: {
          username: user.username,
          ...(body.role !== undefined ? { role: body.role } : {}),
          ...(body.tenantId !== undefined ? { tenantId: body.tenantId } : {}),
          ...(body.password !== undefined ? { password: 'changed' } : {}),
          ...(body.disabled !== undefined ? { disabled: body.disabled } : {}),
        },
      });
      return { user };
    },
  );

  app.delete(
    '/users/:id',
    { schema: { tags: ['users'], summary: 'Delete an account with its sessions and tokens', params: IdParam, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      requireWrite(p);
      const target = await userOf(p, (request.params as Static<typeof IdParam>).id);
      if (tenantScope(p) !== undefined && target.role === 'installation_admin') throw new AdminError('forbidden', 'a tenant admin cannot delete an installation admin');
      await keepOneAdmin(target, { deleted: true });
      await store.admin.deleteUser(target.id);
      await ctx.audit(p, 'user.delete', { tenantId: target.tenantId, target: target.id, details: { username: target.username } });
      return reply.code(204).send();
    },
  );

  // ---- API tokens ----

  app.get(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'API tokens: your own, or (admins) another visible account\'s with ?user=',
        querystring: TokenQuery,
        response: { 200: Type.Object({ tokens: Type.Array(ApiToken) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof TokenQuery>;
      let userId = p.user.id;
      if (q.user !== undefined && q.user !== p.user.id) {
        requireWrite(p);
        userId = (await userOf(p, q.user)).id;
      }
      return { tokens: await store.admin.listTokens({ userId, includeRevoked: q.all === true }) };
    },
  );

  app.post(
    '/tokens',
    {
      schema: {
        tags: ['tokens'],
        summary: 'Create an API token for your account; the token is in this answer only',
        body: TokenCreate,
        response: { 201: Type.Object({ token: Type.String({ description: 'shown once: send as Authorization: Bearer <token>' }), apiToken: ApiToken }), ...errors },
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      const body = request.body as Static<typeof TokenCreate>;
      const expiresAt = body.expiresInDays !== undefined ? new Date(auth.now().getTime() + body.expiresInDays * 86_400_000) : undefined;
      const { token, apiToken } = await store.admin.createToken(p.user.id, { name: body.name, ...(expiresAt ? { expiresAt } : {}) }, auth.now());
      await ctx.audit(p, 'token.create', { tenantId: p.user.tenantId, target: apiToken.id, details: { name: apiToken.name, ...(apiToken.expiresAt ? { expiresAt: apiToken.expiresAt } : {}) } });
      return reply.code(201).header('cache-control', 'no-store').send({ token, apiToken });
    },
  );

  app.delete(
    '/tokens/:id',
    { schema: { tags: ['tokens'], summary: 'Revoke an API token (yours, or a visible account\'s as an admin)', params: IdParam, response: { 200: Type.Object({ apiToken: ApiToken }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const id = (request.params as Static<typeof IdParam>).id;
      const t = await store.admin.getToken(id);
      if (!t) throw new AdminError('not_found', `API token ${id} does not exist`);
      let owner = p.user;
      if (t.userId !== p.user.id) {
        const u = await store.admin.getUser(t.userId);
        if (!u || !canSee(p, u.tenantId)) throw new AdminError('not_found', `API token ${id} does not exist`);
        requireWrite(p);
        if (tenantScope(p) !== undefined && u.role === 'installation_admin') throw new AdminError('not_found', `API token ${id} does not exist`);
        owner = u;
      }
      const apiToken = await store.admin.revokeToken(t.id, auth.now());
      await ctx.audit(p, 'token.revoke', { tenantId: owner.tenantId, target: t.id, details: { name: t.name, owner: owner.username } });
      return { apiToken };
    },
  );
}
