import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SESSION_COOKIE } from './auth.ts';
import { ADMIN_PASSWORD, as, login, startAdmin, tokenCaller, type Caller } from './test-support.ts';

const USER_PASSWORD = 'another long password';

describe('admin API authentication', () => {
  it('logs in with a session cookie (http-only, SameSite=Strict) and a CSRF token; logs out', async (t) => {
    const a = await startAdmin({ auth: { cookieSecure: true } });
    t.after(() => a.close());
    const bad = await a.app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'admin', password: 'wrong password!!' } });
    assert.equal(bad.statusCode, 401);
    assert.equal((bad.json() as { error: string }).error, 'invalid_credentials');
    const unknown = await a.app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'nobody', password: 'wrong password!!' } });
    assert.deepEqual([unknown.statusCode, unknown.json()], [401, bad.json()], 'an unknown username answers exactly as a wrong password');

    const res = await a.app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'ADMIN', password: ADMIN_PASSWORD } });
    assert.equal(res.statusCode, 200, res.body);
    const cookie = res.cookies.find((c) => c.name === SESSION_COOKIE);
    assert.ok(cookie, 'session cookie set');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    assert.equal(cookie.secure, true);
    assert.equal(cookie.path, '/');
    const body = res.json() as { csrfToken: string; user: { username: string; role: string }; via: string };
    assert.deepEqual([body.user.username, body.user.role, body.via], ['admin', 'installation_admin', 'session']);
    assert.ok(!res.body.includes(cookie.value), 'the session token is only in the cookie');
    assert.equal(res.headers['cache-control'], 'no-store');

    const caller: Caller = { headers: { cookie: `${SESSION_COOKIE}=${cookie.value}`, 'x-csrf-token': body.csrfToken } };
    const me = await as(a.app, { headers: { cookie: caller.headers.cookie! } }, { url: '/api/v1/me' });
    assert.equal(me.statusCode, 200);
    assert.equal((me.json() as { csrfToken: string }).csrfToken, body.csrfToken, '/me gives the CSRF token back (a reloaded console needs it)');
    assert.equal((await a.app.inject({ url: '/api/v1/me' })).statusCode, 401, 'no credentials: 401');
    assert.equal((await a.app.inject({ url: '/api/v1/connections' })).statusCode, 401);

    const noCsrf = await as(a.app, { headers: { cookie: caller.headers.cookie! } }, { method: 'POST', url: '/api/v1/logout' });
    assert.equal(noCsrf.statusCode, 403, 'logout is a state change: it needs the CSRF token');
    const out = await as(a.app, caller, { method: 'POST', url: '/api/v1/logout' });
    assert.equal(out.statusCode, 204);
    assert.ok(out.cookies.some((c) => c.name === SESSION_COOKIE && c.value === ''), 'the cookie is cleared');
    const after = await as(a.app, caller, { url: '/api/v1/me' });
    assert.equal(after.statusCode, 401, 'the session is gone from the store');
  });

  it('sets Secure on the cookie unless the request came over plain http to a loopback host (auto)', async (t) => {
    const a = await startAdmin({ auth: { cookieSecure: 'auto' } });
    t.after(() => a.close());
    const secureFor = async (host: string, proto?: string): Promise<boolean | undefined> => {
      const res = await a.app.inject({ method: 'POST', url: '/api/v1/login', headers: { host, ...(proto ? { 'x-forwarded-proto': proto } : {}) }, payload: { username: 'admin', password: ADMIN_PASSWORD } });
      assert.equal(res.statusCode, 200, res.body);
      return res.cookies.find((c) => c.name === SESSION_COOKIE)?.secure;
    };
    assert.equal(await secureFor('127.0.0.1:8080'), undefined, 'plain http on the admin\'s own machine');
    assert.equal(await secureFor('localhost:8080'), undefined);
    assert.equal(await secureFor('admin.district.org'), true, 'any other host: never in clear over a network');
  });

  it('rate-limits logins per username and per IP (429 with retry-after), even for the right password', async (t) => {
    const a = await startAdmin({ login: { max: 5, windowMs: 60_000 } });
    t.after(() => a.close());
    const attempt = (username: string, password: string, ip: string) =>
      a.app.inject({ method: 'POST', url: '/api/v1/login', remoteAddress: ip, payload: { username, password } });
    for (let i = 0; i < 5; i++) assert.equal((await attempt('admin', 'not the password', `10.0.0.${i + 1}`)).statusCode, 401, `attempt ${i + 1}`);
    const limited = await attempt('admin', ADMIN_PASSWORD, '10.0.0.99');
    assert.equal(limited.statusCode, 429, 'the sixth attempt on one username is refused, from any address');
    assert.equal((limited.json() as { error: string }).error, 'rate_limited');
    assert.match(String(limited.headers['retry-after']), /^\d+$/);

    for (let i = 0; i < 5; i++) assert.equal((await attempt(`user${i}`, 'not the password', '10.9.9.9')).statusCode, 401);
    assert.equal((await attempt('someone-else', 'not the password', '10.9.9.9')).statusCode, 429, 'the sixth attempt from one address is refused, whatever the username');
    assert.equal((await attempt('fresh', 'not the password', '10.1.1.1')).statusCode, 401, 'others are not affected');
  });

  it('requires the session\'s CSRF token on state changes made with the cookie; API tokens are exempt', async (t) => {
    const a = await startAdmin();
    t.after(() => a.close());
    const session = await login(a.app, 'admin', ADMIN_PASSWORD);
    const payload = { id: 'north', name: 'North' };
    const cookieOnly = { headers: { cookie: session.headers.cookie! } };
    const none = await as(a.app, cookieOnly, { method: 'POST', url: '/api/v1/tenants', payload });
    assert.equal(none.statusCode, 403);
    assert.equal((none.json() as { error: string }).error, 'csrf_failed');
    const wrong = await as(a.app, { headers: { ...cookieOnly.headers, 'x-csrf-token': 'x'.repeat(43) } }, { method: 'POST', url: '/api/v1/tenants', payload });
    assert.equal(wrong.statusCode, 403);
    const other = await login(a.app, 'admin', ADMIN_PASSWORD);
    const crossed = await as(a.app, { headers: { ...cookieOnly.headers, 'x-csrf-token': other.csrf! } }, { method: 'POST', url: '/api/v1/tenants', payload });
    assert.equal(crossed.statusCode, 403, 'another session\'s token does not do');
    assert.equal((await as(a.app, cookieOnly, { url: '/api/v1/tenants' })).statusCode, 200, 'reads need no token');
    assert.equal((await as(a.app, session, { method: 'POST', url: '/api/v1/tenants', payload })).statusCode, 201);
    assert.equal((await a.store.tenants.get('north'))?.name, 'North');

    const script = await tokenCaller(a.app, 'admin', ADMIN_PASSWORD);
    assert.equal((await as(a.app, script, { method: 'POST', url: '/api/v1/tenants', payload: { id: 'south', name: 'South' } })).statusCode, 201, 'a bearer token needs no CSRF token');
  });

  it('ends sessions after the idle timeout and at their absolute lifetime', async (t) => {
    let now = new Date('2026-03-01T08:00:00Z');
    const a = await startAdmin({ auth: { cookieSecure: false, idleTimeoutMs: 30 * 60_000, sessionTtlMs: 2 * 3_600_000, now: () => now, touchEveryMs: 0 } });
    t.after(() => a.close());
    const s = await login(a.app, 'admin', ADMIN_PASSWORD);
    now = new Date('2026-03-01T08:29:00Z');
    assert.equal((await as(a.app, s, { url: '/api/v1/me' })).statusCode, 200, 'active within the idle timeout (and touched)');
    now = new Date('2026-03-01T08:58:00Z');
    assert.equal((await as(a.app, s, { url: '/api/v1/me' })).statusCode, 200, 'still: the last request was 29 minutes ago');
    now = new Date('2026-03-01T09:29:00Z');
    const idle = await as(a.app, s, { url: '/api/v1/me' });
    assert.equal(idle.statusCode, 401);
    assert.equal((idle.json() as { error: string }).error, 'session_expired');
    assert.equal((await as(a.app, s, { url: '/api/v1/me' })).statusCode, 401, 'and it is deleted');

    now = new Date('2026-03-02T08:00:00Z');
    const busy = await login(a.app, 'admin', ADMIN_PASSWORD);
    for (let m = 20; m < 120; m += 20) {
      now = new Date(Date.parse('2026-03-02T08:00:00Z') + m * 60_000);
      assert.equal((await as(a.app, busy, { url: '/api/v1/me' })).statusCode, 200, `minute ${m}`);
    }
    now = new Date('2026-03-02T10:00:00Z');
    assert.equal((await as(a.app, busy, { url: '/api/v1/me' })).statusCode, 401, 'a busy session still ends at its absolute lifetime');
  });

  it('API tokens: shown once, stored hashed, revocable, expiring, and dead with a disabled account', async (t) => {
    let now = new Date('2026-03-01T08:00:00Z');
    const a = await startAdmin({ auth: { cookieSecure: false, now: () => now } });
    t.after(() => a.close());
    const admin = await login(a.app, 'admin', ADMIN_PASSWORD);
    const created = await as(a.app, admin, { method: 'POST', url: '/api/v1/tokens', payload: { name: 'nightly', expiresInDays: 1 } });
    assert.equal(created.statusCode, 201);
    const { token, apiToken } = created.json() as { token: string; apiToken: { id: string } };
    assert.match(token, /^rsa_[A-Za-z0-9_-]{43}$/);
    const list = await as(a.app, admin, { url: '/api/v1/tokens' });
    assert.ok(!list.body.includes(token), 'the token is never listed');
    assert.deepEqual((list.json() as { tokens: Array<{ id: string }> }).tokens.map((x) => x.id), [apiToken.id]);
    const bearer = { headers: { authorization: `Bearer ${token}` } };
    const me = await as(a.app, bearer, { url: '/api/v1/me' });
    assert.equal(me.statusCode, 200);
    assert.equal((me.json() as { via: string }).via, 'token');
    assert.equal((await as(a.app, { headers: { authorization: `Bearer ${token}x` } }, { url: '/api/v1/me' })).statusCode, 401);
    assert.equal((await as(a.app, { headers: { authorization: 'Basic abc' } }, { url: '/api/v1/me' })).statusCode, 401);

    now = new Date('2026-03-02T08:00:01Z');
    assert.equal((await as(a.app, bearer, { url: '/api/v1/me' })).statusCode, 401, 'expired after a day');

    const second = (await as(a.app, await login(a.app, 'admin', ADMIN_PASSWORD), { method: 'POST', url: '/api/v1/tokens', payload: { name: 'ci' } })).json() as { token: string; apiToken: { id: string } };
    const ci = { headers: { authorization: `Bearer ${second.token}` } };
    assert.equal((await as(a.app, ci, { url: '/api/v1/me' })).statusCode, 200);
    const revoked = await as(a.app, ci, { method: 'DELETE', url: `/api/v1/tokens/${second.apiToken.id}` });
    assert.equal(revoked.statusCode, 200);
    assert.equal((await as(a.app, ci, { url: '/api/v1/me' })).statusCode, 401, 'a revoked token is refused at once');

    // A second installation admin disables the first: the first's token stops working.
    const fresh = await login(a.app, 'admin', ADMIN_PASSWORD);
    const other = await as(a.app, fresh, { method: 'POST', url: '/api/v1/users', payload: { username: 'ops', password: USER_PASSWORD, role: 'installation_admin' } });
    assert.equal(other.statusCode, 201, other.body);
    const third = (await as(a.app, fresh, { method: 'POST', url: '/api/v1/tokens', payload: { name: 'x' } })).json() as { token: string };
    const ops = await login(a.app, 'ops', USER_PASSWORD);
    const adminId = (await a.store.admin.credentials('admin'))!.user.id;
    assert.equal((await as(a.app, ops, { method: 'PATCH', url: `/api/v1/users/${adminId}`, payload: { disabled: true } })).statusCode, 200);
    assert.equal((await as(a.app, { headers: { authorization: `Bearer ${third.token}` } }, { url: '/api/v1/me' })).statusCode, 401, 'a disabled account\'s tokens are refused');
    assert.equal((await as(a.app, fresh, { url: '/api/v1/me' })).statusCode, 401, 'and its sessions ended');
    assert.equal((await a.app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'admin', password: ADMIN_PASSWORD } })).statusCode, 401, 'it cannot log in');
  });
});

