import { strict as assert } from 'node:assert';
import { sql } from 'kysely';
import { findProvider } from '../sds/provider-catalog.ts';
import { canChoose, effectiveStatus } from '../sds/toggles.ts';
import { isStoreError } from './errors.ts';
import { ProviderStateRepository } from './provider-state-repository.ts';
import { forEachDialect } from './test-dialects.ts';

const PASSED = { baseUrl: 'http://127.0.0.1:1/ims/oneroster/v1p1', checks: [{ id: 'endpoint-users', status: 'pass' as const }, { id: 'contacts', status: 'skip' as const }] };

forEachDialect('migration 0002_provider_flights', ({ it, freshUrl, openAt }) => {
  it('applies once; migrating twice (and reopening) changes nothing and keeps the rows', async () => {
    const url = await freshUrl();
    const a = await openAt(url);
    const applied = await sql<{ name: string }>`select name from kysely_migration order by name`.execute(a.db);
    assert.deepEqual(applied.rows.map((r) => r.name).slice(0, 2), ['0001_initial', '0002_provider_flights']);
    await a.providerStates.flight('follett-aspen', 'default', 'alice');
    assert.deepEqual((await a.migrate()).results, []);
    await a.close();
    const b = await openAt(url);
    assert.deepEqual((await b.migrate()).results, []);
    assert.deepEqual([...(await b.providerStates.state('default')).flighted], ['follett-aspen']);
    await b.close();
  });
});

forEachDialect('ProviderStateRepository', ({ it, open }) => {
  it('flight is idempotent and keeps the first who/when; unflight removes it', async () => {
    const s = await open();
    let t = 0;
    const repo = new ProviderStateRepository(s.db, () => new Date(Date.UTC(2026, 0, 1, 0, 0, t++)));
    const first = await repo.flight('follett-aspen', 'default', '  alice ');
    assert.equal(first.created, true);
    assert.deepEqual(first.flight, { tenantId: 'default', providerId: 'follett-aspen', by: 'alice', at: '2026-01-01T00:00:00.000Z' });
    const again = await repo.flight('follett-aspen', 'default', 'bob');
    assert.equal(again.created, false);
    assert.equal(again.flight.by, 'alice', 'second flight does not overwrite who');
    assert.equal(again.flight.at, '2026-01-01T00:00:00.000Z');
    assert.deepEqual(await repo.state('default'), { flighted: new Set(['follett-aspen']), promoted: new Set() });
    assert.equal(await repo.unflight('follett-aspen', 'default'), true);
    assert.equal(await repo.unflight('follett-aspen', 'default'), false);
    assert.equal((await repo.state('default')).flighted.size, 0);
    await s.close();
  });

  it('state is per tenant and feeds canChoose / effectiveStatus', async () => {
    const s = await open();
    await s.tenants.create({ id: 'district-b', name: 'B' });
    const aspen = findProvider('follett-aspen')!;
    assert.equal(aspen.status, 'Test');
    await s.providerStates.flight(aspen.id, 'district-b', 'carol');
    assert.equal(canChoose(aspen, await s.providerStates.state('default')).ok, false, 'default tenant is not flighted');
    assert.deepEqual(canChoose(aspen, await s.providerStates.state('district-b')), { ok: true, via: 'flighted' });
    await s.providerStates.promote(aspen.id, 'default', 'dave', PASSED);
    const st = await s.providerStates.state('default');
    assert.deepEqual(canChoose(aspen, st), { ok: true, via: 'promoted' });
    assert.equal(effectiveStatus(aspen, st.promoted), 'Yes');
    await s.close();
  });

  it('promote records who/when/checks, replaces on re-promotion, and refuses failed or empty summaries', async () => {
    const s = await open();
    const clock = ['2026-02-01T10:00:00.000Z', '2026-02-02T10:00:00.000Z'];
    const repo = new ProviderStateRepository(s.db, () => new Date(clock.shift()!));
    const p = await repo.promote('realtime', 'default', 'erin', PASSED);
    assert.deepEqual(p, { tenantId: 'default', providerId: 'realtime', by: 'erin', at: '2026-02-01T10:00:00.000Z', checkSummary: PASSED });
    await repo.promote('realtime', 'default', 'frank', { checks: [{ id: 'paging', status: 'pass' }] });
    const list = await repo.list('default');
    assert.equal(list.length, 1);
    assert.equal(list[0]!.flight, undefined);
    assert.deepEqual(list[0]!.promotion, { tenantId: 'default', providerId: 'realtime', by: 'frank', at: '2026-02-02T10:00:00.000Z', checkSummary: { checks: [{ id: 'paging', status: 'pass' }] } });

    await assert.rejects(
      repo.promote('fujitsu', 'default', 'erin', { checks: [{ id: 'paging', status: 'pass' }, { id: 'total-count', status: 'fail' }] }),
      (e) => isStoreError(e, 'invalid_input') && /total-count/.test(e.message),
    );
    await assert.rejects(repo.promote('fujitsu', 'default', 'erin', { checks: [] }), (e) => isStoreError(e, 'invalid_input'));
    assert.equal((await repo.state('default')).promoted.has('fujitsu'), false);
    await s.close();
  });

  it('list merges flight and promotion; unflight keeps the promotion', async () => {
    const s = await open();
    await s.providerStates.flight('realtime', 'default', 'a');
    await s.providerStates.flight('cloudclass', 'default', 'b');
    await s.providerStates.promote('realtime', 'default', 'c', PASSED);
    const list = await s.providerStates.list('default');
    assert.deepEqual(list.map((e) => [e.providerId, e.flight?.by, e.promotion?.by]), [['cloudclass', 'b', undefined], ['realtime', 'a', 'c']]);
    await s.providerStates.unflight('realtime', 'default');
    assert.deepEqual(await s.providerStates.state('default'), { flighted: new Set(['cloudclass']), promoted: new Set(['realtime']) });
    await s.close();
  });

  it('validates ids and tenants', async () => {
    const s = await open();
    await assert.rejects(s.providerStates.flight('realtime', 'nope', 'a'), (e) => isStoreError(e, 'not_found'));
    await assert.rejects(s.providerStates.promote('realtime', 'nope', 'a', PASSED), (e) => isStoreError(e, 'not_found'));
    await assert.rejects(s.providerStates.flight('Bad Id', 'default', 'a'), (e) => isStoreError(e, 'invalid_input'));
    await assert.rejects(s.providerStates.flight('realtime', 'default', '   '), (e) => isStoreError(e, 'invalid_input'));
    await s.close();
  });

  it('a tenant delete cascades to its flights and promotions', async () => {
    const s = await open();
    await s.tenants.create({ id: 'gone', name: 'Gone' });
    await s.providerStates.flight('realtime', 'gone', 'a');
    await s.providerStates.promote('realtime', 'gone', 'a', PASSED);
    await s.db.deleteFrom('tenants').where('id', '=', 'gone').execute();
    assert.deepEqual(await s.providerStates.list('gone'), []);
    await s.close();
  });
});
