import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, as, login, startAdmin } from './test-support.ts';

const BASE = 'https://sis.example/ims/oneroster/v1p1';
const OAUTH2 = { kind: 'oauth2', clientId: 'district-id', clientSecret: 'district-secret-1', tokenUrl: 'https://sis.example/oauth/token' };

describe('connections over the admin API', () => {
  it('checks provider, flights, toggles, hints and schedules as `connection add` does', async (t) => {
    const a = await startAdmin();
    t.after(() => a.close());
    const root = await login(a.app, 'admin', ADMIN_PASSWORD);
    const add = (payload: Record<string, unknown>) => as(a.app, root, { method: 'POST', url: '/api/v1/connections', payload: { name: 'sis', baseUrl: BASE, auth: OAUTH2, ...payload } });
    const err = (r: { statusCode: number; json(): unknown }) => [r.statusCode, (r.json() as { error: string }).error];

    assert.deepEqual(err(await add({ provider: 'follett-aspen' })), [400, 'provider_unavailable'], 'a Test provider needs a flight');
    const providers = (await as(a.app, root, { url: '/api/v1/providers?status=Test' })).json() as { providers: Array<{ id: string; selectable: boolean; reason?: string }> };
    const aspen = providers.providers.find((p) => p.id === 'follett-aspen');
    assert.equal(aspen?.selectable, false);
    assert.match(aspen?.reason ?? '', /flighted/);
    assert.equal((await as(a.app, root, { method: 'PUT', url: '/api/v1/tenants/default/flights/follett-aspen' })).statusCode, 200);
    const after = (await as(a.app, root, { url: '/api/v1/providers/follett-aspen' })).json() as { provider: { flighted: boolean; selectable: boolean }; setupGuide: string; toggles: Array<{ toggle: string; available: boolean }> };
    assert.deepEqual([after.provider.flighted, after.provider.selectable], [true, true]);
    assert.match(after.setupGuide, /Follett Aspen/);
    assert.deepEqual(after.toggles.map((x) => x.available), [false, false, false], 'Aspen supports no optional data: every toggle greyed out');
    assert.deepEqual(err(await add({ provider: 'follett-aspen', toggles: { contacts: true } })), [400, 'toggle_unavailable']);
    assert.deepEqual(err(await add({ auth: { ...OAUTH2, tokenUrl: BASE } })), [400, 'invalid_request'], 'the token URL must differ from the web access URL (provider hints)');
    assert.deepEqual(err(await add({ provider: 'nope' })), [400, 'invalid_request']);
    assert.deepEqual(err(await add({ schedule: { full: 'every day' } })), [400, 'invalid_schedule']);
    assert.deepEqual(err(await add({ auth: { kind: 'oauth2', clientId: 'x' } })), [400, 'invalid_config'], 'an OAuth 2 connection needs its secret and token URL');
    assert.deepEqual(err(await as(a.app, root, { method: 'POST', url: '/api/v1/connections', payload: { name: 'x' } })), [400, 'invalid_request']);

    const ok = await add({ provider: 'follett-aspen', schedule: { timezone: 'America/Chicago' }, pageSize: 1000 });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.ok(!ok.body.includes('district-secret-1'), 'the secret is never returned');
    const c = (ok.json() as { connection: { id: string; hasSecret: boolean; options: Record<string, any> } }).connection;
    assert.equal(c.hasSecret, true);
    assert.deepEqual(c.options.toggles, { contacts: false, demographics: false, userFlags: false });
    assert.equal(c.options.schedule.timezone, 'America/Chicago');
    assert.equal(c.options.pageSize, 1000);
    assert.equal(await a.store.connections.getSecret(c.id), 'district-secret-1', 'stored sealed, readable by the sync');
    assert.deepEqual(err(await add({ provider: 'follett-aspen' })), [409, 'already_exists'], 'names are unique per tenant');

    // Unflighting does not break the existing connection: it can still be renamed and edited.
    await as(a.app, root, { method: 'DELETE', url: '/api/v1/tenants/default/flights/follett-aspen' });
    const renamed = await as(a.app, root, { method: 'PATCH', url: `/api/v1/connections/${c.id}`, payload: { name: 'sis-2025', auth: { clientSecret: 'district-secret-2' } } });
    assert.equal(renamed.statusCode, 200, renamed.body);
    assert.equal((renamed.json() as { connection: { name: string } }).connection.name, 'sis-2025');
    assert.equal(await a.store.connections.getSecret(c.id), 'district-secret-2', 'a new secret replaces the stored one');
    const moved = await as(a.app, root, { method: 'PATCH', url: `/api/v1/connections/${c.id}`, payload: { baseUrl: 'https://sis2.example/ims/oneroster/v1p1', auth: { tokenUrl: 'https://sis2.example/oauth/token' } } });
    assert.equal(moved.statusCode, 200, moved.body);
    const m = (moved.json() as { connection: { baseUrl: string; options: Record<string, any> } }).connection;
    assert.equal(m.baseUrl, 'https://sis2.example/ims/oneroster/v1p1');
    assert.deepEqual([m.options.tokenUrl, m.options.clientId, m.options.schedule.timezone], ['https://sis2.example/oauth/token', 'district-id', 'America/Chicago'], 'other settings are kept');
    assert.equal(await a.store.connections.getSecret(c.id), 'district-secret-2', 'the secret is kept when not given');
    const none = await as(a.app, root, { method: 'PATCH', url: `/api/v1/connections/${c.id}`, payload: { auth: { kind: 'none' } } });
    assert.equal(none.statusCode, 200, none.body);
    assert.equal((none.json() as { connection: { hasSecret: boolean } }).connection.hasSecret, false, 'no auth: the secret is dropped');
    const same = await as(a.app, root, { method: 'PATCH', url: `/api/v1/connections/${c.id}`, payload: { provider: 'follett-aspen', courses: false } });
    assert.equal(same.statusCode, 200, `the connection's own provider is not re-checked after unflighting: ${same.body}`);
    assert.deepEqual(err(await as(a.app, root, { method: 'PATCH', url: `/api/v1/connections/${c.id}`, payload: { provider: 'fujitsu' } })), [400, 'provider_unavailable'], 'a new Test provider is');

    const sched = await as(a.app, root, { method: 'PATCH', url: `/api/v1/connections/${c.id}/schedule`, payload: { enabled: true, delta: '0 */6 * * *' } });
    assert.equal(sched.statusCode, 200, sched.body);
    const s = (sched.json() as { schedule: { enabled: boolean; delta: string; nextDelta?: string; due?: string } }).schedule;
    assert.deepEqual([s.enabled, s.delta, s.due], [true, '0 */6 * * *', 'full'], 'never synced: a full sync is due');
    assert.ok(s.nextDelta, 'next fire shown');
    assert.deepEqual(err(await as(a.app, root, { method: 'PATCH', url: `/api/v1/connections/${c.id}/schedule`, payload: { delta: '* * * * *' } })), [400, 'invalid_schedule'], 'more often than every 5 minutes');

    const shown = (await as(a.app, root, { url: `/api/v1/connections/${c.id}` })).json() as { records: Record<string, unknown>; schedule: { retentionDays: number } };
    assert.equal(shown.schedule.retentionDays, 30);
    assert.equal((await as(a.app, root, { method: 'DELETE', url: `/api/v1/connections/${c.id}` })).statusCode, 204);
    assert.equal((await as(a.app, root, { url: `/api/v1/connections/${c.id}` })).statusCode, 404);

    const actions = (await a.store.audit.list()).map((e) => e.action);
    for (const x of ['provider.flight', 'provider.unflight', 'connection.create', 'connection.update', 'connection.schedule', 'connection.delete']) assert.ok(actions.includes(x), `audited: ${x}`);
    const log = JSON.stringify(await a.store.audit.list({ limit: 1000 }));
    assert.ok(!log.includes('district-secret'), 'no secret in the audit log');
  });

  it('renames tenants (installation admins) and ends an account\'s sessions when an admin resets its password', async (t) => {
    const a = await startAdmin();
    t.after(() => a.close());
    const root = await login(a.app, 'admin', ADMIN_PASSWORD);
    assert.equal((await as(a.app, root, { method: 'POST', url: '/api/v1/tenants', payload: { id: 'north', name: 'North' } })).statusCode, 201);
    const r = await as(a.app, root, { method: 'PATCH', url: '/api/v1/tenants/north', payload: { name: 'North District' } });
    assert.equal(r.statusCode, 200);
    assert.equal((await a.store.tenants.get('north'))?.name, 'North District');
    const u = await as(a.app, root, { method: 'POST', url: '/api/v1/users', payload: { username: 'nina', password: 'nina has a long password', role: 'tenant_admin', tenantId: 'north' } });
    const id = (u.json() as { user: { id: string } }).user.id;
    const nina = await login(a.app, 'nina', 'nina has a long password');
    assert.equal((await as(a.app, nina, { url: '/api/v1/me' })).statusCode, 200);
    assert.equal((await as(a.app, root, { method: 'PATCH', url: `/api/v1/users/${id}`, payload: { password: 'a reset password!' } })).statusCode, 200);
    assert.equal((await as(a.app, nina, { url: '/api/v1/me' })).statusCode, 401, 'the old session ended');
    await login(a.app, 'nina', 'a reset password!');
    const audit = (await as(a.app, root, { url: '/api/v1/audit?tenant=north' })).json() as { entries: Array<{ action: string; details?: Record<string, unknown> }> };
    assert.ok(audit.entries.some((e) => e.action === 'tenant.rename'), 'rename audited in the tenant');
    const reset = audit.entries.find((e) => e.action === 'user.update');
    assert.deepEqual(reset?.details?.password, 'changed', 'the audit says the password changed, never what to');
  });
});