describe('first start', () => {
  it('without ROSTERSYNC_ADMIN_PASSWORD announces a one-time setup token that POST /setup exchanges once', async (t) => {
    const a = await startAdmin({ adminPassword: undefined });
    t.after(() => a.close());
    const text = a.announced.join('');
    const token = /\b(rss_[A-Za-z0-9_-]+)/.exec(text)?.[1];
    assert.ok(token, `a setup token is announced: ${text}`);
    assert.equal(a.announced.length, 1, 'announced once');
    assert.equal(await a.store.admin.countUsers(), 0);
    assert.equal((await a.app.inject({ method: 'POST', url: '/api/v1/login', payload: { username: 'admin', password: 'anything at all' } })).statusCode, 401);

    const wrong = await a.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token: `${token}x`, password: 'a good long password' } });
    assert.equal(wrong.statusCode, 401);
    assert.equal((wrong.json() as { error: string }).error, 'invalid_setup_token');
    const weak = await a.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, password: 'short' } });
    assert.equal(weak.statusCode, 400, 'a weak password does not spend the token');
    const ok = await a.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, password: 'a good long password' } });
    assert.equal(ok.statusCode, 201, ok.body);
    assert.equal((ok.json() as { user: { username: string; role: string } }).user.role, 'installation_admin');
    const again = await a.app.inject({ method: 'POST', url: '/api/v1/setup', payload: { token, password: 'another good password' } });
    assert.equal(again.statusCode, 409, 'the token works once');
    await login(a.app, 'admin', 'a good long password');
    const audit = await a.store.audit.list();
    assert.ok(audit.some((e) => e.action === 'setup.admin_created' && e.actor === 'system'), 'setup is audited');
    assert.ok(!JSON.stringify(audit).includes(token), 'the token is not in the audit log');
  });

  it('with ROSTERSYNC_ADMIN_PASSWORD creates "admin" without printing the password, and only when no account exists', async (t) => {
    const a = await startAdmin({ adminPassword: 'from the environment!' });
    t.after(() => a.close());
    assert.match(a.announced.join(''), /Created the installation admin "admin"/);
    assert.ok(!a.announced.join('').includes('from the environment!'), 'the password is not printed');
    await login(a.app, 'admin', 'from the environment!');
    const b = await startAdmin({ store: a.store, adminPassword: 'some other password' });
    t.after(() => b.app.close());
    assert.deepEqual(b.announced, [], 'an installation with an admin announces nothing');
    assert.equal(await a.store.admin.countUsers(), 1);
    await assert.rejects(startAdmin({ adminPassword: 'short' }), /at least 12/, 'a weak first password stops the server');
  });
});

