import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { parseApiScopes } from './api-client-repository.ts';
import { isStoreError } from './errors.ts';
import { forEachDialect } from './test-dialects.ts';

const KEY = Buffer.alloc(32, 3);

forEachDialect('ApiClientRepository', ({ it, open }) => {
  it('creates a client whose secret is shown once and stored only as a scrypt hash', async () => {
    const store = await open({ secretKey: KEY });
    const conn = await store.connections.create({ name: 'sis', baseUrl: 'http://sis.example/ims/oneroster/v1p1', authKind: 'none' });
    const { client, clientSecret } = await store.apiClients.create({ connectionId: conn.id, name: 'LMS', scopes: ['roster', 'roster-core', 'roster'] });
    assert.match(clientSecret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes, base64url');
    assert.match(client.clientId, /^rsc_[0-9a-f]{24}$/);
    assert.deepEqual(client.scopes, ['roster-core', 'roster'], 'de-duplicated, in canonical order');
    assert.equal(client.tenantId, 'default', "the connection's tenant");
    assert.equal(client.oauth1, false);
    const rows = await sql<Record<string, unknown>>`select * from api_clients`.execute(store.db);
    const text = JSON.stringify(rows.rows);
    assert.ok(!text.includes(clientSecret), 'the secret is not stored in clear');
    assert.match(String(rows.rows[0]!['secret_hash']), /^scrypt\$16384\$8\$1\$/);
    assert.equal(rows.rows[0]!['secret_ciphertext'], null, 'nothing sealed for an OAuth 2-only client');
    assert.ok(!JSON.stringify(client).includes('secret_hash') && !JSON.stringify(client).includes(clientSecret), 'reads never carry the secret or hash');

    assert.equal((await store.apiClients.authenticate(client.clientId, clientSecret))?.id, client.id, 'right secret');
    assert.equal(await store.apiClients.authenticate(client.clientId, `${clientSecret}x`), undefined, 'wrong secret');
    assert.equal(await store.apiClients.authenticate('rsc_unknown', clientSecret), undefined, 'unknown client id');
    assert.equal(await store.apiClients.oauth1Secret(client.clientId), undefined, 'not an OAuth 1.0a client');
  });

  it('keeps an OAuth 1.0a secret sealed, rotates and revokes', async () => {
    const store = await open({ secretKey: KEY });
    const conn = await store.connections.create({ name: 'sis', baseUrl: 'http://sis.example/ims/oneroster/v1p1', authKind: 'none' });
    const { client, clientSecret } = await store.apiClients.create({ connectionId: conn.id, name: 'legacy', scopes: ['roster-core'], oauth1: true });
    assert.equal(client.oauth1, true);
    assert.equal((await store.apiClients.oauth1Secret(client.clientId))?.secret, clientSecret, 'unsealed for signature checks');
    const sealed = await store.db.selectFrom('api_clients').select('secret_ciphertext').executeTakeFirstOrThrow();
    assert.ok(sealed.secret_ciphertext !== null && !sealed.secret_ciphertext.includes(clientSecret), 'sealed, not in clear');

    const rotated = await store.apiClients.rotate(client.id, new Date('2026-02-01T00:00:00.000Z'));
    assert.notEqual(rotated.clientSecret, clientSecret);
    assert.equal(rotated.client.rotatedAt, '2026-02-01T00:00:00.000Z');
    assert.equal(await store.apiClients.authenticate(client.clientId, clientSecret), undefined, 'old secret refused');
    assert.ok(await store.apiClients.authenticate(client.clientId, rotated.clientSecret), 'new secret accepted');
    assert.equal((await store.apiClients.oauth1Secret(client.clientId))?.secret, rotated.clientSecret, 'the sealed copy follows');

    const revoked = await store.apiClients.revoke(client.clientId, new Date('2026-03-01T00:00:00.000Z'));
    assert.equal(revoked.revokedAt, '2026-03-01T00:00:00.000Z');
    assert.equal((await store.apiClients.revoke(client.id, new Date('2026-04-01T00:00:00.000Z'))).revokedAt, '2026-03-01T00:00:00.000Z', 'revoking again keeps the first time');
    assert.equal(await store.apiClients.authenticate(client.clientId, rotated.clientSecret), undefined, 'revoked: no authentication');
    assert.equal(await store.apiClients.oauth1Secret(client.clientId), undefined, 'revoked: no signatures');
    await assert.rejects(store.apiClients.rotate(client.id), (e: unknown) => isStoreError(e, 'invalid_input'));
    assert.deepEqual(await store.apiClients.list(), [], 'revoked clients are hidden by default');
    assert.equal((await store.apiClients.list({ includeRevoked: true })).length, 1);
  });

  it('refuses bad input, needs the key for OAuth 1.0a, lists by connection, and goes with its connection', async () => {
    const store = await open(); // no secret key
    const c1 = await store.connections.create({ name: 'one', baseUrl: 'http://one.example/ims/oneroster/v1p1', authKind: 'none' });
    const c2 = await store.connections.create({ name: 'two', baseUrl: 'http://two.example/ims/oneroster/v1p1', authKind: 'none' });
    await assert.rejects(store.apiClients.create({ connectionId: 'nope', name: 'x', scopes: ['roster'] }), (e: unknown) => isStoreError(e, 'not_found'));
    await assert.rejects(store.apiClients.create({ connectionId: c1.id, name: ' ', scopes: ['roster'] }), (e: unknown) => isStoreError(e, 'invalid_input'));
    await assert.rejects(store.apiClients.create({ connectionId: c1.id, name: 'x', scopes: ['rostering'] }), (e: unknown) => isStoreError(e, 'invalid_input'));
    await assert.rejects(store.apiClients.create({ connectionId: c1.id, name: 'x', scopes: ['roster'], oauth1: true }), (e: unknown) => isStoreError(e, 'secret_key_missing'));
    const a = await store.apiClients.create({ connectionId: c1.id, name: 'a', scopes: ['roster-core'] });
    const b = await store.apiClients.create({ connectionId: c2.id, name: 'b', scopes: ['roster-core'] });
    assert.deepEqual((await store.apiClients.list({ connectionId: c1.id })).map((c) => c.id), [a.client.id]);
    assert.equal((await store.apiClients.get(b.client.clientId))?.id, b.client.id, 'found by client id');
    await store.apiClients.touch(a.client.id, new Date('2026-05-05T05:05:05.000Z'));
    assert.equal((await store.apiClients.get(a.client.id))?.lastUsedAt, '2026-05-05T05:05:05.000Z');
    await store.connections.delete(c1.id);
    assert.equal(await store.apiClients.get(a.client.id), undefined, 'deleted with its connection');
    assert.ok(await store.apiClients.get(b.client.id), 'other connections keep theirs');
  });
});

test('parseApiScopes reads comma lists in canonical order and refuses empty or unknown ones', () => {
  assert.deepEqual(parseApiScopes('demographics, roster-core'), ['roster-core', 'demographics']);
  assert.throws(() => parseApiScopes(''), (e: unknown) => isStoreError(e, 'invalid_input'));
  assert.throws(() => parseApiScopes(['roster', 'admin']), (e: unknown) => isStoreError(e, 'invalid_input'));
});
