/**
 * Sign-in routes: first-admin setup, login (rate-limited per IP and per username), logout, the
 * caller's own account (`/me`) and password change.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { StoreError } from '../../store/errors.ts';
import { hashPassword, passwordProblem, verifyPassword, verifyPasswordDummy } from '../../store/password-hash.ts';
import { AdminError } from './admin-errors.ts';
import { FIRST_ADMIN } from './bootstrap.ts';
import type { AdminContext } from './context.ts';
import { errors, User } from './schemas.ts';

const LoginBody = Type.Object({ username: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });
const SetupBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 200 }), password: Type.String({ maxLength: 1024 }), username: Type.Optional(Type.String({ maxLength: 100 })) },
  { additionalProperties: false },
);
const PasswordBody = Type.Object({ currentPassword: Type.String({ maxLength: 1024 }), newPassword: Type.String({ maxLength: 1024 }) }, { additionalProperties: false });
const SessionView = Type.Object({
  user: User,
  via: Type.Union([Type.Literal('session'), Type.Literal('token')]),
  csrfToken: Type.Optional(Type.String({ description: 'send it in x-csrf-token on every state-changing request made with the session cookie' })),
  expiresAt: Type.Optional(Type.String()),
});

/** The hash's scrypt N is below the current cost: rehash at the next successful login. */
function weakerThan(stored: string, n: number): boolean {
  const parts = stored.split('$');
  return parts[0] === 'scrypt' && Number(parts[1]) < n;
}

