/**
 * The change events API (issue 6, "Change events and webhooks") as a fastify plugin:
 *
 *     GET /api/v1/events?after=CURSOR&limit=N[&connection=ID][&entities=users,enrollments]
 *       200 { events: [{ cursor, seq, at, runId, connectionId, entity, sourcedId, kind, fields }], next, hasMore }
 *     GET /api/v1/events/head
 *       200 { cursor }   the newest position: take it BEFORE a full read, then follow events after it
 *
 * - Ordered by the history's seq; `next` is the `after` of the following page; resumable for as
 *   long as the history is retained. `hasMore: false` means caught up (poll again later).
 * - A cursor older than the retained history answers 410 `cursor_expired` with `fullRead` (where
 *   to re-read the roster) and `restartCursor` (where to resume once the full read is done; it was
 *   the head when the 410 was sent, so taking it before the read loses nothing).
 * - Errors are JSON `{ error, message }`: 400 `invalid_request` / `invalid_cursor`, 401/403 from
 *   the authorize hook, 404 `unknown_connection` (also for connections of other tenants, so ids do
 *   not leak across tenants), 410 `cursor_expired`.
 * - Values in `fields` are the records' own (names, emails): the API is for the tenant's own
 *   authorised clients, like the OneRoster API it sits beside. Nothing personal is logged.
 *
 * Authentication lives elsewhere (admin sessions, API clients): the plugin takes an `authorize`
 * hook that maps a request to the tenant (and optionally connections / collections) it may read.
 *
 * Mount with `app.register(eventsApiPlugin, { store, authorize })` and no prefix: the routes carry
 * their full paths.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { COLLECTIONS } from '../oneroster/types.ts';
import { InvalidCursorError, StaleCursorError, headCursor, readChangeFeed, type ChangeFeedScope } from '../services/change-feed.ts';
import type { Store } from '../store/store.ts';

export const EVENTS_PATH = '/api/v1/events';

/** Who is asking: the tenant whose history they may read, optionally narrowed. */
export interface EventsPrincipal {
  tenantId: string;
  /** Only these connections (absent: all of the tenant's). */
  connectionIds?: readonly string[];
  /** Only these collections (e.g. an API client without the demographics scope). */
  entities?: readonly string[];
}

/** A refused request, answered as is. */
export interface EventsAuthFailure {
  status: 401 | 403;
  /** Stable code, e.g. `unauthorized`, `forbidden`. */
  error: string;
  message: string;
  /** E.g. `www-authenticate`. */
  headers?: Record<string, string>;
}

export interface EventsApiOptions {
  store: Store;
  /** Maps a request to a principal, or refuses it. */
  authorize: (request: FastifyRequest) => EventsPrincipal | EventsAuthFailure | Promise<EventsPrincipal | EventsAuthFailure>;
  /** Page size when `limit` is absent. Default 100. */
  defaultLimit?: number;
  /** Larger `limit`s are clamped to this. Default 1000. */
  maxLimit?: number;
  /**
   * Where a consumer with an expired cursor re-reads the roster (told in the 410 body). Default
   * `/ims/oneroster/v1p1` (the re-served OneRoster API).
   */
  fullReadUrl?: string | ((principal: EventsPrincipal, connectionId: string | undefined) => string);
}

function isFailure(r: EventsPrincipal | EventsAuthFailure): r is EventsAuthFailure {
  return 'status' in r;
}

function fail(reply: FastifyReply, status: number, error: string, message: string, extra: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).header('cache-control', 'no-store').send({ error, message, ...extra });
}

function text(v: unknown): string | undefined {
  return v === undefined ? undefined : String(v);
}

/** The events API plugin (see the file comment). */
export async function eventsApiPlugin(app: FastifyInstance, options: EventsApiOptions): Promise<void> {
  const { store } = options;
  const defaultLimit = options.defaultLimit ?? 100;
  const maxLimit = options.maxLimit ?? 1000;

  const principalOf = async (request: FastifyRequest, reply: FastifyReply): Promise<EventsPrincipal | undefined> => {
    const r = await options.authorize(request);
    if (!isFailure(r)) return r;
    for (const [k, v] of Object.entries(r.headers ?? {})) reply.header(k, v);
    fail(reply, r.status, r.error, r.message);
    return undefined;
  };

  app.get(`${EVENTS_PATH}/head`, async (request, reply) => {
    const principal = await principalOf(request, reply);
    if (!principal) return reply;
    return reply.header('cache-control', 'no-store').send({ cursor: await headCursor(store) });
  });

  app.get(EVENTS_PATH, async (request, reply) => {
    const principal = await principalOf(request, reply);
    if (!principal) return reply;
    const q = (request.query ?? {}) as Record<string, unknown>;
    for (const name of ['after', 'limit', 'connection', 'entities']) {
      if (Array.isArray(q[name])) return fail(reply, 400, 'invalid_request', `${name} may be given once`);
    }
    const after = text(q.after);
    const limitText = text(q.limit);
    const connection = text(q.connection);
    const entitiesText = text(q.entities);

    let limit = defaultLimit;
    if (limitText !== undefined) {
      if (!/^\d{1,9}$/.test(limitText) || Number(limitText) < 1) return fail(reply, 400, 'invalid_request', `limit must be a positive whole number, got "${limitText.slice(0, 20)}"`);
      limit = Math.min(Number(limitText), maxLimit);
    }

    let entities = principal.entities;
    if (entitiesText !== undefined) {
      const asked = entitiesText.split(',').map((e) => e.trim()).filter((e) => e !== '');
      const unknown = asked.filter((e) => !(COLLECTIONS as readonly string[]).includes(e));
      if (asked.length === 0 || unknown.length > 0) {
        return fail(reply, 400, 'invalid_request', `entities must list collections among ${COLLECTIONS.join(', ')}`);
      }
      entities = principal.entities ? asked.filter((e) => principal.entities!.includes(e)) : asked;
    }

    let connectionIds = principal.connectionIds;
    if (connection !== undefined) {
      const c = await store.connections.get(connection).catch(() => undefined);
      const allowed = c !== undefined && c.tenantId === principal.tenantId && (principal.connectionIds === undefined || principal.connectionIds.includes(c.id));
      if (!allowed) return fail(reply, 404, 'unknown_connection', `no connection "${connection.slice(0, 64)}" is visible to this client`);
      connectionIds = [c.id];
    }

    const scope: ChangeFeedScope = { tenantId: principal.tenantId };
    if (connectionIds !== undefined) scope.connectionIds = connectionIds;
    if (entities !== undefined) scope.entities = entities;
    try {
      const page = await readChangeFeed(store, scope, { ...(after !== undefined ? { after } : {}), limit });
      return reply.header('cache-control', 'no-store').send(page);
    } catch (err) {
      if (err instanceof InvalidCursorError) return fail(reply, 400, 'invalid_cursor', err.message);
      if (err instanceof StaleCursorError) {
        const fullRead = typeof options.fullReadUrl === 'function' ? options.fullReadUrl(principal, connection) : (options.fullReadUrl ?? '/ims/oneroster/v1p1');
        return fail(
          reply,
          410,
          'cursor_expired',
          `${err.message}. Do a full read of the roster (${fullRead}), then resume with after=restartCursor.`,
          { fullRead, restartCursor: err.restartCursor },
        );
      }
      throw err;
    }
  });
}
