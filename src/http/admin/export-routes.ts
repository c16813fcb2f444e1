/**
 * Exports and manual webhook delivery: the admin API equivalents of `rostersync export sds-csv`,
 * `rostersync export oneroster-csv [--since RUN]` and `rostersync webhook deliver` (the same
 * services). Exports are written to a temporary file, streamed as a zip, then removed.
 */
import { createReadStream } from 'node:fs';
import type { FastifyInstance, FastifyReply } from 'fastify';
import Type, { type Static } from 'typebox';
import { exportOneRosterZip, exportSdsFiles, tempExportFile, zipOfDirectory } from '../../services/export-service.ts';
import { deliverPendingWebhooks } from '../../services/webhook-service.ts';
import { isStoreError } from '../../store/errors.ts';
import { AdminError } from './admin-errors.ts';
import { requireWrite, visible, visibleConnection } from './auth.ts';
import type { AdminContext } from './context.ts';
import { errors, IdParam } from './schemas.ts';

const SinceQuery = Type.Object({ since: Type.Optional(Type.Integer({ minimum: 0, description: 'delta: rows changed by runs after this run; deletions as tobedeleted' })) });
const DeliverReport = Type.Object({ subscriberId: Type.String(), outcome: Type.String(), delivered: Type.Integer(), attempts: Type.Integer(), failures: Type.Integer() }, { additionalProperties: true });

/** Sends a finished file as a download and removes it afterwards. */
function sendFile(reply: FastifyReply, file: string, name: string, cleanup: () => Promise<void>): FastifyReply {
  const stream = createReadStream(file);
  stream.on('close', () => void cleanup());
  return reply.type('application/zip').header('content-disposition', `attachment; filename="${name}"`).send(stream);
}

/** Registers the export and delivery routes. */
export function exportRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;
  const connectionOf = async (request: { params: unknown }, p: ReturnType<typeof auth.principal>) => {
    const id = (request.params as Static<typeof IdParam>).id;
    return visibleConnection(store, p, id);
  };

  app.get(
    '/connections/:id/exports/sds-csv',
    { schema: { tags: ['exports'], summary: 'SDS v2.1 CSV files of the connection, as a zip', params: IdParam, response: errors } },
    async (request, reply) => {
      const p = auth.principal(request);
      const c = await connectionOf(request, p);
      const { file, cleanup } = await zipOfDirectory((dir) => exportSdsFiles(store, c, dir));
      await ctx.audit(p, 'export.sds_csv', { tenantId: c.tenantId, target: c.id });
      return sendFile(reply, file, `${c.id}-sds-csv.zip`, cleanup);
    },
  );

  app.get(
    '/connections/:id/exports/oneroster-csv',
    { schema: { tags: ['exports'], summary: 'OneRoster 1.1 CSV zip of the connection (bulk, or delta with ?since=RUN)', params: IdParam, querystring: SinceQuery, response: errors } },
    async (request, reply) => {
      const p = auth.principal(request);
      const c = await connectionOf(request, p);
      const since = (request.query as Static<typeof SinceQuery>).since;
      const { file, cleanup } = await tempExportFile('oneroster.zip');
      try {
        await exportOneRosterZip(store, c, file, since);
      } catch (err) {
        await cleanup();
        if (isStoreError(err, 'not_found', 'invalid_input')) throw new AdminError(err.code === 'not_found' ? 'not_found' : 'invalid_request', err.message);
        throw err;
      }
      await ctx.audit(p, 'export.oneroster_csv', { tenantId: c.tenantId, target: c.id, ...(since !== undefined ? { details: { since } } : {}) });
      return sendFile(reply, file, `${c.id}-oneroster${since !== undefined ? `-since-${since}` : ''}.zip`, cleanup);
    },
  );

  app.post(
    '/webhooks/:id/deliver',
    {
      schema: {
        tags: ['webhooks'],
        summary: 'Deliver pending events to this receiver now (as after each applied run)',
        params: IdParam,
        response: { 200: Type.Object({ reports: Type.Array(DeliverReport) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const id = (request.params as Static<typeof IdParam>).id;
      const w = visible(p, await store.webhooks.get(id), `webhook ${id}`);
      requireWrite(p);
      // Retries back off for minutes on a dead receiver: an API call waits one minute at most.
      const reports = await deliverPendingWebhooks(store, { subscriberId: w.id, signal: AbortSignal.timeout(60_000) }).catch((err: unknown) => {
        if ((err as { name?: string })?.name === 'TimeoutError' || (err as { name?: string })?.name === 'AbortError') return [];
        throw err;
      });
      await ctx.audit(p, 'webhook.deliver', { tenantId: w.tenantId, target: w.id });
      return { reports: reports.map((r) => ({ subscriberId: r.subscriberId, outcome: r.outcome, delivered: r.delivered, attempts: r.attempts, failures: r.failures })) };
    },
  );
}
