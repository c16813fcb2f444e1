/**
 * The admin API (issue 7, server part) as one fastify plugin: everything under `/api/v1`, the
 * OpenAPI document at `/api/v1/openapi.json`, and the change events API (`http/events-api.ts`)
 * mounted with this plugin's authentication.
 *
 * Every CLI action has an API equivalent calling the same services (sync-service, hold-service,
 * stored-connection, issue-report, change-feed, webhook-service, the SDS catalog and checks).
 * Routes and their auth rules: see `auth.ts` (sessions, API tokens, CSRF, roles, tenant scoping);
 * every route calls the guard helpers there, and every state change appends an audit row.
 *
 * Mount with `app.register(adminApiPlugin, { store, … })` and no prefix (`servePlugins` does).
 * On `close` it ends open event streams and aborts API-started syncs (they apply nothing) and waits
 * for them, before the caller closes the store.
 */
import cookie from '@fastify/cookie';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DEFAULT_PASSWORD_COST, type PasswordCost } from '../../store/password-hash.ts';
import type { Store } from '../../store/store.ts';
import type { SyncLogger } from '../../sync/full-sync.ts';
import { EVENTS_PATH, eventsApiPlugin, type EventsAuthFailure, type EventsPrincipal } from '../events-api.ts';
import { adminErrorHandler, AdminError, isAdminError } from './admin-errors.ts';
import { authRoutes } from './auth-routes.ts';
import { AdminAuth, SESSION_COOKIE, tenantScope, type AuthSettings } from './auth.ts';
import { bootstrapAdmin, SetupGate, type BootstrapResult } from './bootstrap.ts';
import { changeRoutes } from './change-routes.ts';
import { connectionRoutes } from './connection-routes.ts';
import { dataRoutes } from './data-routes.ts';
import type { AdminContext } from './context.ts';
import { RunTracker, type RunQueue } from './run-tracker.ts';
import { runRoutes } from './run-routes.ts';
import { SseRegistry } from './sse.ts';
import { tenantRoutes } from './tenant-routes.ts';
import { userRoutes } from './user-routes.ts';
import { webhookRoutes } from './webhook-routes.ts';
import { exportRoutes } from './export-routes.ts';
import { DEFAULT_TENANT_ID } from '../../store/tenant-repository.ts';

export const ADMIN_PREFIX = '/api/v1';

export interface AdminApiOptions {
  store: Store;
  /**
   * An API-only node (`serve --no-worker`): syncs started here are queued for the workers instead
   * of running in this process (run-tracker.ts).
   */
  syncQueue?: RunQueue;
  /** How long a queued sync may wait for a worker before the request answers `no_worker`. Default 60 s. */
  queueStartMs?: number;
  auth?: AuthSettings;
  /** scrypt cost for new password hashes (default `DEFAULT_PASSWORD_COST`; tests pass a cheap one). */
  passwordCost?: PasswordCost;
  /** First start only: the password of the `admin` account to create (`ROSTERSYNC_ADMIN_PASSWORD`). */
  adminPassword?: string | undefined;
  /** Where a new setup token (or the created admin) is announced. Default: stdout. */
  announce?: (text: string) => void;
  /** Called with what the first-start check did (tests). */
  onBootstrap?: (r: BootstrapResult) => void;
  /** Login (and setup, password change) attempts per IP and per username per window. Default 5 per minute. */
  login?: { max?: number; windowMs?: number };
  /** SSE keep-alive comment interval. Default 15 s. */
  sseKeepAliveMs?: number;
  /** How often the record of a run this process does not run is re-read for its event stream. Default 1 s. */
  runPollMs?: number;
  /** Mount the change events API (`/api/v1/events`) behind this authentication. Default true. */
  events?: boolean;
  /**
   * Events API callers that are not admin accounts (downstream API clients, once the re-served
   * OneRoster API shares its token check): consulted for credentials other than an admin session
   * or `rsa_` token; undefined: not theirs either (401).
   */
  eventsClientAuth?: (request: FastifyRequest) => Promise<EventsPrincipal | EventsAuthFailure | undefined>;
}

function syncLogger(app: FastifyInstance): SyncLogger {
  return {
    info: (msg, meta) => app.log.info(meta ?? {}, msg),
    warn: (msg, meta) => app.log.warn(meta ?? {}, msg),
  };
}

