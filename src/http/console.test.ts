import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { adminApiPlugin } from './admin/admin-api.ts';
import { TEST_COST } from './admin/test-support.ts';
import { buildApp } from './app.ts';
import { consolePlugin } from './console.ts';
import { openStore } from '../store/store.ts';

/** A fake console build: index.html and one hashed asset. */
function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'rostersync-console-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>Rostersync</title><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script>');
  writeFileSync(join(dir, 'assets', 'index-abc123.js'), 'console.log("console")');
  writeFileSync(join(dir, 'favicon.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  return dir;
}

async function appWith(root: string, logLines: string[] = []) {
  const store = await openStore({ url: ':memory:' });
  const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => (logLines.push(chunk.toString()), cb()) }));
  const app = await buildApp({
    store,
    logger,
    plugins: [
      { name: 'admin', plugin: adminApiPlugin, options: { store, passwordCost: TEST_COST, adminPassword: 'a long enough password', announce: () => undefined } },
      { name: 'console', plugin: consolePlugin, options: { root } },
    ],
  });
  return {
    app,
    close: async () => {
      await app.close();
      await store.close();
    },
  };
}

describe('web console serving', () => {
  it('serves the build at /, falls back to index.html for console paths, and keeps API misses JSON', async (t) => {
    const root = fakeBuild();
    const { app, close } = await appWith(root);
    t.after(async () => {
      await close();
      rmSync(root, { recursive: true, force: true });
    });

    for (const path of ['/', '/runs/12', '/data/c1/users/stu.0001', '/holds?x=1']) {
      const res = await app.inject({ url: path });
      assert.equal(res.statusCode, 200, path);
      assert.match(res.headers['content-type'] as string, /^text\/html/, path);
      assert.match(res.body, /<div id="root">/, `${path} answers the app`);
      assert.match(res.headers['content-security-policy'] as string, /default-src 'self'.*frame-ancestors 'none'/, `${path} carries the CSP`);
      assert.equal(res.headers['cache-control'], 'no-cache', `${path}: index.html is never cached stale`);
    }
    const asset = await app.inject({ url: '/assets/index-abc123.js' });
    assert.equal(asset.statusCode, 200);
    assert.match(asset.headers['content-type'] as string, /javascript/);
    assert.equal(asset.headers['cache-control'], 'public, max-age=31536000, immutable', 'hashed assets are cached for a year');
    assert.equal((await app.inject({ url: '/favicon.svg' })).statusCode, 200);

    for (const [method, url] of [['GET', '/assets/missing-123.js'], ['GET', '/api/v1/no-such-route'], ['GET', '/ims/oneroster/v1p1/nope'], ['POST', '/runs/12'], ['GET', '/healthz/x']] as const) {
      const res = await app.inject({ method, url });
      assert.equal(res.statusCode, 404, `${method} ${url}`);
      assert.deepEqual(res.json(), { error: 'not_found', message: `no route ${method} ${url}` }, `${method} ${url} is a JSON 404`);
    }
    // The APIs are untouched by the fallback.
    assert.equal((await app.inject({ url: '/api/v1/me' })).statusCode, 401, 'the admin API still answers');
    assert.equal((await app.inject({ url: '/api/v1/openapi.json' })).statusCode, 200);
    assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  });

  it('without a build: logs how to build it, answers a hint page at /, and the API works', async (t) => {
    const root = mkdtempSync(join(tmpdir(), 'rostersync-console-empty-'));
    const lines: string[] = [];
    const { app, close } = await appWith(root, lines);
    t.after(async () => {
      await close();
      rmSync(root, { recursive: true, force: true });
    });
    assert.ok(lines.some((l) => l.includes('npm run build:web')), `the hint is logged: ${lines.join('')}`);
    const res = await app.inject({ url: '/' });
    assert.equal(res.statusCode, 404);
    assert.match(res.body, /npm run build:web/);
    assert.equal((await app.inject({ url: '/api/v1/me' })).statusCode, 401, 'the admin API works without the console');
    assert.equal((await app.inject({ url: '/api/v1/nope' })).statusCode, 404);
  });
});
