/**
 * Runs (list, detail, error report as JSON or CSV, plan), their live progress as server-sent
 * events, and holds (list with the planned deletions, approve → re-run, discard).
 */
import type { FastifyInstance } from 'fastify';
import Type, { type Static } from 'typebox';
import { discardHold, pendingHold, runPlan } from '../../services/hold-service.ts';
import { buildIssueReport, reportCsv, type IssueReport } from '../../services/issue-report.ts';
import { storedAccess } from '../../services/stored-connection.ts';
import type { StoredIssue } from '../../store/issue-repository.ts';
import { RUN_STATUSES, type Run as StoredRun, type RunStatus } from '../../store/run-repository.ts';
import { actorOf, listTenant, requireWrite, visible, visibleConnection, type Principal } from './auth.ts';
import type { AdminContext } from './context.ts';
import { checkpointProgress } from '../../sync/full-sync.ts';
import type { RunEvent } from './run-tracker.ts';
import { errors, Run, RunIdParam, SyncStarted } from './schemas.ts';

const RunQuery = Type.Object({
  tenant: Type.Optional(Type.String({ maxLength: 100 })),
  connection: Type.Optional(Type.String({ maxLength: 200 })),
  status: Type.Optional(Type.Union(RUN_STATUSES.map((s) => Type.Literal(s)))),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
const ReportQuery = Type.Object({
  severity: Type.Optional(Type.Union([Type.Literal('error'), Type.Literal('warning')])),
  rule: Type.Optional(Type.String({ maxLength: 200 })),
  entity: Type.Optional(Type.String({ maxLength: 100 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: 'rows (the summary is always complete)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0 })),
});
const PlanQuery = Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000, description: 'rows per entity and kind (default 20)' })) });
const HoldQuery = Type.Object({
  tenant: Type.Optional(Type.String({ maxLength: 100 })),
  connection: Type.Optional(Type.String({ maxLength: 200 })),
  rows: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: 'planned deletions shown per hold (default 5)' })),
});
const Plan = Type.Object({ runId: Type.Integer(), counts: Type.Unknown(), changes: Type.Array(Type.Unknown()), truncated: Type.Boolean() }, { additionalProperties: true });
const Report = Type.Object(
  { run: Type.Unknown(), totals: Type.Unknown(), summary: Type.Array(Type.Unknown()), rows: Type.Array(Type.Unknown()), notListed: Type.Integer() },
  { additionalProperties: true },
);

/** Page size of `store.issues.list` (its maximum). */
const ISSUE_PAGE = 10_000;

