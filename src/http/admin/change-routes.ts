/**
 * The change history (as `rostersync changes --json`: one event per applied change, full values:
 * the tenant's own data for its admins) and the audit log of admin actions.
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { COLLECTIONS } from '../../oneroster/types.ts';
import { toChangeEvent } from '../../services/change-feed.ts';
import type { ChangeQuery } from '../../store/change-repository.ts';
import { AdminError } from './admin-errors.ts';
import { listTenant, visible, visibleConnection } from './auth.ts';
import type { AdminContext } from './context.ts';
import { AuditEntry, ChangeEvent, errors } from './schemas.ts';

const ChangeQuerySchema = Type.Object({
  tenant: Type.Optional(Type.String({ maxLength: 100 })),
  connection: Type.Optional(Type.String({ maxLength: 200 })),
  run: Type.Optional(Type.Integer({ minimum: 1 })),
  entity: Type.Optional(Type.Union(COLLECTIONS.map((c) => Type.Literal(c)))),
  sourcedId: Type.Optional(Type.String({ maxLength: 1000 })),
  since: Type.Optional(Type.String({ maxLength: 40, description: 'ISO date or time: changes applied at or after it, oldest first' })),
  after: Type.Optional(Type.Integer({ minimum: 0, description: 'seq: changes after it, oldest first' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000 })),
});
const AuditQuery = Type.Object({
  tenant: Type.Optional(Type.String({ maxLength: 100 })),
  action: Type.Optional(Type.String({ maxLength: 100 })),
  actor: Type.Optional(Type.String({ maxLength: 100 })),
  target: Type.Optional(Type.String({ maxLength: 200 })),
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'seq: entries older than it (paging backwards)' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});

/** Registers the change-history and audit-log routes. */
export function changeRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;

  app.get(
    '/changes',
    {
      schema: {
        tags: ['changes'],
        summary: 'Applied changes, field by field; without since/after the latest N (oldest of them first)',
        querystring: ChangeQuerySchema,
        response: { 200: Type.Object({ changes: Type.Array(ChangeEvent), next: Type.Optional(Type.Integer({ description: 'pass as after= for the next page (forward reads)' })) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof ChangeQuerySchema>;
      const limit = q.limit ?? 50;
      const query: ChangeQuery = { limit };
      const tenantId = listTenant(p, q.tenant);
      if (tenantId !== undefined) query.tenantId = tenantId;
      if (q.connection !== undefined) query.connectionId = (await visibleConnection(store, p, q.connection)).id;
      if (q.run !== undefined) query.runId = visible(p, await store.runs.get(q.run), `run ${q.run}`).id;
      if (q.entity !== undefined) query.entity = q.entity;
      if (q.sourcedId !== undefined) query.sourcedId = q.sourcedId;
      if (q.since !== undefined) {
        const t = /^\d{4}-\d{2}-\d{2}/.test(q.since) ? Date.parse(q.since) : Number.NaN;
        if (Number.isNaN(t)) throw new AdminError('invalid_request', `since must be an ISO date or time (2026-03-01, 2026-03-01T08:00:00Z), got "${q.since}"`);
        query.since = new Date(t).toISOString();
      }
      if (q.after !== undefined) query.afterSeq = q.after;
      const forward = q.since !== undefined || q.after !== undefined;
      const rows = forward ? await store.changes.list(query) : (await store.changes.list({ ...query, order: 'desc' })).reverse();
      const changes = rows.map(toChangeEvent);
      return { changes, ...(forward && rows.length === limit ? { next: rows[rows.length - 1]!.seq } : {}) };
    },
  );

  app.get(
    '/audit',
    {
      schema: {
        tags: ['audit'],
        summary: 'The audit log of admin actions, newest first (a tenant admin or viewer sees their tenant\'s)',
        querystring: AuditQuery,
        response: { 200: Type.Object({ entries: Type.Array(AuditEntry), next: Type.Optional(Type.Integer({ description: 'pass as before= for older entries' })) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof AuditQuery>;
      const tenantId = listTenant(p, q.tenant);
      const limit = q.limit ?? 100;
      const entries = await store.audit.list({
        ...(tenantId !== undefined ? { tenantId } : {}),
        ...(q.action !== undefined ? { action: q.action } : {}),
        ...(q.actor !== undefined ? { actor: q.actor } : {}),
        ...(q.target !== undefined ? { target: q.target } : {}),
        ...(q.before !== undefined ? { beforeSeq: q.before } : {}),
        limit,
      });
      return { entries, ...(entries.length === limit ? { next: entries[entries.length - 1]!.seq } : {}) };
    },
  );
}
