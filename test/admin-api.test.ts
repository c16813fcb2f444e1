/**
 * The admin API across modules: tenant isolation on every endpoint (table-driven, and the table
 * must cover every route the server registers), a sync started over the API against the simulator
 * with its live progress stream, holds approved and discarded over the API, and the audit trail.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { ADMIN_PASSWORD, as, login, readEvents, startAdmin, tokenCaller, type Caller } from '../src/http/admin/test-support.ts';
import { startSimulator } from '../src/simulate/server.ts';
import { emptyIssueSummary } from '../src/store/run-repository.ts';
import type { Store } from '../src/store/store.ts';

const PASSWORD = 'a long enough password';

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** One request of the isolation table. */
interface Probe {
  /** `METHOD /api/v1/path/{param}` as the OpenAPI document names the route. */
  route: string;
  method: Method;
  url: string;
  payload?: unknown;
  /** A list (or own-account) answer: 200, and none of tenant A's ids in it. Otherwise 403 or 404. */
  list?: boolean;
}

/** Tenant A's objects, created by an installation admin (API where it exists, the store for run data). */
async function seedTenantA(app: FastifyInstance, store: Store, root: Caller) {
  const ok = async (req: { method: Method; url: string; payload?: unknown }, status = 201): Promise<Record<string, any>> => {
    const r = await as(app, root, req as never);
    assert.equal(r.statusCode, status, `${req.method} ${req.url}: ${r.body}`);
    return r.json() as Record<string, any>;
  };
  await ok({ method: 'POST', url: '/api/v1/tenants', payload: { id: 'tenant-a', name: 'Tenant A' } });
  await ok({ method: 'POST', url: '/api/v1/tenants', payload: { id: 'tenant-b', name: 'Tenant B' } });
  const conn = (await ok({
    method: 'POST',
    url: '/api/v1/connections',
    payload: { tenantId: 'tenant-a', name: 'a-private-sis', baseUrl: 'https://sis-a.example/ims/oneroster/v1p1', auth: { kind: 'oauth2', clientId: 'a-client', clientSecret: 'a-secret-value', tokenUrl: 'https://sis-a.example/token' } },
  })).connection as { id: string };
  const users: Record<string, string> = {};
  for (const [username, role, tenantId] of [
    ['a-admin', 'tenant_admin', 'tenant-a'],
    ['a-viewer', 'viewer', 'tenant-a'],
    ['b-admin', 'tenant_admin', 'tenant-b'],
    ['b-viewer', 'viewer', 'tenant-b'],
  ] as const) {
    users[username] = ((await ok({ method: 'POST', url: '/api/v1/users', payload: { username, password: PASSWORD, role, tenantId } })).user as { id: string }).id;
  }
  const webhook = ((await ok({ method: 'POST', url: '/api/v1/webhooks', payload: { url: 'https://hooks-a.example/in', connectionId: conn.id } })).webhook as { id: string }).id;
  const client = ((await ok({ method: 'POST', url: '/api/v1/api-clients', payload: { connectionId: conn.id, name: 'a-app' } })).client as { id: string }).id;
  const aAdmin = await login(app, 'a-admin', PASSWORD);
  const token = ((await as(app, aAdmin, { method: 'POST', url: '/api/v1/tokens', payload: { name: 'a-script' } })).json() as { apiToken: { id: string } }).apiToken.id;

  // Run data: an applied run with an issue and history, and a held run with its plan.
  const applied = await store.runs.start({ connectionId: conn.id, mode: 'full', leaseOwner: 'test' });
  await store.issues.add(applied.id, 0, [{ severity: 'error', rule: 'required-field', entity: 'users', sourcedId: 'a-user-1', field: 'givenName', message: 'givenName is required' }]);
  await store.db
    .insertInto('changes')
    .values({ tenant_id: 'tenant-a', connection_id: conn.id, run_id: applied.id, entity: 'users', sourced_id: 'a-user-2', kind: 'created', fields: null, at: new Date().toISOString() })
    .execute();
  await store.runs.finish(applied.id, { status: 'succeeded', entities: {}, requests: {}, issues: { ...emptyIssueSummary(), bySeverity: { error: 1, warning: 0 }, byRule: { 'required-field': 1 }, stored: 1 } });
  const held = await store.runs.start({ connectionId: conn.id, mode: 'full', leaseOwner: 'test' });
  await store.db
    .insertInto('changes')
    .values({ tenant_id: 'tenant-a', connection_id: conn.id, run_id: held.id, entity: 'users', sourced_id: 'a-user-2', kind: 'deleted', fields: '{}', applied: 0, at: new Date().toISOString() })
    .execute();
  await store.runs.finish(held.id, { status: 'held', entities: {}, requests: {}, issues: emptyIssueSummary(), hold: [{ entity: 'users', rule: 'deletions', planned: 1, live: 1, message: 'test hold' }] });
  // Live records for the data browser: a student and a class, as the engine leaves them.
  const live = { tenant_id: 'tenant-a', connection_id: conn.id, status: 'active', date_last_modified: null, content_hash: 'h', raw: null, raw_fp: null, first_seen_run: applied.id, updated_run: applied.id, row_version: 1, deleted_at: null, deleted_run: null };
  await store.db.insertInto('live_users').values({ ...live, sourced_id: 'a-user-2', data: JSON.stringify({ sourcedId: 'a-user-2', givenName: 'Ada', familyName: 'Private', role: 'student', orgs: [] }), role: 'student', email: null, username: null, enabled_user: 1 }).execute();
  await store.db.insertInto('live_classes').values({ ...live, sourced_id: 'a-class-1', data: JSON.stringify({ sourcedId: 'a-class-1', title: 'a-private-class', school: { sourcedId: 'a-school' }, terms: [] }), school_id: 'a-school', course_id: null, class_type: 'homeroom' }).execute();
  return { conn: conn.id, users, webhook, client, token, applied: applied.id, held: held.id };
}

