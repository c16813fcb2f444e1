import { describe, it as plainIt } from 'node:test';
import assert from 'node:assert/strict';
import { isStoreError } from './errors.ts';
import { API_TOKEN_PREFIX, tokenHash } from './admin-repository.ts';
import { hashPassword, passwordProblem, verifyPassword, verifyPasswordDummy } from './password-hash.ts';
import { forEachDialect } from './test-dialects.ts';

/** Cheap scrypt for tests (production uses DEFAULT_PASSWORD_COST). */
const COST = { N: 1 << 10, r: 8, p: 1 };

forEachDialect('admin accounts, sessions, API tokens and the audit log', ({ it, open }) => {
  it('creates accounts with normalised usernames, checks role and tenant, and never returns the hash', async () => {
    const s = await open();
    assert.equal(await s.admin.countUsers(), 0);
    const hash = await hashPassword('correct horse battery', COST);
    const root = await s.admin.createUser({ username: ' Admin ', passwordHash: hash, role: 'installation_admin' });
    assert.equal(root.username, 'admin');
    assert.equal(root.tenantId, undefined);
    assert.ok(!JSON.stringify(root).includes(hash), 'the hash is not part of a user');
    await assert.rejects(s.admin.createUser({ username: 'ADMIN', passwordHash: hash, role: 'viewer' }), (e) => isStoreError(e, 'already_exists'));
    await assert.rejects(s.admin.createUser({ username: 'x', passwordHash: hash, role: 'tenant_admin' }), (e) => isStoreError(e, 'invalid_input'));
    await assert.rejects(s.admin.createUser({ username: 'y', passwordHash: hash, role: 'installation_admin', tenantId: 'default' }), (e) => isStoreError(e, 'invalid_input'));
    await assert.rejects(s.admin.createUser({ username: 'z', passwordHash: hash, role: 'tenant_admin', tenantId: 'nope' }), (e) => isStoreError(e, 'not_found'));
    await assert.rejects(s.admin.createUser({ username: 'has space', passwordHash: hash, role: 'viewer' }), (e) => isStoreError(e, 'invalid_input'));
    const t = await s.admin.createUser({ username: 'ta@district.org', passwordHash: hash, role: 'tenant_admin', tenantId: 'default' });
    assert.equal(t.tenantId, 'default');
    assert.deepEqual((await s.admin.listUsers({ tenantId: 'default' })).map((u) => u.username), ['ta@district.org']);
    assert.deepEqual((await s.admin.listUsers()).map((u) => u.username), ['admin', 'ta@district.org']);

    const creds = await s.admin.credentials('ADMIN');
    assert.ok(creds, 'found by username, case-insensitively');
    assert.ok(await verifyPassword('correct horse battery', creds.passwordHash), 'the right password verifies');
    assert.equal(await verifyPassword('wrong horse battery', creds.passwordHash), false);
    assert.equal(await verifyPasswordDummy('anything', COST), false);

    assert.equal(await s.admin.countActiveInstallationAdmins(), 1);
    assert.equal(await s.admin.countActiveInstallationAdmins(root.id), 0);
    const disabled = await s.admin.updateUser(t.id, { disabled: true });
    assert.ok(disabled.disabledAt, 'disabled');
    const viewer = await s.admin.updateUser(t.id, { role: 'viewer', tenantId: null, disabled: false });
    assert.deepEqual([viewer.role, viewer.tenantId, viewer.disabledAt], ['viewer', undefined, undefined]);
    await assert.rejects(s.admin.updateUser(t.id, { role: 'tenant_admin' }), (e) => isStoreError(e, 'invalid_input'), 'a tenant admin needs a tenant');
    assert.equal(await s.admin.deleteUser(t.id), true);
    assert.equal(await s.admin.getUser(t.id), undefined);
  });

  it('stores only hashes of session and API tokens and finds them by the token', async () => {
    const s = await open();
    const u = await s.admin.createUser({ username: 'admin', passwordHash: await hashPassword('correct horse battery', COST), role: 'installation_admin' });
    const now = new Date('2026-01-01T00:00:00Z');
    const { token, session } = await s.admin.createSession(u.id, { ttlMs: 3_600_000, now });
    assert.equal(session.id, tokenHash(token));
    assert.equal(session.expiresAt, '2026-01-01T01:00:00.000Z');
    const rows = await s.db.withTables<{ admin_sessions: { id: string } }>().selectFrom('admin_sessions').select('id').execute();
    assert.ok(!JSON.stringify(rows).includes(token), 'the session token itself is not stored');
    const found = await s.admin.sessionByToken(token);
    assert.equal(found?.user.id, u.id);
    assert.equal(found?.session.csrfToken.length, 43);
    assert.equal(await s.admin.sessionByToken(`${token}x`), undefined);
    const second = await s.admin.createSession(u.id, { ttlMs: 3_600_000, now });
    assert.equal(await s.admin.deleteSessionsOf(u.id, second.session.id), 1, 'all but the current session end');
    assert.equal(await s.admin.sessionByToken(token), undefined);
    assert.equal(await s.admin.purgeSessions(new Date('2026-01-01T02:00:00Z')), 1, 'expired sessions are purged');

    const issued = await s.admin.createToken(u.id, { name: 'nightly export' });
    assert.ok(issued.token.startsWith(API_TOKEN_PREFIX), 'prefixed');
    const tokRows = await s.db.withTables<{ api_tokens: { token_hash: string } }>().selectFrom('api_tokens').select('token_hash').execute();
    assert.ok(!JSON.stringify(tokRows).includes(issued.token), 'the API token itself is not stored');
    assert.equal((await s.admin.tokenByValue(issued.token))?.apiToken.id, issued.apiToken.id);
    assert.deepEqual((await s.admin.listTokens({ userId: u.id })).map((t) => t.name), ['nightly export']);
    const revoked = await s.admin.revokeToken(issued.apiToken.id, now);
    const again = await s.admin.revokeToken(issued.apiToken.id, new Date('2027-01-01T00:00:00Z'));
    assert.equal(again.revokedAt, revoked.revokedAt, 'the first revocation time is kept');
    assert.deepEqual(await s.admin.listTokens({ userId: u.id }), [], 'revoked tokens are left out by default');
    assert.equal((await s.admin.listTokens({ userId: u.id, includeRevoked: true })).length, 1);
    assert.equal(await s.admin.deleteUser(u.id), true);
    assert.equal(await s.admin.tokenByValue(issued.token), undefined, 'tokens go with their user');
  });

  it('appends audit entries and lists them newest first, by tenant, with keyset paging', async () => {
    const s = await open();
    await s.tenants.create({ id: 'north', name: 'North' });
    const a = await s.audit.append({ actor: 'admin', action: 'tenant.create', target: 'north', tenantId: 'north', details: { name: 'North' } });
    await s.audit.append({ actor: 'admin', action: 'login' });
    const c = await s.audit.append({ actor: 'admin', action: 'connection.create', tenantId: 'default', target: 'c1' });
    assert.equal(typeof a.seq, 'number');
    const all = await s.audit.list();
    assert.deepEqual(all.map((e) => e.action), ['connection.create', 'login', 'tenant.create']);
    assert.deepEqual(all[2]?.details, { name: 'North' });
    assert.deepEqual((await s.audit.list({ tenantId: 'north' })).map((e) => e.seq), [a.seq]);
    assert.deepEqual((await s.audit.list({ beforeSeq: c.seq, limit: 1 })).map((e) => e.action), ['login']);
  });
});

describe('passwordProblem', () => {
  plainIt('asks for 12 to 1024 characters and nothing else', () => {
    assert.match(passwordProblem('short') ?? '', /at least 12/);
    assert.equal(passwordProblem('twelve chars'), undefined);
    assert.match(passwordProblem('x'.repeat(1025)) ?? '', /at most/);
  });
});