describe('roles', () => {
  it('viewers read but get 403 on writes (their own password and tokens excepted); tenant admins cannot touch installation settings', async (t) => {
    const a = await startAdmin();
    t.after(() => a.close());
    const admin = await login(a.app, 'admin', ADMIN_PASSWORD);
    await as(a.app, admin, { method: 'POST', url: '/api/v1/tenants', payload: { id: 'north', name: 'North' } });
    for (const [username, role] of [['viewer', 'viewer'], ['boss', 'tenant_admin']] as const) {
      const r = await as(a.app, admin, { method: 'POST', url: '/api/v1/users', payload: { username, password: USER_PASSWORD, role, tenantId: 'north' } });
      assert.equal(r.statusCode, 201, r.body);
    }
    const viewer = await login(a.app, 'viewer', USER_PASSWORD);
    const conn = { name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', auth: { kind: 'none' } };
    assert.equal((await as(a.app, viewer, { url: '/api/v1/connections' })).statusCode, 200);
    const writes = [
      { method: 'POST', url: '/api/v1/connections', payload: conn },
      { method: 'POST', url: '/api/v1/users', payload: { username: 'x', password: USER_PASSWORD, role: 'viewer' } },
      { method: 'POST', url: '/api/v1/webhooks', payload: { url: 'https://hooks.example/x' } },
      { method: 'POST', url: '/api/v1/tenants', payload: { id: 'x', name: 'X' } },
    ] as const;
    for (const w of writes) {
      const r = await as(a.app, viewer, { ...w });
      assert.equal(r.statusCode, 403, `viewer ${w.method} ${w.url}: ${r.body}`);
    }
    assert.equal((await as(a.app, viewer, { method: 'POST', url: '/api/v1/tokens', payload: { name: 'mine' } })).statusCode, 201, 'own token');
    assert.equal((await as(a.app, viewer, { method: 'POST', url: '/api/v1/me/password', payload: { currentPassword: USER_PASSWORD, newPassword: 'a brand new password' } })).statusCode, 204, 'own password');

    const boss = await login(a.app, 'boss', USER_PASSWORD);
    assert.equal((await as(a.app, boss, { method: 'POST', url: '/api/v1/tenants', payload: { id: 'y', name: 'Y' } })).statusCode, 403);
    assert.equal((await as(a.app, boss, { method: 'PUT', url: '/api/v1/tenants/north/flights/follett-aspen' })).statusCode, 403, 'flights are the installation\'s');
    const grant = await as(a.app, boss, { method: 'POST', url: '/api/v1/users', payload: { username: 'root2', password: USER_PASSWORD, role: 'installation_admin' } });
    assert.equal(grant.statusCode, 403, 'a tenant admin cannot create installation admins');
    const made = await as(a.app, boss, { method: 'POST', url: '/api/v1/users', payload: { username: 'helper', password: USER_PASSWORD, role: 'viewer' } });
    assert.equal(made.statusCode, 201);
    assert.equal((made.json() as { user: { tenantId: string } }).user.tenantId, 'north', 'into the tenant admin\'s own tenant');
    const c = await as(a.app, boss, { method: 'POST', url: '/api/v1/connections', payload: conn });
    assert.equal(c.statusCode, 201, c.body);
    assert.equal((c.json() as { connection: { tenantId: string } }).connection.tenantId, 'north');
  });

  it('keeps at least one enabled installation admin', async (t) => {
    const a = await startAdmin();
    t.after(() => a.close());
    const admin = await login(a.app, 'admin', ADMIN_PASSWORD);
    const id = (await a.store.admin.credentials('admin'))!.user.id;
    for (const req of [
      { method: 'DELETE' as const, url: `/api/v1/users/${id}` },
      { method: 'PATCH' as const, url: `/api/v1/users/${id}`, payload: { disabled: true } },
      { method: 'PATCH' as const, url: `/api/v1/users/${id}`, payload: { role: 'viewer' } },
    ]) {
      const r = await as(a.app, admin, req);
      assert.equal(r.statusCode, 409, `${req.method} ${JSON.stringify(req.payload ?? {})}`);
      assert.equal((r.json() as { error: string }).error, 'last_admin');
    }
  });
});

describe('the events API behind the admin authentication', () => {
  it('admins read their scope; other client kinds only through eventsClientAuth, and only on the events routes', async (t) => {
    const a = await startAdmin({
      eventsClientAuth: async (req) => (req.headers.authorization === 'Bearer client-abc' ? { tenantId: 'default' } : undefined),
    });
    t.after(() => a.close());
    const admin = await login(a.app, 'admin', ADMIN_PASSWORD);
    assert.equal((await as(a.app, admin, { url: '/api/v1/events/head' })).statusCode, 200);
    assert.equal((await a.app.inject({ url: '/api/v1/events' })).statusCode, 401, 'no credentials');
    const client = { headers: { authorization: 'Bearer client-abc' } };
    const page = await as(a.app, client, { url: '/api/v1/events' });
    assert.equal(page.statusCode, 200, page.body);
    assert.deepEqual((page.json() as { events: unknown[] }).events, []);
    assert.equal((await as(a.app, client, { url: '/api/v1/me' })).statusCode, 401, 'a client credential is not an admin credential');
    assert.equal((await as(a.app, client, { url: '/api/v1/connections' })).statusCode, 401);
    assert.equal((await as(a.app, { headers: { authorization: 'Bearer other' } }, { url: '/api/v1/events' })).statusCode, 401);
  });
});
