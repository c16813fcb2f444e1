import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { emptyIssueSummary } from '../../store/run-repository.ts';
import { ADMIN_PASSWORD, as, login, startAdmin } from './test-support.ts';

describe('run routes', () => {
  it('streams a run this process does not run (the scheduler\'s) until it ends, by re-reading its record', async (t) => {
    const a = await startAdmin({ runPollMs: 20 });
    t.after(() => a.close());
    const root = await login(a.app, 'admin', ADMIN_PASSWORD);
    await a.store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'none' });
    const run = await a.store.runs.start({ connectionId: 'sis', mode: 'full', leaseOwner: 'elsewhere:1' });
    setTimeout(() => void a.store.runs.finish(run.id, { status: 'succeeded', entities: {}, requests: {}, issues: emptyIssueSummary() }), 150);
    const res = await as(a.app, root, { url: `/api/v1/runs/${run.id}/events` });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const events = [...res.body.matchAll(/^event: (\w+)\ndata: (.*)$/gm)].map((m) => [m[1], JSON.parse(m[2]!) as { status: string }] as const);
    assert.deepEqual(events.map(([e, d]) => `${e}:${d.status}`), ['run:running', 'done:succeeded']);
  });

  it('filters the report rows (the summary stays complete) and answers 404 for unknown runs', async (t) => {
    const a = await startAdmin();
    t.after(() => a.close());
    const root = await login(a.app, 'admin', ADMIN_PASSWORD);
    await a.store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'none' });
    const run = await a.store.runs.start({ connectionId: 'sis', mode: 'full', leaseOwner: 't' });
    await a.store.issues.add(run.id, 0, [
      { severity: 'error', rule: 'required-field', entity: 'users', sourcedId: 'u1', field: 'givenName', message: 'm' },
      { severity: 'warning', rule: 'invalid-phone', entity: 'users', sourcedId: 'u2', field: 'phone', value: '+1******0123', message: 'm' },
      { severity: 'error', rule: 'required-field', entity: 'classes', sourcedId: 'k1', field: 'title', message: '=cmd' },
    ]);
    await a.store.runs.finish(run.id, {
      status: 'succeeded',
      entities: {},
      requests: {},
      issues: { bySeverity: { error: 2, warning: 1 }, byRule: { 'required-field': 2, 'invalid-phone': 1 }, stored: 3 },
    });
    const r = (await as(a.app, root, { url: `/api/v1/runs/${run.id}/report?severity=error&entity=users` })).json() as { summary: Array<{ rule: string; count: number }>; rows: Array<{ sourcedId: string }>; matched: number };
    assert.deepEqual(r.rows.map((x) => x.sourcedId), ['u1']);
    assert.equal(r.matched, 1);
    assert.deepEqual(r.summary.map((s) => [s.rule, s.count]), [['required-field', 2], ['invalid-phone', 1]]);
    const csv = await as(a.app, root, { url: `/api/v1/runs/${run.id}/report.csv` });
    assert.match(csv.body, /'\+1\*{6}0123/, 'spreadsheet-safe cells');
    assert.match(csv.body, /'=cmd/);
    assert.equal((await as(a.app, root, { url: '/api/v1/runs/999999' })).statusCode, 404);
    assert.equal((await as(a.app, root, { url: '/api/v1/runs/abc' })).statusCode, 400, 'ids are validated');
  });
});
