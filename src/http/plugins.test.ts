import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import pino from 'pino';
import { openStore } from '../store/store.ts';
import { buildApp } from './app.ts';
import { servePlugins } from './plugins.ts';

test('serve mounts the re-served OneRoster API for stored API clients (token endpoint + rostering GETs)', async (t) => {
  const store = await openStore({ url: ':memory:', secretKey: Buffer.alloc(32, 7) });
  await store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'none' });
  const { client, clientSecret } = await store.apiClients.create({ connectionId: 'sis', name: 'lms', scopes: ['roster-core'] });
  const app = await buildApp({ store, plugins: servePlugins({ store, logger: pino({ enabled: false }) }) });
  t.after(async () => {
    await app.close();
    await store.close();
  });
  const noToken = await app.inject({ method: 'GET', url: '/ims/oneroster/v1p1/orgs' });
  assert.equal(noToken.statusCode, 401, 'the API needs a token');
  const basic = Buffer.from(`${client.clientId}:${clientSecret}`).toString('base64');
  const tok = await app.inject({ method: 'POST', url: '/oauth/token', headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded' }, payload: 'grant_type=client_credentials' });
  assert.equal(tok.statusCode, 200, tok.body);
  const token = (JSON.parse(tok.body) as { access_token: string }).access_token;
  const orgs = await app.inject({ method: 'GET', url: '/ims/oneroster/v1p1/orgs', headers: { authorization: `Bearer ${token}` } });
  assert.equal(orgs.statusCode, 200, orgs.body);
  assert.deepEqual(JSON.parse(orgs.body), { orgs: [] });
  assert.equal(orgs.headers['x-total-count'], '0');
});
