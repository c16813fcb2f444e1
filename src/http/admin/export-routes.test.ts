import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { readZipEntries } from '../../outputs/zip-entries.ts';
import { syncConnection } from '../../services/sync-service.ts';
import { startSimulator } from '../../simulate/server.ts';
import { ADMIN_PASSWORD, as, login, startAdmin } from './test-support.ts';

describe('export routes', () => {
  it('downloads SDS CSV and OneRoster CSV zips of a synced connection; a bad --since is refused', async (t) => {
    const sim = await startSimulator({ size: 'tiny', auth: 'none', seed: 3 });
    const a = await startAdmin();
    t.after(async () => {
      await a.close();
      await sim.close();
    });
    const { connection, result } = await syncConnection({ store: a.store, access: { baseUrl: sim.baseUrl, auth: { kind: 'none' } }, connectionName: 'sim', toggles: { contacts: true, demographics: false, userFlags: true } });
    assert.equal(result.status, 'succeeded');
    const root = await login(a.app, 'admin', ADMIN_PASSWORD);

    const sds = await as(a.app, root, { url: `/api/v1/connections/${connection.id}/exports/sds-csv` });
    assert.equal(sds.statusCode, 200, sds.body);
    assert.equal(sds.headers['content-type'], 'application/zip');
    const sdsFiles = readZipEntries(sds.rawPayload).map((e) => e.name).sort();
    assert.ok(['orgs.csv', 'users.csv', 'enrollments.csv', 'relationships.csv'].every((f) => sdsFiles.includes(f)), sdsFiles.join(','));

    const or = await as(a.app, root, { url: `/api/v1/connections/${connection.id}/exports/oneroster-csv` });
    assert.equal(or.statusCode, 200, or.body);
    const entries = readZipEntries(or.rawPayload);
    assert.ok(entries.some((e) => e.name === 'manifest.csv'), 'manifest in the zip');
    const users = entries.find((e) => e.name === 'users.csv');
    assert.ok(users && users.data.toString('utf8').split('\n').length > 10, 'users rows');

    const bad = await as(a.app, root, { url: `/api/v1/connections/${connection.id}/exports/oneroster-csv?since=9999` });
    assert.equal(bad.statusCode, 404, bad.body);
    const audit = await a.store.audit.list({});
    assert.ok(audit.some((r) => r.action === 'export.oneroster_csv'), 'exports are audited');
  });
});