/** Every route, with tenant A's objects in it. */
function probes(a: Awaited<ReturnType<typeof seedTenantA>>): Probe[] {
  const c = a.conn;
  const conn = { name: 'x', baseUrl: 'https://x.example/ims/oneroster/v1p1', auth: { kind: 'none' } };
  const p = (route: string, url: string, extra: Partial<Probe> = {}): Probe => ({ route, method: route.split(' ')[0] as Method, url, ...extra });
  return [
    p('GET /api/v1/me', '/api/v1/me', { list: true }),
    p('GET /api/v1/tenants', '/api/v1/tenants', { list: true }),
    p('POST /api/v1/tenants', '/api/v1/tenants', { payload: { id: 'tenant-c', name: 'C' } }),
    p('GET /api/v1/tenants/{tenantId}', '/api/v1/tenants/tenant-a'),
    p('PATCH /api/v1/tenants/{tenantId}', '/api/v1/tenants/tenant-a', { payload: { name: 'mine now' } }),
    p('GET /api/v1/tenants/{tenantId}/flights', '/api/v1/tenants/tenant-a/flights'),
    p('PUT /api/v1/tenants/{tenantId}/flights/{providerId}', '/api/v1/tenants/tenant-a/flights/follett-aspen'),
    p('DELETE /api/v1/tenants/{tenantId}/flights/{providerId}', '/api/v1/tenants/tenant-a/flights/follett-aspen'),
    p('GET /api/v1/providers', '/api/v1/providers', { list: true }),
    p('GET /api/v1/providers', '/api/v1/providers?tenant=tenant-a'),
    p('GET /api/v1/providers/{id}', '/api/v1/providers/custom?tenant=tenant-a'),
    p('GET /api/v1/connections', '/api/v1/connections', { list: true }),
    p('GET /api/v1/connections', '/api/v1/connections?tenant=tenant-a'),
    p('POST /api/v1/connections', '/api/v1/connections', { payload: { ...conn, tenantId: 'tenant-a' } }),
    p('POST /api/v1/connections/check', '/api/v1/connections/check', { payload: { baseUrl: conn.baseUrl, auth: conn.auth, tenantId: 'tenant-a' } }),
    p('GET /api/v1/connections/{id}', `/api/v1/connections/${c}`),
    p('PATCH /api/v1/connections/{id}', `/api/v1/connections/${c}`, { payload: { name: 'taken' } }),
    p('DELETE /api/v1/connections/{id}', `/api/v1/connections/${c}`),
    p('GET /api/v1/connections/{id}/schedule', `/api/v1/connections/${c}/schedule`),
    p('PATCH /api/v1/connections/{id}/schedule', `/api/v1/connections/${c}/schedule`, { payload: { enabled: false } }),
    p('POST /api/v1/connections/{id}/test', `/api/v1/connections/${c}/test`),
    p('POST /api/v1/connections/{id}/sync', `/api/v1/connections/${c}/sync`, { payload: {} }),
    p('GET /api/v1/runs', '/api/v1/runs', { list: true }),
    p('GET /api/v1/runs', `/api/v1/runs?connection=${c}`),
    p('GET /api/v1/runs', '/api/v1/runs?tenant=tenant-a'),
    p('GET /api/v1/runs/{id}', `/api/v1/runs/${a.applied}`),
    p('GET /api/v1/runs/{id}/report', `/api/v1/runs/${a.applied}/report`),
    p('GET /api/v1/runs/{id}/report.csv', `/api/v1/runs/${a.applied}/report.csv`),
    p('GET /api/v1/runs/{id}/plan', `/api/v1/runs/${a.held}/plan`),
    p('GET /api/v1/runs/{id}/events', `/api/v1/runs/${a.applied}/events`),
    p('GET /api/v1/holds', '/api/v1/holds', { list: true }),
    p('GET /api/v1/holds', `/api/v1/holds?connection=${c}`),
    p('POST /api/v1/holds/{id}/approve', `/api/v1/holds/${a.held}/approve`),
    p('POST /api/v1/holds/{id}/discard', `/api/v1/holds/${a.held}/discard`),
    p('GET /api/v1/connections/{id}/records/{entity}', `/api/v1/connections/${c}/records/users`),
    p('GET /api/v1/connections/{id}/records/{entity}', `/api/v1/connections/${c}/records/classes?q=private`),
    p('GET /api/v1/connections/{id}/users/{sourcedId}', `/api/v1/connections/${c}/users/a-user-2`),
    p('GET /api/v1/connections/{id}/classes/{sourcedId}', `/api/v1/connections/${c}/classes/a-class-1`),
    p('GET /api/v1/changes', '/api/v1/changes', { list: true }),
    p('GET /api/v1/changes', `/api/v1/changes?connection=${c}`),
    p('GET /api/v1/changes', `/api/v1/changes?run=${a.applied}`),
    p('GET /api/v1/audit', '/api/v1/audit', { list: true }),
    p('GET /api/v1/audit', '/api/v1/audit?tenant=tenant-a'),
    p('GET /api/v1/users', '/api/v1/users', { list: true }),
    p('GET /api/v1/users', '/api/v1/users?tenant=tenant-a'),
    p('POST /api/v1/users', '/api/v1/users', { payload: { username: 'intruder', password: PASSWORD, role: 'viewer', tenantId: 'tenant-a' } }),
    p('GET /api/v1/users/{id}', `/api/v1/users/${a.users['a-admin']}`),
    p('PATCH /api/v1/users/{id}', `/api/v1/users/${a.users['a-admin']}`, { payload: { disabled: true } }),
    p('DELETE /api/v1/users/{id}', `/api/v1/users/${a.users['a-viewer']}`),
    p('GET /api/v1/tokens', '/api/v1/tokens', { list: true }),
    p('GET /api/v1/tokens', `/api/v1/tokens?user=${a.users['a-admin']}`),
    p('DELETE /api/v1/tokens/{id}', `/api/v1/tokens/${a.token}`),
    p('GET /api/v1/webhooks', '/api/v1/webhooks', { list: true }),
    p('GET /api/v1/webhooks', `/api/v1/webhooks?connection=${c}`),
    p('POST /api/v1/webhooks', '/api/v1/webhooks', { payload: { url: 'https://evil.example/in', connectionId: c } }),
    p('POST /api/v1/webhooks', '/api/v1/webhooks', { payload: { url: 'https://evil.example/in', tenantId: 'tenant-a' } }),
    p('GET /api/v1/webhooks/{id}', `/api/v1/webhooks/${a.webhook}`),
    p('DELETE /api/v1/webhooks/{id}', `/api/v1/webhooks/${a.webhook}`),
    p('POST /api/v1/webhooks/{id}/enable', `/api/v1/webhooks/${a.webhook}/enable`),
    p('POST /api/v1/webhooks/{id}/deliver', `/api/v1/webhooks/${a.webhook}/deliver`),
    p('GET /api/v1/connections/{id}/exports/sds-csv', `/api/v1/connections/${c}/exports/sds-csv`),
    p('GET /api/v1/connections/{id}/exports/oneroster-csv', `/api/v1/connections/${c}/exports/oneroster-csv`),
    p('GET /api/v1/api-clients', '/api/v1/api-clients', { list: true }),
    p('GET /api/v1/api-clients', `/api/v1/api-clients?connection=${c}`),
    p('POST /api/v1/api-clients', '/api/v1/api-clients', { payload: { connectionId: c, name: 'steal' } }),
    p('GET /api/v1/api-clients/{id}', `/api/v1/api-clients/${a.client}`),
    p('POST /api/v1/api-clients/{id}/rotate', `/api/v1/api-clients/${a.client}/rotate`),
    p('POST /api/v1/api-clients/{id}/revoke', `/api/v1/api-clients/${a.client}/revoke`),
    p('GET /api/v1/events', '/api/v1/events', { list: true }),
    p('GET /api/v1/events', '/api/v1/events?tenant=tenant-a', { list: true }),
    p('GET /api/v1/events', `/api/v1/events?connection=${c}`),
    p('GET /api/v1/events/head', '/api/v1/events/head', { list: true }),
  ];
}

