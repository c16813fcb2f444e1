import Fastify from 'fastify';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest, FastifyServerOptions } from 'fastify';
import { failureBody } from '../oneroster/imsx.ts';
import type { StatusInfo } from '../oneroster/imsx.ts';
import { FilterError } from '../oneroster/filter-grammar.ts';
import { QueryParamError, parseCollectionQuery, parseSingleQuery } from '../oneroster/query-params.ts';
import type { RawQuery } from '../oneroster/query-params.ts';
import type { AnyEntity } from '../oneroster/types.ts';
import { ProviderAuth } from './auth.ts';
import type { AuthOptions, RequestAuth } from './auth.ts';
import type { Dataset } from './dataset.ts';
import { buildLinkHeader } from './link-header.ts';
import { MemoryDataset } from './memory-dataset.ts';
import { PageSerializer } from './page-serializer.ts';
import type { RecordSource } from './record-source.ts';
import { ROUTES } from './routes.ts';
import type { Access, CollectionRoute, SingleRoute } from './routes.ts';

/**
 * The OneRoster 1.1 rostering REST provider (spec notes §1–§2, §9.2) as a fastify plugin over any
 * `Dataset`: all rostering GETs with their wrapper keys, paging headers, imsx errors, and auth.
 * Used twice: by the district simulator and (later) over the store.
 */

export const DEFAULT_PREFIX = '/ims/oneroster/v1p1';

export interface OneRosterPluginOptions {
  /** What to serve; or a function choosing it per request, after auth (e.g. by the client's connection). */
  dataset: Dataset | ((request: FastifyRequest) => Dataset);
  /** Provider-side auth; default none. */
  auth?: RequestAuth;
  /** Used when `limit` is absent (spec default 100). */
  defaultLimit?: number;
  /** Larger `limit`s are clamped to this (default 10000; Ed-Fi clamps rather than rejects, §2). */
  maxLimit?: number;
  /**
   * Nested read with an unknown parent: `'empty'` (default) answers 200 with an empty array, as
   * Microsoft's SDS provider test expects; `'404'` answers unknownobject as OAS12's prose says (§1.4).
   */
  unknownParent?: 'empty' | '404';
  /** Absolute base for `href`s (e.g. `https://sis.example/ims/oneroster/v1p1`); default from the request's Host. */
  publicBaseUrl?: string;
  /**
   * Called with the OneRoster scope before routes and auth hooks are added: the place for hooks
   * that must apply to OneRoster routes only (fault injection).
   */
  configure?: (scope: FastifyInstance) => void;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** OneRoster scope class of the route (see `routes.ts`). */
    oneRosterAccess?: Access;
  }
}

/**
 * Exactly `application/json`: RFC 8259 defines no charset parameter for it (JSON is UTF-8).
 * Bodies are sent as Buffers, because fastify appends `; charset=utf-8` to JSON string payloads.
 */
const JSON_TYPE = 'application/json';

function sendFailure(reply: FastifyReply, status: number, codeMinor: string, description: string): FastifyReply {
  return reply.code(status).type(JSON_TYPE).send(Buffer.from(JSON.stringify(failureBody(codeMinor, description))));
}

function rawQueryOf(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const q = url.indexOf('?');
  return q === -1 ? '' : url.slice(q + 1);
}

function pathOf(request: FastifyRequest): string {
  const url = request.raw.url ?? request.url;
  const q = url.indexOf('?');
  return q === -1 ? url : url.slice(0, q);
}

/**
 * The fastify plugin. Register it with a prefix:
 * `app.register(oneRosterPlugin, { prefix: '/district42/ims/oneroster/v1p1', dataset })`.
 */
