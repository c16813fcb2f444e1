import Fastify from 'fastify';
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest, FastifyServerOptions } from 'fastify';
import type { Store } from '../store/store.ts';
import { DEFAULT_PREFIX, imsxFrameworkErrors, oneRosterPlugin } from './oneroster-server.ts';
import { StoreClientAuth, apiClientOf } from './store-auth.ts';
import { StoreDataset } from './store-dataset.ts';

/**
 * The re-served OneRoster 1.1 API (issue 6): the same `serve/` provider as the simulator, over the
 * synced store, for downstream apps. Each API client (`rostersync api-client add`) reads the live
 * data of its own connection (`StoreDataset`, see there for `dateLastModified` and tombstones).
 *
 * Mount: `app.register(storeOneRosterPlugin, { store })` WITHOUT a fastify prefix gives
 * `POST /oauth/token` and `GET /ims/oneroster/v1p1/...`; a prefix (e.g. `/district42`) moves both.
 * The plugin sets the imsx error handler in its OneRoster scope; for malformed percent-encoding
 * in paths (which fails before routing) add `frameworkErrors: imsxFrameworkErrors` to the app.
 */

export interface StoreOneRosterPluginOptions {
  store: Store;
  /** The API clients' authentication, when shared with another plugin (the events API); else one of its own. */
  auth?: StoreClientAuth;
  /** Path of the OneRoster API inside the plugin. Default `/ims/oneroster/v1p1`. */
  apiPath?: string;
  /** Path of the OAuth 2 token endpoint inside the plugin. Default `/oauth/token`. */
  tokenPath?: string;
  /** Bearer token lifetime. Default 3600 s. */
  tokenTtlSeconds?: number;
  /** OAuth 1.0a timestamp tolerance. Default 600 s. */
  timestampWindowSeconds?: number;
  /** Used when `limit` is absent. Default 100 (the spec's). */
  defaultLimit?: number;
  /** Larger `limit`s are clamped to this. Default 10000. */
  maxLimit?: number;
  /** Absolute base for `href`s; default from the request's Host. */
  publicBaseUrl?: string;
  /** Clock (tests). */
  now?: () => number;
}

/** The fastify plugin; see the module comment for how to mount it. */
export const storeOneRosterPlugin: FastifyPluginAsync<StoreOneRosterPluginOptions> = async (app, options) => {
  const { store } = options;
  const auth = options.auth ?? new StoreClientAuth({
    clients: store.apiClients,
    ...(options.tokenTtlSeconds !== undefined ? { tokenTtlSeconds: options.tokenTtlSeconds } : {}),
    ...(options.timestampWindowSeconds !== undefined ? { timestampWindowSeconds: options.timestampWindowSeconds } : {}),
    ...(options.now !== undefined ? { now: options.now } : {}),
  });
  auth.registerTokenRoute(app, options.tokenPath ?? '/oauth/token');
  // One dataset (and cache) per connection, created on first use.
  const datasets = new Map<string, StoreDataset>();
  const datasetFor = (request: FastifyRequest): StoreDataset => {
    const principal = apiClientOf(request);
    // The auth hook runs before every OneRoster handler; without a principal nothing is served.
    if (principal === undefined) throw new Error('OneRoster request without an authenticated API client');
    const id = principal.client.connectionId;
    let ds = datasets.get(id);
    if (ds === undefined) {
      ds = new StoreDataset({ db: store.db, connectionId: id, dialect: store.dialect });
      datasets.set(id, ds);
    }
    return ds;
  };
  await app.register(oneRosterPlugin, {
    prefix: options.apiPath ?? DEFAULT_PREFIX,
    dataset: datasetFor,
    auth,
    ...(options.defaultLimit !== undefined ? { defaultLimit: options.defaultLimit } : {}),
    ...(options.maxLimit !== undefined ? { maxLimit: options.maxLimit } : {}),
    ...(options.publicBaseUrl !== undefined ? { publicBaseUrl: options.publicBaseUrl } : {}),
  });
};

export interface StoreOneRosterServerOptions extends StoreOneRosterPluginOptions {
  /** fastify logger option; default false (student data: never log bodies). */
  logger?: FastifyServerOptions['logger'];
}

/** A ready fastify app serving the plugin at the root (tests, benchmarks). Call `listen` or `inject`. */
export async function createStoreOneRosterServer(options: StoreOneRosterServerOptions): Promise<FastifyInstance> {
  const { logger, ...pluginOptions } = options;
  const app = Fastify({ logger: logger ?? false, frameworkErrors: imsxFrameworkErrors });
  await app.register(storeOneRosterPlugin, pluginOptions);
  return app;
}