/** The admin API plugin (see the file comment). */
export async function adminApiPlugin(app: FastifyInstance, options: AdminApiOptions): Promise<void> {
  const { store } = options;
  const auth = new AdminAuth(store, options.auth);
  const setup = new SetupGate();
  const passwordCost = options.passwordCost ?? DEFAULT_PASSWORD_COST;
  const result = await bootstrapAdmin(store, setup, {
    adminPassword: options.adminPassword,
    passwordCost,
    announce: options.announce ?? ((text) => void process.stdout.write(text)),
  });
  options.onBootstrap?.(result);

  const ctx: AdminContext = {
    store,
    auth,
    runs: new RunTracker(store, { logger: syncLogger(app), ...(options.syncQueue ? { queue: options.syncQueue } : {}), ...(options.queueStartMs !== undefined ? { queueStartMs: options.queueStartMs } : {}) }),
    sse: new SseRegistry(),
    setup,
    passwordCost,
    log: app.log,
    sseKeepAliveMs: options.sseKeepAliveMs ?? 15_000,
    runPollMs: options.runPollMs ?? 1000,
    loginMax: options.login?.max ?? 5,
    rateWindowMs: options.login?.windowMs ?? 60_000,
    async audit(actor, action, fields = {}) {
      await store.audit.append({
        actor: actor === 'system' ? 'system' : actor.user.username,
        action,
        ...(fields.tenantId !== undefined ? { tenantId: fields.tenantId } : {}),
        ...(fields.target !== undefined ? { target: fields.target } : {}),
        ...(fields.details !== undefined ? { details: fields.details } : {}),
      });
    },
  };

  await app.register(cookie);
  // Only where a route asks for it (login, setup): `createRateLimit` below.
  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Rostersync admin API',
        version: '1',
        description:
          'Tenants, connections, runs, holds, changes, accounts and audit of a Rostersync installation. Authenticate with the session cookie from POST /api/v1/login ' +
          '(state-changing requests must echo the CSRF token in x-csrf-token) or with an API token (Authorization: Bearer rsa_…).',
      },
      components: {
        securitySchemes: {
          session: { type: 'apiKey', in: 'cookie', name: SESSION_COOKIE },
          token: { type: 'http', scheme: 'bearer' },
        },
      },
      security: [{ session: [] }, { token: [] }],
    },
  });
  app.setErrorHandler(adminErrorHandler);

  const isEventsRoute = (request: FastifyRequest): boolean => (request.routeOptions.url ?? '').startsWith(EVENTS_PATH);
  /** Credentials that are not an admin's (no session cookie, no `rsa_` token): another client kind. */
  const foreignCredentials = (request: FastifyRequest): boolean => {
    const h = request.headers.authorization;
    return typeof h === 'string' && !/^Bearer\s+rsa_/i.test(h);
  };

  app.addHook('onRequest', async (request, reply) => {
    // The events API also serves other client kinds through `eventsClientAuth` (see authorize below).
    if (options.eventsClientAuth && isEventsRoute(request) && foreignCredentials(request)) return;
    const isPublic = (request.routeOptions.config as { public?: boolean } | undefined)?.public === true;
    try {
      const p = await auth.authenticate(request, reply);
      if (!p && !isPublic) throw new AdminError('unauthorized', 'log in (POST /api/v1/login) or send an API token (Authorization: Bearer …)', { 'www-authenticate': 'Bearer' });
    } catch (err) {
      // A stale cookie must not stop a login; public routes ignore bad credentials.
      if (isPublic && isAdminError(err, 'unauthorized', 'session_expired', 'csrf_failed')) return;
      throw err;
    }
  });
  // Admin answers carry account and roster data: never cached by a browser or proxy.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!reply.hasHeader('cache-control')) void reply.header('cache-control', 'no-store');
    return payload;
  });
  app.addHook('preClose', async () => {
    ctx.sse.closeAll();
    await ctx.runs.stop();
  });

  if (options.events !== false) {
    await app.register(eventsApiPlugin, {
      store,
      authorize: async (request: FastifyRequest): Promise<EventsPrincipal | EventsAuthFailure> => {
        const p = auth.maybePrincipal(request);
        if (!p) {
          const other = options.eventsClientAuth ? await options.eventsClientAuth(request) : undefined;
          return other ?? { status: 401, error: 'unauthorized', message: 'log in or send an API token' };
        }
        const scope = tenantScope(p);
        if (scope !== undefined) return { tenantId: scope };
        // Installation-wide callers read one tenant at a time: ?tenant=, else the connection's, else the default.
        const q = (request.query ?? {}) as Record<string, unknown>;
        if (typeof q.tenant === 'string') return { tenantId: q.tenant };
        if (typeof q.connection === 'string') {
          const c = await store.connections.get(q.connection).catch(() => undefined);
          if (c) return { tenantId: c.tenantId };
        }
        return { tenantId: DEFAULT_TENANT_ID };
      },
    });
  }

  await app.register(
    async (api) => {
      authRoutes(api, ctx);
      tenantRoutes(api, ctx);
      connectionRoutes(api, ctx);
      runRoutes(api, ctx);
      changeRoutes(api, ctx);
      dataRoutes(api, ctx);
      userRoutes(api, ctx);
      webhookRoutes(api, ctx);
      exportRoutes(api, ctx);
      api.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, async () => app.swagger());
    },
    { prefix: ADMIN_PREFIX },
  );
}
