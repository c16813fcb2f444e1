/**
 * Tenants, their provider flights, and the SDS provider catalog as a tenant sees it. Creating and
 * renaming tenants and flighting Test providers are installation-admin actions (in SDS a flight is
 * granted to the installation by the operator, not chosen by a district); everyone reads what their
 * scope covers.
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { CAPABILITIES, filterProviders, findProvider, formatSetupGuide, type Capability, type Provider as CatalogProvider } from '../../sds/provider-catalog.ts';
import { canChoose, effectiveStatus, toggleStates, type ChoiceContext } from '../../sds/toggles.ts';
import { StoreError } from '../../store/errors.ts';
import { DEFAULT_TENANT_ID, type Tenant as StoredTenant } from '../../store/tenant-repository.ts';
import { AdminError } from './admin-errors.ts';
import { actorOf, canSee, listTenant, requireInstallationAdmin, tenantScope, type Principal } from './auth.ts';
import type { AdminContext } from './context.ts';
import { errors, Flight, FlightParam, Provider, Tenant, TenantParam } from './schemas.ts';

const TenantCreate = Type.Object({ id: Type.String({ minLength: 1, maxLength: 63 }), name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const TenantRename = Type.Object({ name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
const ProviderQuery = Type.Object({
  tenant: Type.Optional(Type.String({ maxLength: 100, description: 'whose flights count (default: yours, or "default")' })),
  status: Type.Optional(Type.Union([Type.Literal('Yes'), Type.Literal('Test'), Type.Literal('No'), Type.Literal('not-listed')])),
  supports: Type.Optional(Type.Union(CAPABILITIES.map((c) => Type.Literal(c)))),
});
const ProviderParam = Type.Object({ id: Type.String({ minLength: 1, maxLength: 200 }) });
const ProviderDetail = Type.Object(
  {
    provider: Provider,
    setupGuide: Type.String({ description: 'plain-text setup guide (as `rostersync providers show`)' }),
    toggles: Type.Array(Type.Object({ toggle: Type.String(), available: Type.Boolean(), defaultOn: Type.Boolean(), reason: Type.Optional(Type.String()) })),
  },
  { additionalProperties: true },
);

/** A catalog entry with the tenant's flight state and whether a connection may choose it. */
export function providerView(p: CatalogProvider, state: ChoiceContext): Record<string, unknown> {
  const choice = canChoose(p, state);
  const status = effectiveStatus(p, state.promoted);
  return {
    ...p,
    ...(status !== undefined ? { effectiveStatus: status } : {}),
    flighted: state.flighted.has(p.id),
    promoted: p.status === 'Test' && state.promoted.has(p.id),
    selectable: choice.ok,
    ...(!choice.ok ? { reason: choice.reason } : {}),
  };
}