/** Routes with no tenant object in them: the caller's own session and account, and the first sign-in. */
const NOT_TENANT_SCOPED = new Set(['POST /api/v1/setup', 'POST /api/v1/login', 'POST /api/v1/logout', 'POST /api/v1/me/password', 'POST /api/v1/tokens']);

describe('admin API tenant isolation', () => {
  it('a tenant admin or viewer of tenant B gets 403/404 on every one of tenant A\'s objects, and lists never show them', async (t) => {
    const admin = await startAdmin();
    t.after(() => admin.close());
    const { app, store } = admin;
    const root = await login(app, 'admin', ADMIN_PASSWORD);
    const a = await seedTenantA(app, store, root);
    const table = probes(a);

    // The table covers every route the server has (the OpenAPI document lists them all).
    const doc = (await app.inject({ url: '/api/v1/openapi.json' })).json() as { paths: Record<string, Record<string, unknown>> };
    const registered = new Set(Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)));
    const covered = new Set([...table.map((x) => x.route), ...NOT_TENANT_SCOPED]);
    assert.deepEqual([...registered].filter((r) => !covered.has(r)).sort(), [], 'every route is in the isolation table');
    assert.deepEqual([...covered].filter((r) => !registered.has(r)).sort(), [], 'the table names only real routes');

    const bAdmin = await login(app, 'b-admin', PASSWORD);
    const bConn = await as(app, bAdmin, { method: 'POST', url: '/api/v1/connections', payload: { name: 'b-sis', baseUrl: 'https://sis-b.example/ims/oneroster/v1p1', auth: { kind: 'none' } } });
    assert.equal(bConn.statusCode, 201, bConn.body);
    const bConnId = (bConn.json() as { connection: { id: string } }).connection.id;
    const callers: Array<[string, Caller]> = [
      ['tenant B admin (session)', bAdmin],
      ['tenant B viewer (API token)', await tokenCaller(app, 'b-viewer', PASSWORD)],
    ];
    const secrets = [a.conn, a.webhook, a.client, a.token, a.users['a-admin']!, a.users['a-viewer']!, 'a-private-sis', 'tenant-a', 'a-user-1', 'a-user-2', 'a-secret-value', 'a-private-class', 'Ada'];
    for (const [who, caller] of callers) {
      for (const probe of table) {
        const res = await as(app, caller, { method: probe.method, url: probe.url, ...(probe.payload !== undefined ? { payload: probe.payload as object } : {}) });
        const what = `${who}: ${probe.method} ${probe.url} → ${res.statusCode} ${res.body.slice(0, 300)}`;
        if (probe.list) {
          assert.equal(res.statusCode, 200, what);
          for (const s of secrets) assert.ok(!res.body.includes(s), `${what} must not mention ${s}`);
        } else {
          assert.ok(res.statusCode === 403 || res.statusCode === 404, what);
          // An error may echo the id it was asked about, nothing else of A's.
          const asked = `${probe.url} ${JSON.stringify(probe.payload ?? {})}`;
          for (const s of secrets.filter((x) => !asked.includes(x))) assert.ok(!res.body.includes(s), `${what} must not mention ${s}`);
        }
      }
    }
    // Nothing of A changed, and B's own data is visible to B (the lists above were not vacuously empty).
    assert.equal((await store.connections.get(a.conn))?.name, 'a-private-sis');
    assert.equal((await store.runs.get(a.held))?.holdState, 'pending');
    assert.equal((await store.tenants.get('tenant-a'))?.name, 'Tenant A');
    assert.equal((await store.admin.getUser(a.users['a-admin']!))?.disabledAt, undefined);
    assert.equal((await store.webhooks.get(a.webhook))?.id, a.webhook);
    assert.equal((await store.apiClients.get(a.client))?.revokedAt, undefined);
    assert.match((await as(app, bAdmin, { url: '/api/v1/connections' })).body, new RegExp(bConnId));

    // Positive control: tenant A's admin reads every one of those objects.
    const aAdmin = await login(app, 'a-admin', PASSWORD);
    for (const probe of table.filter((x) => x.method === 'GET' && !x.list)) {
      const res = await as(app, aAdmin, { url: probe.url });
      assert.equal(res.statusCode, 200, `tenant A admin: GET ${probe.url} → ${res.statusCode} ${res.body.slice(0, 200)}`);
    }
    const aList = await as(app, aAdmin, { url: '/api/v1/runs' });
    assert.match(aList.body, new RegExp(a.conn), 'A sees its own runs');
    const aEvents = await as(app, aAdmin, { url: '/api/v1/events' });
    assert.match(aEvents.body, /a-user-2/, 'A reads its own change events');
    const aSearch = (await as(app, aAdmin, { url: `/api/v1/connections/${a.conn}/records/users?q=ada` })).json() as { records: Array<{ sourcedId: string }> };
    assert.deepEqual(aSearch.records.map((r) => r.sourcedId), ['a-user-2'], 'A finds its own user in the data browser');
  });
});


