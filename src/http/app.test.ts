import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyInstance } from 'fastify';
import { StoreError } from '../store/errors.ts';
import { openStore } from '../store/store.ts';
import { ScheduleError } from '../sync/schedule.ts';
import type { SchedulerStatus } from '../sync/scheduler.ts';
import { buildApp } from './app.ts';

describe('buildApp', () => {
  it('GET /healthz: 200 with the database and scheduler state', async () => {
    const store = await openStore({ url: ':memory:' });
    const status: SchedulerStatus = { state: 'running', concurrency: 2, active: [{ connectionId: 'c1', mode: 'full', since: '2025-01-01T00:00:00.000Z' }], lastScanOk: true };
    const app = await buildApp({ store, scheduler: { status: () => status } });
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json() as { status: string; db: { ok: boolean; dialect: string }; scheduler: Record<string, unknown> };
    assert.equal(body.status, 'ok');
    assert.deepEqual([body.db.ok, body.db.dialect], [true, 'sqlite']);
    assert.deepEqual(body.scheduler, { state: 'running', concurrency: 2, running: 1, lastScanOk: true });
    assert.ok(!res.body.includes('c1'), 'health does not list connection ids (it is unauthenticated)');
    await app.close();
    await store.close();
  });

  it('GET /healthz: 503 when the database does not answer; scheduler "off" without one', async () => {
    const store = await openStore({ url: ':memory:' });
    const app = await buildApp({ store });
    await store.close();
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 503);
    const body = res.json() as { status: string; db: { ok: boolean }; scheduler: { state: string } };
    assert.equal(body.status, 'unavailable');
    assert.equal(body.db.ok, false);
    assert.equal(body.scheduler.state, 'off');
    await app.close();
  });

  it('mounts plugins under their prefix, each in its own scope, and maps typed errors to statuses', async () => {
    const store = await openStore({ url: ':memory:' });
    const seen: unknown[] = [];
    const plugin = async (app: FastifyInstance, opts: { greeting?: string }): Promise<void> => {
      seen.push(opts.greeting);
      app.addHook('onRequest', async (req, reply) => {
        if (req.headers['x-deny'] !== undefined) return reply.code(401).send({ error: 'unauthorized', message: 'no' });
      });
      app.get('/hello', async () => ({ hello: opts.greeting }));
      app.get('/missing', async () => {
        throw new StoreError('not_found', 'connection x does not exist');
      });
      app.get('/bad-cron', async () => {
        throw new ScheduleError('invalid_schedule', 'bad cron');
      });
      app.get('/boom', async () => {
        throw new Error('SELECT secret FROM somewhere');
      });
    };
    const other = async (app: FastifyInstance): Promise<void> => {
      app.get('/other', async () => ({ ok: true }));
    };
    const app = await buildApp({
      store,
      plugins: [
        { name: 'demo', plugin, options: { greeting: 'hi' }, prefix: '/api/demo' },
        { name: 'other', plugin: other },
      ],
    });
    assert.deepEqual(seen, ['hi'], 'options reach the plugin');
    assert.deepEqual((await app.inject({ url: '/api/demo/hello' })).json(), { hello: 'hi' });
    assert.equal((await app.inject({ url: '/api/demo/hello', headers: { 'x-deny': '1' } })).statusCode, 401, 'the plugin hook applies inside it');
    assert.equal((await app.inject({ url: '/other', headers: { 'x-deny': '1' } })).statusCode, 200, 'but not to other plugins');
    const missing = await app.inject({ url: '/api/demo/missing' });
    assert.equal(missing.statusCode, 404);
    assert.deepEqual(missing.json(), { error: 'not_found', message: 'connection x does not exist' });
    assert.equal((await app.inject({ url: '/api/demo/bad-cron' })).statusCode, 400);
    const boom = await app.inject({ url: '/api/demo/boom' });
    assert.equal(boom.statusCode, 500);
    assert.ok(!boom.body.includes('SELECT'), 'an unexpected error message is not sent to the client');
    await app.close();
    await store.close();
  });
});
