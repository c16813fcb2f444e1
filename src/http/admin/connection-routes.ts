/**
 * Connections: the onboarding wizard's API (provider, access, toggles, schedule), provider checks
 * ("test connection", before or after saving), and starting syncs in the background. Secrets are
 * write-only: stored sealed, never returned (`hasSecret` says whether one is stored).
 */
import { safeUrl } from '../../source/connection.ts';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import Type, { type Static } from 'typebox';
import { runProviderChecks, type CheckResult } from '../../sds/provider-checks.ts';
import type { Toggles } from '../../sds/toggles.ts';
import { storedAccess, updateSchedule } from '../../services/stored-connection.ts';
import { connectionConfig, type ProviderAccess } from '../../services/sync-service.ts';
import { OneRosterClient } from '../../source/oneroster-client.ts';
import type { Connection as StoredConnection } from '../../store/connection-repository.ts';
import { StoreError } from '../../store/errors.ts';
import { DEFAULT_TENANT_ID } from '../../store/tenant-repository.ts';
import { retentionDaysOf, scheduleOf, type ScheduleChange as Change } from '../../sync/schedule.ts';
import { decideDue, loadPastRuns } from '../../sync/scheduler.ts';
import { AdminError } from './admin-errors.ts';
import { listTenant, requireWrite, targetTenant, visibleConnection, type Principal } from './auth.ts';
import { checkSettings, inputOf, newConnectionOptions, updatedOptions, type ConnectionInput } from './connection-settings.ts';
import type { AdminContext } from './context.ts';
import { CheckResult as CheckRow, CheckTable, Connection, ConnectionCheck, ConnectionCreate, ConnectionPatch, errors, IdParam, ScheduleChange, ScheduleView, SyncStarted } from './schemas.ts';
import { errorMessage } from '../../error-info.ts';

const SyncBody = Type.Object(
  { mode: Type.Optional(Type.Union([Type.Literal('full'), Type.Literal('delta')])), dryRun: Type.Optional(Type.Boolean()) },
  { additionalProperties: false },
);
const ListQuery = Type.Object({ tenant: Type.Optional(Type.String({ maxLength: 100 })) });
const ConnectionDetail = Type.Object(
  {
    connection: Connection,
    records: Type.Record(Type.String(), Type.Unknown(), { description: 'live records per collection: {active, deleted}' }),
    schedule: ScheduleView,
  },
  { additionalProperties: true },
);

/** A connection's schedule, retention, next fires and what is due now. */
export async function scheduleView(ctx: AdminContext, c: StoredConnection, now = new Date()): Promise<Record<string, unknown>> {
  const schedule = scheduleOf(c);
  const out: Record<string, unknown> = { ...schedule, retentionDays: retentionDaysOf(c) };
  try {
    const past = await loadPastRuns(ctx.store, c.id);
    const d = decideDue({ schedule, runs: past.get(c.id) ?? [], now });
    if (d.nextFull) out.nextFull = d.nextFull.toISOString();
    if (d.nextDelta) out.nextDelta = d.nextDelta.toISOString();
    if (d.due) out.due = d.due;
    out.reason = d.reason;
  } catch (err) {
    out.error = errorMessage(err);
  }
  return out;
}

/** Runs the provider checks against `access`; aborted when the client goes away. */
async function runChecks(request: FastifyRequest, access: ProviderAccess, toggles: Toggles, courses: boolean): Promise<{ passed: boolean; checks: CheckResult[] }> {
  const abort = new AbortController();
  const onClose = (): void => abort.abort();
  request.raw.socket?.once('close', onClose);
  const client = new OneRosterClient(connectionConfig(access));
  try {
    const checks = await runProviderChecks(client, { toggles, courses, signal: abort.signal });
    return { passed: checks.every((c) => c.status !== 'fail'), checks };
  } finally {
    request.raw.socket?.off('close', onClose);
    await client.close();
  }
}