async function waitForRun(app: FastifyInstance, caller: Caller, runId: number): Promise<Record<string, any>> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = ((await as(app, caller, { url: `/api/v1/runs/${runId}` })).json() as { run: Record<string, any> }).run;
    if (run.status !== 'running') return run;
    if (Date.now() > deadline) throw new Error(`run ${runId} still running`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('admin API against the simulator', () => {
  it('tests a connection, starts a sync whose progress streams over SSE, and shows the run and its report', async (t) => {
    // Latency and small pages make the run last a couple of seconds, so progress is seen live.
    const sim = await startSimulator({ size: 'tiny', auth: 'oauth2', faults: 'latency=25ms', dirtyRate: 0.05, seed: 7 });
    const admin = await startAdmin();
    t.after(async () => {
      await admin.close();
      await sim.close();
    });
    const { app, store } = admin;
    await app.listen({ host: '127.0.0.1', port: 0 });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    const script = await tokenCaller(app, 'admin', ADMIN_PASSWORD);

    const created = await as(app, script, {
      method: 'POST',
      url: '/api/v1/connections',
      payload: { name: 'district', baseUrl: sim.baseUrl, auth: { kind: 'oauth2', clientId: sim.clientId, clientSecret: sim.clientSecret, tokenUrl: sim.tokenUrl }, pageSize: 10, toggles: { demographics: false } },
    });
    assert.equal(created.statusCode, 201, created.body);
    assert.ok(!created.body.includes(sim.clientSecret), 'the secret is never returned');
    const id = (created.json() as { connection: { id: string } }).connection.id;

    const test = await as(app, script, { method: 'POST', url: `/api/v1/connections/${id}/test` });
    assert.equal(test.statusCode, 200, test.body);
    const table = test.json() as { passed: boolean; checks: Array<{ id: string; status: string; reason?: string }> };
    assert.ok(table.checks.length >= 15, `the whole check table: ${table.checks.length}`);
    assert.ok(table.checks.some((c) => c.id === 'paging' && c.status === 'pass'), 'paging passes against the simulator');

    const started = await as(app, script, { method: 'POST', url: `/api/v1/connections/${id}/sync`, payload: { mode: 'full' } });
    assert.equal(started.statusCode, 202, started.body);
    const { runId, links } = started.json() as { runId: number; links: { events: string } };
    const busy = await as(app, script, { method: 'POST', url: `/api/v1/connections/${id}/sync`, payload: {} });
    assert.equal(busy.statusCode, 409, 'one run per connection at a time');
    assert.equal((busy.json() as { error: string }).error, 'run_in_progress');

    const events = await readEvents(`${origin}${links.events}`, script.headers);
    assert.equal(events[0]?.event, 'run', 'the stream opens with the run record');
    assert.equal(events[0]?.data.id, runId);
    const progress = events.filter((e) => e.event === 'progress');
    assert.ok(progress.length >= 3, `progress events: ${progress.length}`);
    assert.ok(progress.some((e) => e.data.collection === 'users' && e.data.records > 0), 'users progress with record counts');
    assert.ok(progress.some((e) => e.data.done === true), 'a collection reports done');
    const done = events.at(-1)!;
    assert.equal(done.event, 'done');
    assert.equal(done.data.status, 'succeeded', JSON.stringify(done.data.error ?? {}));

    const run = await waitForRun(app, script, runId);
    assert.equal(run.status, 'succeeded');
    assert.equal(run.entities.users.created, (await store.records.countLive(id)).users?.active, 'the run counted what it stored');
    const listed = (await as(app, script, { url: `/api/v1/runs?connection=${id}` })).json() as { runs: Array<{ id: number }> };
    assert.deepEqual(listed.runs.map((r) => r.id), [runId]);
    const again = await readEvents(`${origin}${links.events}`, script.headers);
    assert.deepEqual(again.map((e) => e.event).filter((e) => e !== 'progress'), ['run', 'done'], 'a finished run\'s stream ends at once');

    const report = (await as(app, script, { url: `/api/v1/runs/${runId}/report` })).json() as { totals: { errors: number; warnings: number }; summary: Array<{ rule: string; count: number }>; rows: unknown[] };
    assert.ok(report.totals.errors + report.totals.warnings > 0, 'the dirty district has issues');
    assert.ok(report.summary.length > 0 && report.rows.length > 0);
    const csv = await as(app, script, { url: `/api/v1/runs/${runId}/report.csv` });
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-type']), /^text\/csv/);
    assert.match(String(csv.headers['content-disposition']), /attachment; filename="rostersync-run-\d+-issues\.csv"/);
    assert.equal(csv.body.split('\r\n')[0], 'severity,rule,entity,sourcedId,field,value,message');

    const changes = (await as(app, script, { url: `/api/v1/changes?connection=${id}&entity=users&limit=5` })).json() as { changes: Array<{ kind: string; runId: number }> };
    assert.equal(changes.changes.length, 5);
    assert.ok(changes.changes.every((c) => c.kind === 'created' && c.runId === runId));

    const audit = (await as(app, script, { url: '/api/v1/audit' })).json() as { entries: Array<{ action: string; actor: string; target?: string }> };
    const actions = audit.entries.map((e) => e.action);
    for (const a of ['token.create', 'connection.create', 'connection.test', 'connection.sync']) assert.ok(actions.includes(a), `audited: ${a}`);
    assert.ok(audit.entries.filter((e) => e.target === id).every((e) => e.actor === 'admin'), 'who did it');
    const everything = JSON.stringify(await store.audit.list({ limit: 1000 }));
    assert.ok(!everything.includes(sim.clientSecret), 'no secret in the audit log');
    assert.ok(!everything.includes(ADMIN_PASSWORD), 'no password in the audit log');
  });

  it('holds a run over the thresholds; approve re-runs it and applies, discard drops the plan', async (t) => {
    const sim = await startSimulator({ size: 'tiny', auth: 'none', seed: 11 });
    const admin = await startAdmin();
    t.after(async () => {
      await admin.close();
      await sim.close();
    });
    const { app, store } = admin;
    const root = await login(app, 'admin', ADMIN_PASSWORD);
    const created = await as(app, root, { method: 'POST', url: '/api/v1/connections', payload: { name: 'district', baseUrl: sim.baseUrl, auth: { kind: 'none' }, toggles: { demographics: false } } });
    assert.equal(created.statusCode, 201, created.body);
    const c = (created.json() as { connection: { id: string; options: Record<string, unknown> } }).connection;
    const sync = async (): Promise<Record<string, any>> => {
      const r = await as(app, root, { method: 'POST', url: `/api/v1/connections/${c.id}/sync`, payload: {} });
      assert.equal(r.statusCode, 202, r.body);
      return waitForRun(app, root, (r.json() as { runId: number }).runId);
    };
    assert.equal((await sync()).status, 'succeeded');
    // Any deletion or update holds (the safeguards are stored with the connection, as the CLI stores them).
    await store.connections.update(c.id, { options: { ...c.options, safeguards: { thresholds: { deletePercent: 0, deleteCount: 0, updatePercent: 0, updateCount: 0 } } } });
    sim.district.advance(60);
    const held = await sync();
    assert.equal(held.status, 'held', JSON.stringify(held.error ?? {}));
    const holds = (await as(app, root, { url: '/api/v1/holds' })).json() as { holds: Array<{ run: { id: number }; plan: { counts: Record<string, Record<string, number>> } }> };
    assert.deepEqual(holds.holds.map((h) => h.run.id), [held.id]);
    const plan = (await as(app, root, { url: `/api/v1/runs/${held.id}/plan` })).json() as { plan: { counts: Record<string, Record<string, number>>; changes: unknown[] } };
    assert.ok(plan.plan.changes.length > 0, 'the plan lists planned changes');

    const approved = await as(app, root, { method: 'POST', url: `/api/v1/holds/${held.id}/approve` });
    assert.equal(approved.statusCode, 202, approved.body);
    const rerun = await waitForRun(app, root, (approved.json() as { runId: number }).runId);
    assert.equal(rerun.status, 'succeeded', JSON.stringify(rerun));
    assert.equal(rerun.approvalOf, held.id);
    const after = ((await as(app, root, { url: `/api/v1/runs/${held.id}` })).json() as { run: { holdState: string; holdResolvedBy: string } }).run;
    assert.deepEqual([after.holdState, after.holdResolvedBy], ['approved', 'admin']);
    const twice = await as(app, root, { method: 'POST', url: `/api/v1/holds/${held.id}/approve` });
    assert.equal(twice.statusCode, 409, 'a decided hold cannot be approved again');

    sim.district.advance(60);
    const second = await sync();
    assert.equal(second.status, 'held');
    const discarded = await as(app, root, { method: 'POST', url: `/api/v1/holds/${second.id}/discard` });
    assert.equal(discarded.statusCode, 200, discarded.body);
    assert.equal((discarded.json() as { run: { holdState: string } }).run.holdState, 'discarded');
    assert.deepEqual(((await as(app, root, { url: '/api/v1/holds' })).json() as { holds: unknown[] }).holds, []);
    const actions = (await store.audit.list()).map((e) => e.action);
    assert.ok(actions.includes('hold.approve') && actions.includes('hold.discard'), `hold decisions are audited: ${actions.join(', ')}`);
  });

  it('serves the OpenAPI document built from the route schemas', async (t) => {
    const admin = await startAdmin();
    t.after(() => admin.close());
    const res = await admin.app.inject({ url: '/api/v1/openapi.json' });
    assert.equal(res.statusCode, 200);
    const doc = res.json() as { openapi: string; paths: Record<string, Record<string, { summary?: string; requestBody?: unknown }>>; components: { securitySchemes: Record<string, unknown> } };
    assert.match(doc.openapi, /^3\./);
    assert.deepEqual(Object.keys(doc.components.securitySchemes).sort(), ['session', 'token']);
    assert.ok(doc.paths['/api/v1/connections']?.post?.requestBody, 'request bodies come from the typebox schemas');
    const ours = Object.entries(doc.paths).filter(([p]) => !p.startsWith('/api/v1/events'));
    for (const [path, ops] of ours) for (const [m, op] of Object.entries(ops)) assert.ok(op.summary, `${m.toUpperCase()} ${path} has a summary`);
  });
});

describe('rostersync serve with the admin API', () => {
  it('prints a setup token once on a fresh store, exchanges it over HTTP, and prints none once an admin exists', async (t) => {
    const { spawn } = await import('node:child_process');
    const { mkdtempSync, rmSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const dir = mkdtempSync(join(tmpdir(), 'rostersync-admin-serve-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const env: NodeJS.ProcessEnv = { ...process.env, ROSTERSYNC_SECRET_KEY_FILE: join(dir, 'key'), ROSTERSYNC_COOKIE_SECURE: 'false' };
    for (const k of ['ROSTERSYNC_DB', 'ROSTERSYNC_DATABASE_URL', 'ROSTERSYNC_SECRET_KEY', 'ROSTERSYNC_ADMIN_PASSWORD']) delete env[k];
    const cli = join(import.meta.dirname, '..', 'bin', 'rostersync.js');
    const serve = async (): Promise<{ url: string; out: () => string; err: () => string; stop: () => Promise<number | null> }> => {
      const child = spawn(process.execPath, [cli, 'serve', '--port', '0', '--db', join(dir, 'store.db'), '--no-scheduler'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      t.after(() => {
        if (child.exitCode === null) child.kill('SIGKILL');
      });
      const deadline = Date.now() + 30_000;
      while (!/serving on (http:\/\/\S+?) /.test(out)) {
        if (child.exitCode !== null || Date.now() > deadline) throw new Error(`serve did not start: ${out}\n${err}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return { url: /serving on (http:\/\/\S+?) /.exec(out)![1]!, out: () => out, err: () => err, stop: () => (child.kill('SIGTERM'), exit) };
    };

    const first = await serve();
    const tokens = first.out().match(/rss_[A-Za-z0-9_-]+/g) ?? [];
    assert.equal(tokens.length, 1, `one setup token on stdout: ${first.out()}`);
    assert.ok(!first.err().includes(tokens[0]!), 'the token is not logged');
    const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${first.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    assert.equal((await post('/api/v1/setup', { token: tokens[0], password: 'the very first password' })).status, 201);
    const li = await post('/api/v1/login', { username: 'admin', password: 'the very first password' });
    assert.equal(li.status, 200);
    const cookie = (li.headers.get('set-cookie') ?? '').split(';')[0]!;
    const { csrfToken } = (await li.json()) as { csrfToken: string };
    const made = await post(
      '/api/v1/connections',
      { name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', auth: { kind: 'oauth2', clientId: 'id', clientSecret: 'the-sis-secret', tokenUrl: 'https://sis.example/token' } },
      { cookie, 'x-csrf-token': csrfToken },
    );
    assert.equal(made.status, 201, `a connection with a secret can be stored (the key file is created): ${await made.clone().text()}`);
    assert.equal(await first.stop(), 0, first.err());

    const second = await serve();
    assert.ok(!/rss_/.test(second.out()), 'no token once an admin exists');
    assert.equal(await second.stop(), 0, second.err());
    assert.ok(!(first.out() + first.err() + second.out() + second.err()).includes('the very first password'), 'the password is never printed');
    assert.ok(!(first.out() + first.err()).includes('the-sis-secret'), 'nor the connection secret');
  });
});