/** Registers the tenant, flight and provider routes. */
export function tenantRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;

  const tenantOf = async (p: Principal, id: string): Promise<StoredTenant> => {
    const t = canSee(p, id) ? await store.tenants.get(id) : undefined;
    if (!t) throw new AdminError('not_found', `tenant ${id} does not exist`);
    return t;
  };

  app.get(
    '/tenants',
    { schema: { tags: ['tenants'], summary: 'Tenants (a tenant admin or viewer sees their own)', response: { 200: Type.Object({ tenants: Type.Array(Tenant) }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const scope = tenantScope(p);
      const all = await store.tenants.list();
      return { tenants: scope === undefined ? all : all.filter((t) => t.id === scope) };
    },
  );

  app.post(
    '/tenants',
    { schema: { tags: ['tenants'], summary: 'Create a tenant (installation admins)', body: TenantCreate, response: { 201: Type.Object({ tenant: Tenant }), ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      requireInstallationAdmin(p);
      const body = request.body as Static<typeof TenantCreate>;
      const tenant = await store.tenants.create({ id: body.id, name: body.name.trim() });
      await ctx.audit(p, 'tenant.create', { tenantId: tenant.id, target: tenant.id, details: { name: tenant.name } });
      return reply.code(201).send({ tenant });
    },
  );

  app.get(
    '/tenants/:tenantId',
    { schema: { tags: ['tenants'], summary: 'One tenant', params: TenantParam, response: { 200: Type.Object({ tenant: Tenant }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      return { tenant: await tenantOf(p, (request.params as Static<typeof TenantParam>).tenantId) };
    },
  );

  app.patch(
    '/tenants/:tenantId',
    { schema: { tags: ['tenants'], summary: 'Rename a tenant (installation admins)', params: TenantParam, body: TenantRename, response: { 200: Type.Object({ tenant: Tenant }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const { tenantId } = request.params as Static<typeof TenantParam>;
      const before = await tenantOf(p, tenantId);
      requireInstallationAdmin(p);
      const name = (request.body as Static<typeof TenantRename>).name.trim();
      // TenantRepository has no rename yet; one UPDATE of the name column.
      const res = await store.db.updateTable('tenants').set({ name }).where('id', '=', tenantId).executeTakeFirst();
      if (Number(res.numUpdatedRows) === 0) throw new StoreError('not_found', `tenant ${tenantId} does not exist`);
      await ctx.audit(p, 'tenant.rename', { tenantId, target: tenantId, details: { from: before.name, to: name } });
      return { tenant: { ...before, name } };
    },
  );

  app.get(
    '/tenants/:tenantId/flights',
    { schema: { tags: ['providers'], summary: 'Test providers flighted for a tenant', params: TenantParam, response: { 200: Type.Object({ flights: Type.Array(Flight) }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const t = await tenantOf(p, (request.params as Static<typeof TenantParam>).tenantId);
      return { flights: await store.providerStates.flights(t.id) };
    },
  );

  const testProvider = (id: string): CatalogProvider => {
    const provider = findProvider(id);
    if (!provider) throw new AdminError('not_found', `provider ${id.slice(0, 80)} does not exist`);
    if (provider.status !== 'Test') throw new AdminError('invalid_request', `${provider.name} has SDS status ${provider.status ?? 'not listed'}; only Test providers are flighted`);
    return provider;
  };

  app.put(
    '/tenants/:tenantId/flights/:providerId',
    { schema: { tags: ['providers'], summary: 'Flight a Test provider for a tenant (installation admins)', params: FlightParam, response: { 200: Type.Object({ flight: Flight, created: Type.Boolean() }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const params = request.params as Static<typeof FlightParam>;
      const t = await tenantOf(p, params.tenantId);
      requireInstallationAdmin(p);
      const provider = testProvider(params.providerId);
      const { created, flight } = await store.providerStates.flight(provider.id, t.id, actorOf(p));
      if (created) await ctx.audit(p, 'provider.flight', { tenantId: t.id, target: provider.id });
      return { flight, created };
    },
  );

  app.delete(
    '/tenants/:tenantId/flights/:providerId',
    { schema: { tags: ['providers'], summary: 'Remove a flight (existing connections keep working)', params: FlightParam, response: { 200: Type.Object({ removed: Type.Boolean() }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const params = request.params as Static<typeof FlightParam>;
      const t = await tenantOf(p, params.tenantId);
      requireInstallationAdmin(p);
      const provider = testProvider(params.providerId);
      const removed = await store.providerStates.unflight(provider.id, t.id);
      if (removed) await ctx.audit(p, 'provider.unflight', { tenantId: t.id, target: provider.id });
      return { removed };
    },
  );

  const stateFor = async (p: Principal, asked: string | undefined): Promise<ChoiceContext> => {
    const tenantId = listTenant(p, asked) ?? DEFAULT_TENANT_ID;
    if (!(await store.tenants.get(tenantId))) throw new AdminError('not_found', `tenant ${tenantId} does not exist`);
    return store.providerStates.state(tenantId);
  };

  app.get(
    '/providers',
    {
      schema: {
        tags: ['providers'],
        summary: 'The SDS OneRoster provider catalog, with the tenant\'s flights and whether each can be chosen',
        querystring: ProviderQuery,
        response: { 200: Type.Object({ providers: Type.Array(Provider) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof ProviderQuery>;
      const state = await stateFor(p, q.tenant);
      const list = filterProviders({ ...(q.supports !== undefined ? { supports: q.supports as Capability } : {}), includeCustom: q.status === undefined && q.supports === undefined });
      const wanted = q.status;
      const shown = list.filter((x) => x.custom || wanted === undefined || (effectiveStatus(x, state.promoted) ?? 'not-listed') === wanted);
      return { providers: shown.map((x) => providerView(x, state)) };
    },
  );

  app.get(
    '/providers/:id',
    { schema: { tags: ['providers'], summary: 'One provider with its setup guide and toggles', params: ProviderParam, querystring: Type.Object({ tenant: Type.Optional(Type.String({ maxLength: 100 })) }), response: { 200: ProviderDetail, ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const id = (request.params as Static<typeof ProviderParam>).id;
      const provider = findProvider(id);
      if (!provider) throw new AdminError('not_found', `provider ${id.slice(0, 80)} does not exist`);
      const state = await stateFor(p, (request.query as { tenant?: string }).tenant);
      return { provider: providerView(provider, state), setupGuide: formatSetupGuide(provider), toggles: toggleStates(provider) };
    },
  );
}