export async function oneRosterPlugin(scope: FastifyInstance, options: OneRosterPluginOptions): Promise<void> {
  const datasetOf = (request: FastifyRequest): Dataset => (typeof options.dataset === 'function' ? options.dataset(request) : options.dataset);
  const defaultLimit = options.defaultLimit ?? 100;
  const maxLimit = options.maxLimit ?? 10_000;
  const unknownParent = options.unknownParent ?? 'empty';
  const serializer = new PageSerializer();
  const prefix = scope.prefix;

  const baseUrlOf = (request: FastifyRequest): string =>
    options.publicBaseUrl ?? `${request.protocol}://${request.headers.host ?? request.host}${prefix}`;

  options.configure?.(scope);

  const auth = options.auth;
  if (auth && auth.mode !== 'none') {
    scope.addHook('onRequest', async (request, reply) => {
      const failure = await auth.check(request, request.routeOptions.config?.oneRosterAccess);
      if (!failure) return undefined;
      if (failure.wwwAuthenticate) reply.header('www-authenticate', failure.wwwAuthenticate);
      sendFailure(reply, failure.status, failure.codeMinor, failure.description);
      return reply;
    });
  }

  scope.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof QueryParamError || error instanceof FilterError) {
      return sendFailure(reply, 400, error.codeMinor, error.message);
    }
    const status = typeof error.statusCode === 'number' ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      // fastify's own client errors (bad URL encoding, unsupported media type…).
      return sendFailure(reply, status, 'invaliddata', error.message);
    }
    // Never leak stacks or messages of unexpected errors; log the id-only context.
    request.log.error({ err: error, url: pathOf(request) }, 'OneRoster handler failed');
    return sendFailure(reply, 500, 'internal_server_error', 'Internal server error');
  });

  scope.setNotFoundHandler((request, reply) => {
    sendFailure(reply, 404, 'unknownobject', `Unknown endpoint: ${request.method} ${pathOf(request).slice(0, 200)}`);
  });

  const emptyBody = (route: CollectionRoute): string => `{${JSON.stringify(route.wrapper)}:[]}`;

  const linkFor = (request: FastifyRequest, offset: number, limit: number, total: number): string =>
    buildLinkHeader(`${request.protocol}://${request.headers.host ?? request.host}${pathOf(request)}`, rawQueryOf(request), offset, limit, total);

  async function parentsExist(dataset: Dataset, route: CollectionRoute, params: Record<string, string>): Promise<string | undefined> {
    for (const parent of route.parents) {
      const id = params[parent.param] ?? '';
      const record = await dataset.get(parent.collection, id);
      if (record === undefined || (parent.accept && !parent.accept(record))) return `Unknown Object: no ${parent.label} with sourcedId ${id.slice(0, 200)}`;
    }
    return undefined;
  }

  const handleCollection = (route: CollectionRoute) => async (request: FastifyRequest, reply: FastifyReply) => {
    const params = request.params as Record<string, string>;
    const q = parseCollectionQuery(request.query as RawQuery, { collection: route.collection, defaultLimit, maxLimit });
    const dataset = datasetOf(request);
    const missing = await parentsExist(dataset, route, params);
    if (missing !== undefined) {
      if (unknownParent === '404') return sendFailure(reply, 404, 'unknownobject', missing);
      return reply
        .header('x-total-count', '0')
        .header('link', linkFor(request, q.offset, q.limit, 0))
        .type(JSON_TYPE)
        .send(Buffer.from(emptyBody(route)));
    }
    const result = await dataset.query(route.collection, route.scope(params), {
      offset: q.offset,
      limit: q.limit,
      sort: q.sort,
      orderBy: q.orderBy,
      filter: q.filter,
      filterText: q.filterText,
    });
    const pageOptions = { fields: q.fields, warnings: q.warnings };
    const page = result.stored
      ? serializer.storedCollectionBody(route.wrapper, route.collection, result.stored, baseUrlOf(request), pageOptions)
      : serializer.collectionBody(route.wrapper, route.collection, result.records, baseUrlOf(request), pageOptions);
    // The page lives in a pooled buffer: hand it back once the bytes are on the socket (or the
    // connection died).
    reply.raw.once('finish', page.release);
    reply.raw.once('close', page.release);
    return reply
      .header('x-total-count', String(result.total))
      .header('link', linkFor(request, q.offset, q.limit, result.total))
      .type(JSON_TYPE)
      .send(page.body);
  };

  const handleSingle = (route: SingleRoute) => async (request: FastifyRequest, reply: FastifyReply) => {
    const id = (request.params as Record<string, string>)['sourcedId'] ?? '';
    const q = parseSingleQuery(request.query as RawQuery, { collection: route.collection });
    const record: AnyEntity | undefined = await datasetOf(request).get(route.collection, id);
    if (record === undefined || (route.accept && !route.accept(record))) {
      return sendFailure(reply, 404, 'unknownobject', `Unknown Object: no ${route.label} with sourcedId ${id.slice(0, 200)}`);
    }
    const warnings: StatusInfo[] = q.warnings;
    const body = serializer.singleBody(route.wrapper, route.collection, record, baseUrlOf(request), { fields: q.fields, warnings });
    // SDS's provider test checks X-Total-Count even on single reads (§2.4).
    return reply.header('x-total-count', '1').type(JSON_TYPE).send(Buffer.from(body));
  };

  for (const route of ROUTES) {
    scope.route({
      method: 'GET',
      url: route.path,
      config: { oneRosterAccess: route.access },
      handler: route.kind === 'collection' ? handleCollection(route) : handleSingle(route),
    });
  }
}

/**
 * fastify `frameworkErrors` handler (an app-level option: malformed percent-encoding in the path
 * fails before routing, so the plugin's error handler never sees it): answers with an imsx 400
 * instead of fastify's own error shape.
 */
export function imsxFrameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const status = typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  sendFailure(reply, status, 'invaliddata', error.code === 'FST_ERR_BAD_URL' ? 'Malformed URL: invalid percent-encoding' : error.message);
}

export interface OneRosterServerOptions extends Omit<OneRosterPluginOptions, 'dataset' | 'auth'> {
  /** What to serve: a dataset, or a record source wrapped in a `MemoryDataset`. */
  dataset?: Dataset;
  source?: RecordSource;
  /** Route prefix. Default `/ims/oneroster/v1p1`; e.g. `/district42/ims/oneroster/v1p1`. */
  prefix?: string;
  /** Default `{ mode: 'none' }`. */
  auth?: AuthOptions;
  /** fastify logger option; default false (student data: never log bodies). */
  logger?: FastifyServerOptions['logger'];
}

/**
 * A ready fastify app serving OneRoster under `prefix` plus, for OAuth 2, the token endpoint at
 * `auth.tokenPath` (default `/oauth/token`, outside the prefix). Call `listen` or `inject` on it.
 */
export async function createOneRosterServer(options: OneRosterServerOptions): Promise<FastifyInstance> {
  const dataset = options.dataset ?? (options.source ? new MemoryDataset(options.source) : undefined);
  if (!dataset) throw new Error('createOneRosterServer needs a dataset or a source');
  const app = Fastify({ logger: options.logger ?? false, frameworkErrors: imsxFrameworkErrors });
  const auth = new ProviderAuth(options.auth ?? { mode: 'none' });
  auth.registerTokenRoute(app);
  const { prefix = DEFAULT_PREFIX, source: _s, dataset: _d, auth: _a, logger: _l, ...rest } = options;
  await app.register(oneRosterPlugin, { ...rest, dataset, auth, prefix });
  return app;
}
