/**
 * The HTTP server of `rostersync serve` (and later the admin server): one fastify 5 instance with
 * `GET /healthz`, the shared error mapping, and the plugins of the other parts.
 *
 * Composition point: every HTTP surface is a fastify plugin passed in `plugins` as
 * `{ plugin, options, prefix }` (the re-served OneRoster API, the events API, later the admin API
 * and console). The list for `rostersync serve` is built in `http/plugins.ts`; add an entry there.
 * Each plugin is registered in its own encapsulated scope, so its hooks (auth), decorators and
 * error handler (the OneRoster API answers imsx bodies) do not leak into the others. Plugins get
 * their dependencies (the store, a logger) through their options, never from globals.
 */
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyPluginAsync, type FastifyPluginCallback, type FastifyRequest } from 'fastify';
import { sql } from 'kysely';
import type { Store } from '../store/store.ts';
import type { SchedulerStatus } from '../sync/scheduler.ts';
import { errorHandler } from './errors.ts';

/** One HTTP surface to mount. */
export interface AppPlugin {
  /** For logs and errors: which plugin this is. */
  name: string;
  // Plugins type their own options; the list holds them side by side.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  plugin: FastifyPluginAsync<any> | FastifyPluginCallback<any>;
  options?: Record<string, unknown>;
  /** URL prefix, e.g. `/ims/oneroster/v1p1`. Absent: the plugin's routes carry full paths. */
  prefix?: string;
}

export interface BuildAppOptions {
  store: Store;
  /** A pino logger (fastify's own type). Absent or false: no logging. */
  logger?: FastifyBaseLogger | false;
  /** Reported by `/healthz`; absent when the scheduler is off. */
  scheduler?: { status(): SchedulerStatus };
  plugins?: readonly AppPlugin[];
  /**
   * Log requests (not `/healthz`). Default false. The logger's `req`
   * serializer decides what a line carries (`serve` keeps method and path only: query strings hold
   * filter values such as emails, headers hold credentials).
   */
  requestLogs?: boolean;
  /** How long `/healthz` waits for the database. Default 2000 ms. */
  dbCheckTimeoutMs?: number;
}

/** What `GET /healthz` answers (200 when the database answers, else 503). */
export interface Health {
  status: 'ok' | 'unavailable';
  db: { ok: boolean; dialect: string; ms?: number; error?: string };
  scheduler: { state: SchedulerStatus['state'] | 'off'; concurrency?: number; running?: number; lastScanAt?: string; lastScanOk?: boolean; nextWakeAt?: string };
  uptimeSeconds: number;
}

async function checkDb(store: Store, timeoutMs: number): Promise<Health['db']> {
  const t0 = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await Promise.race([
      sql`select 1`.execute(store.db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(Object.assign(new Error('timeout'), { code: 'timeout' })), timeoutMs);
      }),
    ]);
    return { ok: true, dialect: store.dialect, ms: Math.round(performance.now() - t0) };
  } catch (err) {
    // A code, not the message: a driver message may name hosts or users.
    const code = (err as { code?: unknown } | null)?.code;
    return { ok: false, dialect: store.dialect, error: typeof code === 'string' ? code : 'error' };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Builds (but does not start) the app: `/healthz`, the error mapping, then each plugin in order.
 * Call `listen` on the result; `close` stops it (the store and scheduler are the caller's).
 */
export async function buildApp(options: BuildAppOptions): Promise<FastifyInstance> {
  const { store } = options;
  const started = Date.now();
  const app = Fastify({
    ...(options.logger ? { loggerInstance: options.logger } : { logger: false }),
    // Health probes are never logged (an orchestrator polls every few seconds).
    logController: new LogController({ disableRequestLogging: (req) => options.requestLogs !== true || req.url.startsWith('/healthz') }),
  });
  app.setErrorHandler(errorHandler);

  app.get('/healthz', async (_request: FastifyRequest, reply) => {
    const db = await checkDb(store, options.dbCheckTimeoutMs ?? 2000);
    const s = options.scheduler?.status();
    const health: Health = {
      status: db.ok ? 'ok' : 'unavailable',
      db,
      scheduler: s
        ? {
            state: s.state,
            concurrency: s.concurrency,
            running: s.active.length,
            ...(s.lastScanAt !== undefined ? { lastScanAt: s.lastScanAt } : {}),
            ...(s.lastScanOk !== undefined ? { lastScanOk: s.lastScanOk } : {}),
            ...(s.nextWakeAt !== undefined ? { nextWakeAt: s.nextWakeAt } : {}),
          }
        : { state: 'off' },
      uptimeSeconds: Math.round((Date.now() - started) / 1000),
    };
    // Probes must never be cached by a proxy.
    void reply.header('cache-control', 'no-store');
    return reply.code(db.ok ? 200 : 503).send(health);
  });

  for (const p of options.plugins ?? []) {
    await app.register(p.plugin, { ...(p.options ?? {}), ...(p.prefix !== undefined ? { prefix: p.prefix } : {}) });
    app.log.info({ plugin: p.name, prefix: p.prefix ?? '' }, 'plugin registered');
  }
  return app;
}