/** Registers the connection routes. */
export function connectionRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;

  const connectionOf = async (p: Principal, id: string): Promise<StoredConnection> =>
    await visibleConnection(store, p, id);

  const tenantFor = async (p: Principal, asked: string | undefined): Promise<string> => {
    const tenantId = targetTenant(p, asked, DEFAULT_TENANT_ID);
    if (!(await store.tenants.get(tenantId))) throw new AdminError('not_found', `tenant ${tenantId} does not exist`);
    return tenantId;
  };

  app.get(
    '/connections',
    { schema: { tags: ['connections'], summary: 'Connections (never their secrets)', querystring: ListQuery, response: { 200: Type.Object({ connections: Type.Array(Connection) }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const tenantId = listTenant(p, (request.query as Static<typeof ListQuery>).tenant);
      return { connections: await store.connections.list(tenantId !== undefined ? { tenantId } : {}) };
    },
  );

  app.post(
    '/connections',
    {
      schema: {
        tags: ['connections'],
        summary: 'Add a connection: provider, access (the secret is stored encrypted), toggles, schedule',
        body: ConnectionCreate,
        response: { 201: Type.Object({ connection: Connection, warnings: Type.Array(Type.String()) }), ...errors },
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      requireWrite(p);
      const body = request.body as Static<typeof ConnectionCreate>;
      const tenantId = await tenantFor(p, body.tenantId);
      const settings = await checkSettings(store, tenantId, body as ConnectionInput);
      const options = newConnectionOptions(settings, { ...(body.schedule ?? {}) } as Change);
      const connection = await store.connections.create({
        tenantId,
        name: body.name.trim(),
        baseUrl: settings.config.baseUrl,
        authKind: settings.config.auth.kind,
        options,
        ...(settings.secret !== undefined ? { secret: settings.secret } : {}),
      });
      await ctx.audit(p, 'connection.create', {
        tenantId,
        target: connection.id,
        details: { name: connection.name, provider: settings.provider.id, baseUrl: safeUrl(connection.baseUrl), authKind: connection.authKind, toggles: settings.toggles },
      });
      return reply.code(201).send({ connection, warnings: settings.warnings });
    },
  );

  app.post(
    '/connections/check',
    {
      schema: {
        tags: ['connections'],
        summary: 'Run the provider checks against settings that are not saved yet (the wizard\'s "test connection")',
        body: ConnectionCheck,
        response: { 200: Type.Object({ passed: Type.Boolean(), checks: Type.Array(CheckRow), warnings: Type.Array(Type.String()) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      requireWrite(p);
      const body = request.body as Static<typeof ConnectionCheck>;
      const tenantId = await tenantFor(p, body.tenantId);
      const settings = await checkSettings(store, tenantId, body as ConnectionInput);
      const result = await runChecks(request, settings.access, settings.toggles, settings.courses);
      await ctx.audit(p, 'connection.check', { tenantId, details: { provider: settings.provider.id, baseUrl: safeUrl(settings.config.baseUrl), passed: result.passed } });
      return { ...result, warnings: settings.warnings };
    },
  );

  app.get(
    '/connections/:id',
    { schema: { tags: ['connections'], summary: 'One connection with its record counts and schedule', params: IdParam, response: { 200: ConnectionDetail, ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const c = await connectionOf(p, (request.params as Static<typeof IdParam>).id);
      return { connection: c, records: await store.records.countLive(c.id), schedule: await scheduleView(ctx, c) };
    },
  );

  app.patch(
    '/connections/:id',
    {
      schema: {
        tags: ['connections'],
        summary: 'Change a connection\'s name, provider, access (a new secret replaces the stored one), toggles',
        params: IdParam,
        body: ConnectionPatch,
        response: { 200: Type.Object({ connection: Connection, warnings: Type.Array(Type.String()) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      requireWrite(p);
      const c = await connectionOf(p, (request.params as Static<typeof IdParam>).id);
      const body = request.body as Static<typeof ConnectionPatch>;
      const current = inputOf(c);
      const accessChanged = body.provider !== undefined || body.baseUrl !== undefined || body.auth !== undefined || body.toggles !== undefined || body.courses !== undefined
        || body.pageSize !== undefined || body.maxConcurrency !== undefined || body.requestsPerSecond !== undefined;
      let warnings: string[] = [];
      const patch: Parameters<typeof store.connections.update>[1] = {};
      if (body.name !== undefined) patch.name = body.name.trim();
      if (accessChanged) {
        const kind = body.auth?.kind ?? current.auth.kind;
        // Changing the auth kind starts the access settings over; otherwise new fields override stored ones.
        const auth: ConnectionInput['auth'] = body.auth === undefined ? current.auth : kind === current.auth.kind ? { ...current.auth, ...body.auth, kind } : { ...body.auth, kind };
        const merged: ConnectionInput = {
          ...current,
          ...(body.provider !== undefined ? { provider: body.provider } : {}),
          ...(body.baseUrl !== undefined ? { baseUrl: body.baseUrl } : {}),
          auth,
          toggles: { ...current.toggles, ...body.toggles },
          ...(body.courses !== undefined ? { courses: body.courses } : {}),
          ...(body.pageSize !== undefined ? { pageSize: body.pageSize } : {}),
          ...(body.maxConcurrency !== undefined ? { maxConcurrency: body.maxConcurrency } : {}),
          ...(body.requestsPerSecond !== undefined ? { requestsPerSecond: body.requestsPerSecond } : {}),
        };
        const newSecret = body.auth?.clientSecret !== undefined && body.auth.clientSecret !== '';
        const keptSecret = !newSecret && kind !== 'none' && kind === c.authKind && c.hasSecret;
        const settings = await checkSettings(store, c.tenantId, merged, { keptSecret, providerChanged: body.provider !== undefined && body.provider !== current.provider });
        warnings = settings.warnings;
        patch.baseUrl = settings.config.baseUrl;
        patch.authKind = settings.config.auth.kind;
        patch.options = updatedOptions(c.options, settings);
        if (kind === 'none') patch.secret = null;
        else if (newSecret) patch.secret = settings.secret!;
      }
      const connection = await store.connections.update(c.id, patch);
      await ctx.audit(p, 'connection.update', {
        tenantId: c.tenantId,
        target: c.id,
        details: { fields: Object.keys(body).filter((k) => k !== 'auth'), ...(body.auth ? { auth: Object.keys(body.auth).map((k) => (k === 'clientSecret' ? 'clientSecret (replaced)' : k)) } : {}) },
      });
      return { connection, warnings };
    },
  );

  app.delete(
    '/connections/:id',
    { schema: { tags: ['connections'], summary: 'Remove a connection and everything synced from it', params: IdParam, response: { 204: Type.Null(), ...errors } } },
    async (request, reply) => {
      const p = auth.principal(request);
      requireWrite(p);
      const c = await connectionOf(p, (request.params as Static<typeof IdParam>).id);
      const running = await store.runs.findRunning(c.id);
      if (running) throw new StoreError('run_in_progress', `connection ${c.id} has a running run (${running.id}); wait for it to end`);
      await store.connections.delete(c.id);
      await ctx.audit(p, 'connection.delete', { tenantId: c.tenantId, target: c.id, details: { name: c.name } });
      return reply.code(204).send();
    },
  );

  app.get(
    '/connections/:id/schedule',
    { schema: { tags: ['connections'], summary: 'Schedules, retention, next fires and what is due', params: IdParam, response: { 200: Type.Object({ schedule: ScheduleView }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const c = await connectionOf(p, (request.params as Static<typeof IdParam>).id);
      return { schedule: await scheduleView(ctx, c) };
    },
  );

  app.patch(
    '/connections/:id/schedule',
    {
      schema: {
        tags: ['connections'],
        summary: 'Change schedules (cron, time zone), turn them on or off, or the retention',
        params: IdParam,
        body: ScheduleChange,
        response: { 200: Type.Object({ schedule: ScheduleView }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      requireWrite(p);
      const c = await connectionOf(p, (request.params as Static<typeof IdParam>).id);
      const change = request.body as Change;
      const updated = await updateSchedule(store, c, change);
      await ctx.audit(p, 'connection.schedule', { tenantId: c.tenantId, target: c.id, details: { ...change } });
      return { schedule: await scheduleView(ctx, updated) };
    },
  );

  app.post(
    '/connections/:id/test',
    { schema: { tags: ['connections'], summary: 'Run the provider checks against the stored connection; returns the pass/fail table', params: IdParam, response: { 200: CheckTable, ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      requireWrite(p);
      const c = await connectionOf(p, (request.params as Static<typeof IdParam>).id);
      const target = await storedAccess(store, c);
      const result = await runChecks(request, target.access, target.toggles, target.optional.courses);
      await ctx.audit(p, 'connection.test', { tenantId: c.tenantId, target: c.id, details: { passed: result.passed, failed: result.checks.filter((x) => x.status === 'fail').map((x) => x.id) } });
      return result;
    },
  );

  app.post(
    '/connections/:id/sync',
    {
      schema: {
        tags: ['connections'],
        summary: 'Start a sync in the background (full or delta, or a dry run); follow it at links.events',
        params: IdParam,
        body: SyncBody,
        response: { 202: SyncStarted, ...errors },
      },
      // No body at all means the defaults (a full sync).
      preValidation: async (request) => {
        if (request.body === undefined || request.body === null) request.body = {};
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      requireWrite(p);
      const c = await connectionOf(p, (request.params as Static<typeof IdParam>).id);
      const body = (request.body ?? {}) as Static<typeof SyncBody>;
      const mode = body.mode ?? 'full';
      const target = await storedAccess(store, c);
      const run = await ctx.runs.start({ target, mode, dryRun: body.dryRun === true });
      await ctx.audit(p, 'connection.sync', { tenantId: c.tenantId, target: c.id, details: { runId: run.runId, mode, dryRun: body.dryRun === true } });
      return reply.code(202).send({
        runId: run.runId,
        connectionId: c.id,
        mode,
        dryRun: body.dryRun === true,
        links: { run: `/api/v1/runs/${run.runId}`, events: `/api/v1/runs/${run.runId}/events` },
      });
    },
  );

}