/** Registers the sign-in routes. */
export function authRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;
  // One counter per purpose: setup-token guesses, logins per address and per username, and
  // current-password guesses of a signed-in account.
  const limiter = (keyGenerator: (req: FastifyRequest) => string) => app.createRateLimit({ max: ctx.loginMax, timeWindow: ctx.rateWindowMs, keyGenerator });
  const setupByIp = limiter((req) => `setup:${req.ip}`);
  const byIp = limiter((req) => `ip:${req.ip}`);
  const byUser = limiter((req) => `user:${String((req.body as { username?: unknown } | undefined)?.username ?? '').trim().toLowerCase().slice(0, 200)}`);
  const byAccount = limiter((req) => `account:${auth.maybePrincipal(req)?.user.id ?? req.ip}`);
  /** Login attempts count per IP and per username (guessing one account from many addresses, or many accounts from one). */
  const limited = async (request: FastifyRequest, reply: FastifyReply, which: ReadonlyArray<typeof byIp>): Promise<void> => {
    for (const limiter of which) {
      const r = await limiter(request);
      if (!r.isAllowed && r.isExceeded) {
        void reply.header('retry-after', String(r.ttlInSeconds));
        throw new AdminError('rate_limited', `too many attempts; try again in ${r.ttlInSeconds} s`, { 'retry-after': String(r.ttlInSeconds) });
      }
    }
  };

  app.post(
    '/setup',
    {
      config: { public: true },
      preHandler: (req, reply) => limited(req, reply, [setupByIp]),
      schema: {
        tags: ['auth'],
        summary: 'Exchange the one-time setup token printed by `rostersync serve` for the first installation admin',
        body: SetupBody,
        response: { 201: Type.Object({ user: User }), ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof SetupBody>;
      if (!ctx.setup.pending() || (await store.admin.countUsers()) > 0) {
        throw new AdminError('setup_unavailable', 'setup is done (an admin account exists) or no setup token is pending; log in instead');
      }
      const problem = passwordProblem(body.password);
      if (problem !== undefined) throw new AdminError('invalid_request', problem);
      if (!ctx.setup.consume(body.token)) throw new AdminError('invalid_setup_token', 'the setup token does not match the one `rostersync serve` printed');
      const user = await store.admin.createUser({ username: body.username ?? FIRST_ADMIN, passwordHash: await hashPassword(body.password, ctx.passwordCost), role: 'installation_admin' });
      await store.audit.append({ actor: 'system', action: 'setup.admin_created', target: user.id, details: { username: user.username, from: 'setup token' } });
      request.log.info({ userId: user.id }, 'first admin created through the setup token');
      return reply.code(201).send({ user });
    },
  );

  app.post(
    '/login',
    {
      config: { public: true },
      preHandler: (req, reply) => limited(req, reply, [byIp, byUser]),
      schema: {
        tags: ['auth'],
        summary: 'Log in: sets the http-only session cookie and returns the CSRF token',
        body: LoginBody,
        response: { 200: SessionView, ...errors },
      },
    },
    async (request, reply) => {
      const body = request.body as Static<typeof LoginBody>;
      const creds = await store.admin.credentials(body.username);
      const ok = creds !== undefined && creds.user.disabledAt === undefined ? await verifyPassword(body.password, creds.passwordHash) : await verifyPasswordDummy(body.password, ctx.passwordCost);
      if (!ok || !creds) {
        // The username is not personal data of students; it is cut short and kept only for failed attempts.
        await store.audit.append({ actor: creds?.user.username ?? '-', action: 'login.failed', ...(creds?.user.tenantId !== undefined ? { tenantId: creds.user.tenantId } : {}), details: { username: body.username.trim().toLowerCase().slice(0, 100) } });
        throw new AdminError('invalid_credentials', 'wrong username or password');
      }
      const { user } = creds;
      if (weakerThan(creds.passwordHash, ctx.passwordCost.N)) await store.admin.updateUser(user.id, { passwordHash: await hashPassword(body.password, ctx.passwordCost) });
      const now = auth.now();
      await store.admin.purgeSessions(now, new Date(now.getTime() - auth.idleTimeoutMs));
      const { token, session } = await store.admin.createSession(user.id, { ttlMs: auth.sessionTtlMs, now });
      auth.setSessionCookie(request, reply, token);
      await store.audit.append({ actor: user.username, action: 'login', ...(user.tenantId !== undefined ? { tenantId: user.tenantId } : {}), target: user.id });
      return reply.header('cache-control', 'no-store').send({ user, via: 'session', csrfToken: session.csrfToken, expiresAt: session.expiresAt });
    },
  );

  app.post(
    '/logout',
    { schema: { tags: ['auth'], summary: 'End the session (and drop the cookie)', response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      if (p.session) await store.admin.deleteSession(p.session.id);
      auth.clearSessionCookie(request, reply);
      await ctx.audit(p, 'logout', { tenantId: p.user.tenantId, target: p.user.id });
      return reply.code(204).send();
    },
  );

  app.get(
    '/me',
    { schema: { tags: ['auth'], summary: 'The caller: account, how it authenticated, and (sessions) the CSRF token', response: { 200: SessionView, ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      return reply.header('cache-control', 'no-store').send({
        user: p.user,
        via: p.via,
        ...(p.session ? { csrfToken: p.session.csrfToken, expiresAt: p.session.expiresAt } : {}),
      });
    },
  );

  app.post(
    '/me/password',
    {
      preHandler: (req, reply) => limited(req, reply, [byAccount]),
      schema: { tags: ['auth'], summary: 'Change your own password (other sessions of the account end)', body: PasswordBody, response: { 204: Type.Null(), ...errors } },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      const body = request.body as Static<typeof PasswordBody>;
      const hash = await store.admin.passwordHashOf(p.user.id);
      if (hash === undefined) throw new StoreError('not_found', 'account does not exist');
      if (!(await verifyPassword(body.currentPassword, hash))) throw new AdminError('invalid_credentials', 'the current password is wrong');
      const problem = passwordProblem(body.newPassword);
      if (problem !== undefined) throw new AdminError('invalid_request', problem);
      await store.admin.updateUser(p.user.id, { passwordHash: await hashPassword(body.newPassword, ctx.passwordCost) });
      await store.admin.deleteSessionsOf(p.user.id, p.session?.id);
      await ctx.audit(p, 'password.change', { tenantId: p.user.tenantId, target: p.user.id });
      return reply.code(204).send();
    },
  );
}
