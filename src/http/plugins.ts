/**
 * The HTTP surfaces `rostersync serve` mounts: the composition point for the other parts (the
 * re-served OneRoster API, the events API, later the admin API and console).
 *
 * To add one, append an entry `{ name, plugin, options, prefix }` below. The plugin is a fastify
 * plugin registered in its own encapsulated scope (its auth hooks and error handler stay inside it;
 * errors it does not handle answer `{ error, message }` through `http/errors.ts`). Pass what it
 * needs through `options` from the context (the store, the logger); do not open another store.
 */
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { RunQueue } from './admin/run-tracker.ts';
import { StoreClientAuth } from '../serve/store-auth.ts';
import type { Store } from '../store/store.ts';
import { adminApiPlugin, type AdminApiOptions } from './admin/admin-api.ts';
import type { AppPlugin } from './app.ts';
import { consolePlugin } from './console.ts';
import { storeOneRosterPlugin } from '../serve/store-server.ts';

export interface ServeContext {
  store: Store;
  logger: FastifyBaseLogger;
  /** An API-only node: admin-started syncs go to the workers' queue. */
  syncQueue?: RunQueue;
}

/** The plugins `rostersync serve` registers, in order. */
export function servePlugins(ctx: ServeContext): AppPlugin[] {
  // One authentication of API clients for both APIs: a token from /oauth/token also reads the events API.
  const clients = new StoreClientAuth({ clients: ctx.store.apiClients });
  return [
    // The re-served OneRoster 1.1 API (/ims/oneroster/v1p1/…) and its token endpoint (/oauth/token),
    // for stored API clients (`rostersync api-client add`); each client sees its own connection.
    { name: 'oneroster', plugin: storeOneRosterPlugin, options: { store: ctx.store, auth: clients } as unknown as Record<string, unknown> },
    // The admin API (/api/v1, OpenAPI at /api/v1/openapi.json) also mounts the events API
    // (/api/v1/events) behind its authentication (admins, and API clients' bearer tokens for their own
    // connection's history); do not register eventsApiPlugin a second time.
    { name: 'admin', plugin: adminApiPlugin, options: { ...adminOptions(ctx), eventsClientAuth: (request: FastifyRequest) => clients.eventsPrincipal(request) } satisfies AdminApiOptions as unknown as Record<string, unknown> },
    // The web console (web/dist) at / with the SPA fallback; keep it last: it owns the 404 handler.
    { name: 'console', plugin: consolePlugin, options: {} },
  ];
}

/**
 * The admin API's settings from the environment: `ROSTERSYNC_ADMIN_PASSWORD` (first start only: the
 * `admin` account's password; without it a one-time setup token is printed to stdout) and
 * `ROSTERSYNC_COOKIE_SECURE` (`auto` default, `true`, `false`: the session cookie's Secure flag).
 */
function adminOptions(ctx: ServeContext): AdminApiOptions {
  const secure = (process.env.ROSTERSYNC_COOKIE_SECURE ?? 'auto').toLowerCase();
  return {
    store: ctx.store,
    ...(ctx.syncQueue ? { syncQueue: ctx.syncQueue } : {}),
    adminPassword: process.env.ROSTERSYNC_ADMIN_PASSWORD,
    auth: { cookieSecure: secure === 'true' ? true : secure === 'false' ? false : 'auto' },
  };
}
