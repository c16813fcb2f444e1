/**
 * Webhook receivers and downstream API clients (issue 6's objects, managed here as the CLI's
 * `webhook` and `api-client` commands do). Signing secrets and client secrets are in the answer to
 * create/rotate only; the store keeps them sealed or hashed.
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { COLLECTIONS } from '../../oneroster/types.ts';
import { enableWebhook } from '../../services/webhook-service.ts';
import { API_SCOPES, type ApiClient as StoredClient } from '../../store/api-client-repository.ts';
import type { WebhookSubscriber } from '../../store/webhook-repository.ts';
import { AdminError } from './admin-errors.ts';
import { listTenant, requireWrite, targetTenant, visible, visibleConnection, type Principal } from './auth.ts';
import type { AdminContext } from './context.ts';
import { ApiClient, errors, IdParam, Webhook } from './schemas.ts';
import { DEFAULT_TENANT_ID } from '../../store/tenant-repository.ts';

const WebhookCreate = Type.Object(
  {
    url: Type.String({ minLength: 1, maxLength: 2000 }),
    tenantId: Type.Optional(Type.String({ maxLength: 100 })),
    connectionId: Type.Optional(Type.String({ maxLength: 200, description: 'only this connection\'s events (default: every connection of the tenant)' })),
    entities: Type.Optional(Type.Array(Type.Union(COLLECTIONS.map((c) => Type.Literal(c))), { minItems: 1 })),
  },
  { additionalProperties: false },
);
const ApiClientCreate = Type.Object(
  {
    connectionId: Type.String({ minLength: 1, maxLength: 200 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    scopes: Type.Optional(Type.Array(Type.Union(API_SCOPES.map((s) => Type.Literal(s))), { minItems: 1 })),
    oauth1: Type.Optional(Type.Boolean({ description: 'also accept OAuth 1.0a signatures (the secret is kept sealed)' })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object({ tenant: Type.Optional(Type.String({ maxLength: 100 })), connection: Type.Optional(Type.String({ maxLength: 200 })) });
const ClientQuery = Type.Object({ ...ListQuery.properties, all: Type.Optional(Type.Boolean({ description: 'include revoked clients' })) });
const Issued = Type.Object({ client: ApiClient, clientSecret: Type.String({ description: 'shown once' }) });

/** Registers the webhook and API-client routes. */
export function webhookRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;

  const connectionId = async (p: Principal, id: string | undefined): Promise<string | undefined> =>
    id === undefined ? undefined : (await visibleConnection(store, p, id)).id;
  const webhookOf = async (p: Principal, id: string): Promise<WebhookSubscriber> => visible(p, await store.webhooks.get(id), `webhook ${id}`);
  const clientOf = async (p: Principal, id: string): Promise<StoredClient> => visible(p, await store.apiClients.get(id), `API client ${id}`);

  app.get(
    '/webhooks',
    { schema: { tags: ['webhooks'], summary: 'Webhook receivers with their delivery state', querystring: ListQuery, response: { 200: Type.Object({ webhooks: Type.Array(Webhook) }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof ListQuery>;
      const tenantId = listTenant(p, q.tenant);
      const conn = await connectionId(p, q.connection);
      let list = await store.webhooks.list({ ...(tenantId !== undefined ? { tenantId } : {}) });
      if (conn !== undefined) list = list.filter((w) => w.connectionId === conn);
      return { webhooks: list };
    },
  );

  app.post(
    '/webhooks',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Add a receiver; its signing secret is in this answer only',
        body: WebhookCreate,
        response: { 201: Type.Object({ webhook: Webhook, secret: Type.String({ description: 'shown once' }) }), ...errors },
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      requireWrite(p);
      const body = request.body as Static<typeof WebhookCreate>;
      const conn = await connectionId(p, body.connectionId);
      const connTenant = conn !== undefined ? (await store.connections.get(conn))!.tenantId : undefined;
      const tenantId = targetTenant(p, body.tenantId ?? connTenant, DEFAULT_TENANT_ID);
      if (connTenant !== undefined && connTenant !== tenantId) throw new AdminError('not_found', `connection ${body.connectionId} does not exist in tenant ${tenantId}`);
      if (!(await store.tenants.get(tenantId))) throw new AdminError('not_found', `tenant ${tenantId} does not exist`);
      const { subscriber, secret } = await store.webhooks.create({
        url: body.url,
        tenantId,
        ...(conn !== undefined ? { connectionId: conn } : {}),
        ...(body.entities ? { entities: body.entities } : {}),
      });
      let host = '';
      try {
        host = new URL(subscriber.url).host;
      } catch {
        // checked by the repository
      }
      await ctx.audit(p, 'webhook.create', { tenantId, target: subscriber.id, details: { host, ...(conn !== undefined ? { connectionId: conn } : {}), entities: subscriber.entities ?? 'all' } });
      return reply.code(201).header('cache-control', 'no-store').send({ webhook: subscriber, secret });
    },
  );

  app.get(
    '/webhooks/:id',
    { schema: { tags: ['webhooks'], summary: 'One receiver', params: IdParam, response: { 200: Type.Object({ webhook: Webhook }), ...errors } } },
    async (request) => ({ webhook: await webhookOf(auth.principal(request), (request.params as Static<typeof IdParam>).id) }),
  );

  app.delete(
    '/webhooks/:id',
    { schema: { tags: ['webhooks'], summary: 'Remove a receiver', params: IdParam, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      const w = await webhookOf(p, (request.params as Static<typeof IdParam>).id);
      requireWrite(p);
      await store.webhooks.remove(w.id);
      await ctx.audit(p, 'webhook.delete', { tenantId: w.tenantId, target: w.id });
      return reply.code(204).send();
    },
  );

  app.post(
    '/webhooks/:id/enable',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Re-enable a disabled receiver (after an expired cursor, from the oldest retained change)',
        params: IdParam,
        response: { 200: Type.Object({ webhook: Webhook, movedCursorTo: Type.Optional(Type.Integer()) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const w = await webhookOf(p, (request.params as Static<typeof IdParam>).id);
      requireWrite(p);
      const { subscriber, movedCursorTo } = await enableWebhook(store, w.id);
      await ctx.audit(p, 'webhook.enable', { tenantId: w.tenantId, target: w.id, ...(movedCursorTo !== undefined ? { details: { movedCursorTo } } : {}) });
      return { webhook: subscriber, ...(movedCursorTo !== undefined ? { movedCursorTo } : {}) };
    },
  );

  // ---- API clients of the re-served OneRoster API ----

  app.get(
    '/api-clients',
    { schema: { tags: ['api-clients'], summary: 'Downstream API clients (never their secrets)', querystring: ClientQuery, response: { 200: Type.Object({ clients: Type.Array(ApiClient) }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof ClientQuery>;
      const tenantId = listTenant(p, q.tenant);
      const conn = await connectionId(p, q.connection);
      const clients = await store.apiClients.list({ ...(tenantId !== undefined ? { tenantId } : {}), ...(conn !== undefined ? { connectionId: conn } : {}), includeRevoked: q.all === true });
      return { clients };
    },
  );

  app.post(
    '/api-clients',
    {
      schema: {
        tags: ['api-clients'],
        summary: 'Add a client reading one connection; its secret is in this answer only',
        body: ApiClientCreate,
        response: { 201: Issued, ...errors },
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      requireWrite(p);
      const body = request.body as Static<typeof ApiClientCreate>;
      const conn = (await connectionId(p, body.connectionId))!;
      const issued = await store.apiClients.create({ connectionId: conn, name: body.name, scopes: body.scopes ?? ['roster-core', 'roster'], oauth1: body.oauth1 === true });
      await ctx.audit(p, 'api_client.create', { tenantId: issued.client.tenantId, target: issued.client.id, details: { name: issued.client.name, connectionId: conn, scopes: issued.client.scopes, oauth1: issued.client.oauth1 } });
      return reply.code(201).header('cache-control', 'no-store').send(issued);
    },
  );

  app.get(
    '/api-clients/:id',
    { schema: { tags: ['api-clients'], summary: 'One client (by id or client id)', params: IdParam, response: { 200: Type.Object({ client: ApiClient }), ...errors } } },
    async (request) => ({ client: await clientOf(auth.principal(request), (request.params as Static<typeof IdParam>).id) }),
  );

  app.post(
    '/api-clients/:id/rotate',
    { schema: { tags: ['api-clients'], summary: 'Replace a client\'s secret (the old one stops working); the new one is in this answer only', params: IdParam, response: { 200: Issued, ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      const c = await clientOf(p, (request.params as Static<typeof IdParam>).id);
      requireWrite(p);
      const issued = await store.apiClients.rotate(c.id);
      await ctx.audit(p, 'api_client.rotate', { tenantId: c.tenantId, target: c.id });
      return reply.header('cache-control', 'no-store').send(issued);
    },
  );

  app.post(
    '/api-clients/:id/revoke',
    { schema: { tags: ['api-clients'], summary: 'Revoke a client: its tokens and signatures are refused from now on', params: IdParam, response: { 200: Type.Object({ client: ApiClient }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const c = await clientOf(p, (request.params as Static<typeof IdParam>).id);
      requireWrite(p);
      const client = await store.apiClients.revoke(c.id);
      await ctx.audit(p, 'api_client.revoke', { tenantId: c.tenantId, target: c.id });
      return { client };
    },
  );
}