/** Registers the run and hold routes. */
export function runRoutes(app: FastifyInstance, ctx: AdminContext): void {
  const { store, auth } = ctx;

  const runOf = async (p: Principal, id: number): Promise<StoredRun> => visible(p, await store.runs.get(id), `run ${id}`);

  const connectionFilter = async (p: Principal, id: string | undefined): Promise<string | undefined> => {
    if (id === undefined) return undefined;
    return (await visibleConnection(store, p, id)).id;
  };

  const report = async (run: StoredRun): Promise<IssueReport> => {
    const all: StoredIssue[] = [];
    for (let offset = 0; ; offset += ISSUE_PAGE) {
      const page = await store.issues.list(run.id, { limit: ISSUE_PAGE, offset });
      all.push(...page);
      if (page.length < ISSUE_PAGE) break;
    }
    return buildIssueReport(run, all);
  };

  app.get(
    '/runs',
    { schema: { tags: ['runs'], summary: 'Runs, newest first', querystring: RunQuery, response: { 200: Type.Object({ runs: Type.Array(Run) }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof RunQuery>;
      const tenantId = listTenant(p, q.tenant);
      const connectionId = await connectionFilter(p, q.connection);
      const runs = await store.runs.list({
        ...(tenantId !== undefined ? { tenantId } : {}),
        ...(connectionId !== undefined ? { connectionId } : {}),
        ...(q.status !== undefined ? { status: q.status as RunStatus } : {}),
        limit: q.limit ?? 20,
      });
      return { runs };
    },
  );

  app.get(
    '/runs/:id',
    { schema: { tags: ['runs'], summary: 'One run: status, per-entity counts, requests, issue counts', params: RunIdParam, response: { 200: Type.Object({ run: Run }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      return { run: await runOf(p, (request.params as Static<typeof RunIdParam>).id) };
    },
  );

  app.get(
    '/runs/:id/report',
    {
      schema: {
        tags: ['runs'],
        summary: 'The run\'s data-issue report: summary by rule (most frequent first), then the rows (values masked)',
        params: RunIdParam,
        querystring: ReportQuery,
        response: { 200: Report, ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const run = await runOf(p, (request.params as Static<typeof RunIdParam>).id);
      const q = request.query as Static<typeof ReportQuery>;
      const r = await report(run);
      let rows = r.rows.filter((x) => (q.severity === undefined || x.severity === q.severity) && (q.rule === undefined || x.rule === q.rule) && (q.entity === undefined || x.entity === q.entity));
      const total = rows.length;
      rows = rows.slice(q.offset ?? 0, (q.offset ?? 0) + (q.limit ?? rows.length));
      return { ...r, rows, matched: total };
    },
  );

  app.get(
    '/runs/:id/report.csv',
    {
      schema: {
        tags: ['runs'],
        summary: 'The report rows as CSV, for the SIS vendor (spreadsheet-safe cells)',
        params: RunIdParam,
        response: { 200: { description: 'CSV', content: { 'text/csv': { schema: Type.String() } } }, ...errors },
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      const run = await runOf(p, (request.params as Static<typeof RunIdParam>).id);
      const csv = reportCsv(await report(run));
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="rostersync-run-${run.id}-issues.csv"`)
        .header('cache-control', 'no-store')
        .send(csv);
    },
  );

  app.get(
    '/runs/:id/plan',
    { schema: { tags: ['runs'], summary: 'What a held or dry run planned: counts per entity and kind, first rows with field diffs', params: RunIdParam, querystring: PlanQuery, response: { 200: Type.Object({ plan: Plan }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const run = await runOf(p, (request.params as Static<typeof RunIdParam>).id);
      return { plan: await runPlan(store, run.id, { limit: (request.query as Static<typeof PlanQuery>).limit ?? 20 }) };
    },
  );

  app.get(
    '/runs/:id/events',
    {
      schema: {
        tags: ['runs'],
        summary: 'Server-sent events: `run` (the record), `progress` per collection while it runs, then `done` (the final record)',
        params: RunIdParam,
        response: { 200: { description: 'text/event-stream', content: { 'text/event-stream': { schema: Type.String() } } }, ...errors },
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      const id = (request.params as Static<typeof RunIdParam>).id;
      const run = await runOf(p, id);
      const stream = ctx.sse.open(reply, { keepAliveMs: ctx.sseKeepAliveMs });
      stream.send('run', run);
      const done = async (): Promise<void> => {
        if (stream.closed) return;
        const final = await store.runs.get(id).catch(() => undefined);
        stream.send('done', final ?? { id, status: 'unknown' });
        stream.close();
      };
      const tracked = ctx.runs.get(id);
      if (tracked) {
        for (const progress of tracked.progress.values()) stream.send('progress', progress);
        if (tracked.outcome) return void (await done());
        const unsubscribe = ctx.runs.subscribe(id, (e: RunEvent) => {
          if (e.type === 'progress') stream.send('progress', e.progress);
          else void done();
        });
        stream.onClose(unsubscribe);
        return;
      }
      if (run.status !== 'running') return void (await done());
      // Run by the scheduler or another process (a worker): no progress feed here, so the record and
      // the run's staging checkpoints (one per staged page) are polled.
      const sent = new Map<string, string>();
      let busy = false;
      const poll = async (): Promise<void> => {
        if (busy || stream.closed) return;
        busy = true;
        try {
          const r = await store.runs.get(id);
          if (!r || r.status !== 'running') return void (await done());
          for (const [c, text] of await store.staging.checkpoints(id)) {
            const progress = checkpointProgress(c, text);
            if (progress === undefined) continue;
            const key = `${progress.pages}/${progress.records}/${progress.done}`;
            if (sent.get(c) === key) continue;
            sent.set(c, key);
            stream.send('progress', progress);
          }
        } catch {
          // The next poll tries again; the stream stays open.
        } finally {
          busy = false;
        }
      };
      void poll();
      const timer = setInterval(() => void poll(), ctx.runPollMs);
      stream.onClose(() => clearInterval(timer));
    },
  );

  // ---- holds ----

  app.get(
    '/holds',
    {
      schema: {
        tags: ['holds'],
        summary: 'Runs held by the safeguards, waiting for approve or discard, with their planned deletions',
        querystring: HoldQuery,
        response: { 200: Type.Object({ holds: Type.Array(Type.Object({ run: Run, plan: Plan })) }), ...errors },
      },
    },
    async (request) => {
      const p = auth.principal(request);
      const q = request.query as Static<typeof HoldQuery>;
      const tenantId = listTenant(p, q.tenant);
      const connectionId = await connectionFilter(p, q.connection);
      const runs = await store.runs.pendingHolds({ ...(tenantId !== undefined ? { tenantId } : {}), ...(connectionId !== undefined ? { connectionId } : {}) });
      const holds = [];
      for (const run of runs) holds.push({ run, plan: await runPlan(store, run.id, { limit: q.rows ?? 5, kinds: ['deleted'] }) });
      return { holds };
    },
  );

  app.post(
    '/holds/:id/approve',
    {
      schema: {
        tags: ['holds'],
        summary: 'Approve a held run: re-runs the sync in the background, applying at most what the hold planned',
        params: RunIdParam,
        response: { 202: SyncStarted, ...errors },
      },
    },
    async (request, reply) => {
      const p = auth.principal(request);
      const id = (request.params as Static<typeof RunIdParam>).id;
      await runOf(p, id);
      requireWrite(p);
      const held = await pendingHold(store, id);
      const target = await storedAccess(store, held.connectionId);
      const mode = held.mode === 'delta' ? 'delta' : 'full';
      const run = await ctx.runs.start({ target, mode, approveRun: held.id, approvedBy: actorOf(p) });
      await ctx.audit(p, 'hold.approve', { tenantId: held.tenantId, target: String(held.id), details: { connectionId: held.connectionId, rerun: run.runId } });
      return reply.code(202).send({
        runId: run.runId,
        connectionId: held.connectionId,
        mode,
        dryRun: false,
        approvalOf: held.id,
        links: { run: `/api/v1/runs/${run.runId}`, events: `/api/v1/runs/${run.runId}/events` },
      });
    },
  );

  app.post(
    '/holds/:id/discard',
    { schema: { tags: ['holds'], summary: 'Discard a held run: nothing of it is applied and its plan is dropped', params: RunIdParam, response: { 200: Type.Object({ run: Run }), ...errors } } },
    async (request) => {
      const p = auth.principal(request);
      const id = (request.params as Static<typeof RunIdParam>).id;
      const held = await runOf(p, id);
      requireWrite(p);
      await discardHold(store, id, actorOf(p));
      await ctx.audit(p, 'hold.discard', { tenantId: held.tenantId, target: String(id), details: { connectionId: held.connectionId } });
      return { run: (await store.runs.get(id))! };
    },
  );
}
