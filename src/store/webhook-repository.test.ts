import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { seedChanges, seedConnections } from './change-test-support.ts';
import { isStoreError } from './errors.ts';
import { forEachDialect } from './test-dialects.ts';

const KEY = randomBytes(32);

forEachDialect('WebhookRepository', ({ it, open }) => {
  it('creates a subscriber with a sealed secret returned once; reads never carry it', async () => {
    const store = await open({ secretKey: KEY });
    await seedConnections(store, [{ id: 'c1' }]);
    await seedChanges(store, [{ sourcedId: 'u1' }, { sourcedId: 'u2' }]);
    const { subscriber, secret } = await store.webhooks.create({ url: 'https://hooks.example/rs?x=1', connectionId: 'c1', entities: ['users', 'enrollments', 'users'] });
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{32}$/);
    assert.match(subscriber.id, /^wh[0-9a-f]{10}$/);
    assert.deepEqual(subscriber.entities, ['users', 'enrollments'], 'deduplicated');
    assert.equal(subscriber.cursorSeq, 2, 'starts at the head: only changes applied from now on');
    assert.equal(subscriber.consecutiveFailures, 0);
    const listed = await store.webhooks.list();
    assert.equal(listed.length, 1);
    assert.ok(!JSON.stringify(listed).includes(secret), 'list does not carry the secret');
    const raw = await store.db.selectFrom('webhook_subscribers').select('secret_ciphertext').executeTakeFirstOrThrow();
    assert.ok(!raw.secret_ciphertext.includes(secret.slice(6)), 'stored sealed, not in clear');
    assert.equal(await store.webhooks.secret(subscriber.id), secret, 'opens with the store key');
    // A ciphertext copied to another subscriber's row does not open there (row id is bound in).
    const other = await store.webhooks.create({ url: 'https://other.example/' });
    await store.db.updateTable('webhook_subscribers').set({ secret_ciphertext: raw.secret_ciphertext }).where('id', '=', other.subscriber.id).execute();
    await assert.rejects(store.webhooks.secret(other.subscriber.id), (e) => isStoreError(e, 'secret_unreadable'));
  });

  it('refuses bad input and a store without a key', async () => {
    const keyless = await open();
    await assert.rejects(keyless.webhooks.create({ url: 'https://a.example/' }), (e) => isStoreError(e, 'secret_key_missing'));
    const store = await open({ secretKey: KEY });
    await seedConnections(store, [{ id: 'c1' }, { id: 'c9', tenantId: 't2' }]);
    const bad = async (input: Parameters<typeof store.webhooks.create>[0], code: 'invalid_input' | 'not_found') =>
      assert.rejects(store.webhooks.create(input), (e) => isStoreError(e, code), JSON.stringify(input));
    await bad({ url: 'not a url' }, 'invalid_input');
    await bad({ url: 'ftp://a.example/' }, 'invalid_input');
    await bad({ url: 'https://user:pw@a.example/' }, 'invalid_input');
    await bad({ url: 'https://a.example/', entities: ['pupils'] }, 'invalid_input');
    await bad({ url: 'https://a.example/', connectionId: 'nope' }, 'not_found');
    await bad({ url: 'https://a.example/', connectionId: 'c9' }, 'not_found');
    await bad({ url: 'https://a.example/', tenantId: 'nope' }, 'not_found');
  });

  it('keeps delivery state: cursor only forward, failures counted and reset, disable, enable, remove', async () => {
    const store = await open({ secretKey: KEY });
    await seedConnections(store, [{ id: 'c1' }, { id: 'c2' }, { id: 'c3', tenantId: 't2' }]);
    const all = (await store.webhooks.create({ url: 'https://all.example/' })).subscriber;
    const one = (await store.webhooks.create({ url: 'https://one.example/', connectionId: 'c1', startSeq: 0 })).subscriber;
    const two = (await store.webhooks.create({ url: 'https://two.example/', connectionId: 'c2' })).subscriber;
    const t2 = (await store.webhooks.create({ url: 'https://t2.example/', tenantId: 't2' })).subscriber;
    const forC1 = (await store.webhooks.list({ connectionId: 'c1' })).map((s) => s.id).sort();
    assert.deepEqual(forC1, [all.id, one.id].sort(), "c1's events go to its own and the tenant-wide subscribers");
    assert.deepEqual((await store.webhooks.list({ tenantId: 't2' })).map((s) => s.id), [t2.id]);
    assert.ok(two.id);

    assert.equal(await store.webhooks.cursor(one.id), 0);
    await store.webhooks.advance(one.id, 10);
    await store.webhooks.advance(one.id, 7);
    assert.equal(await store.webhooks.cursor(one.id), 10, 'a late, smaller advance never moves the cursor back');
    await store.webhooks.skipTo(all.id, 11);
    await store.webhooks.skipTo(all.id, 3);
    assert.equal(await store.webhooks.cursor(all.id), 11, 'skipTo moves forward only');
    assert.equal((await store.webhooks.get(all.id))!.lastDeliveryAt, undefined, 'a skip is not a delivery');
    assert.equal(await store.webhooks.recordFailure(one.id, 'HTTP 503'), 1);
    assert.equal(await store.webhooks.recordFailure(one.id, 'HTTP 500'), 2);
    let s = (await store.webhooks.get(one.id))!;
    assert.equal(s.lastError, 'HTTP 500');
    assert.ok(s.lastFailureAt, 'failure time recorded');
    await store.webhooks.advance(one.id, 12);
    s = (await store.webhooks.get(one.id))!;
    assert.equal(s.consecutiveFailures, 0, 'a success resets the count');
    assert.equal(s.cursorSeq, 12);
    assert.ok(s.lastDeliveryAt, 'delivery time recorded');

    await store.webhooks.disable(one.id, '15 consecutive failed deliveries; last: HTTP 500');
    s = (await store.webhooks.get(one.id))!;
    assert.equal(s.disabledReason, '15 consecutive failed deliveries; last: HTTP 500');
    assert.ok(s.disabledAt, 'disabled time recorded');
    assert.deepEqual((await store.webhooks.list({ connectionId: 'c1', enabledOnly: true })).map((x) => x.id), [all.id]);
    s = await store.webhooks.enable(one.id, { cursorSeq: 20 });
    assert.equal(s.disabledAt, undefined);
    assert.equal(s.disabledReason, undefined);
    assert.equal(s.cursorSeq, 20);
    await assert.rejects(store.webhooks.enable('whnope'), (e) => isStoreError(e, 'not_found'));

    assert.equal(await store.webhooks.remove(one.id), true);
    assert.equal(await store.webhooks.remove(one.id), false);
    assert.equal(await store.webhooks.get(one.id), undefined);
    // Deleting a connection removes its subscribers (foreign key cascade).
    await store.connections.delete('c2');
    assert.equal(await store.webhooks.get(two.id), undefined);
  });
});
