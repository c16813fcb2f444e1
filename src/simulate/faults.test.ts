import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { createOneRosterServer } from '../serve/oneroster-server.ts';
import { tinyDistrict } from '../serve/test-district.ts';
import { FaultDice, FaultSpecError, hasFaults, installFaults, parseFaults } from './faults.ts';

test('parses the documented example', () => {
  const c = parseFaults('latency=20ms,429=0.1,retry-after=2|date,5xx=0.05,clamp=1000,no-total,no-link,drop=0.02,seed=7');
  assert.deepEqual(c.latencyMs, { min: 20, max: 20 });
  assert.equal(c.rate429, 0.1);
  assert.deepEqual(c.retryAfter, { seconds: 2, form: 'date' });
  assert.deepEqual(c.rate5xx, { 500: 0.0125, 502: 0.0125, 503: 0.0125, 504: 0.0125 });
  assert.equal(c.clamp, 1000);
  assert.equal(c.noTotal, true);
  assert.equal(c.noLink, true);
  assert.equal(c.drop, 0.02);
  assert.equal(c.seed, 7);
  assert.equal(hasFaults(c), true);
});

test('variants', () => {
  assert.deepEqual(parseFaults('latency=10-50ms').latencyMs, { min: 10, max: 50 });
  assert.deepEqual(parseFaults('latency=1s').latencyMs, { min: 1000, max: 1000 });
  assert.deepEqual(parseFaults('latency=5').latencyMs, { min: 5, max: 5 });
  assert.deepEqual(parseFaults('retry-after=3').retryAfter, { seconds: 3, form: 'seconds' });
  assert.deepEqual(parseFaults('retry-after=date').retryAfter, { seconds: 1, form: 'date' });
  assert.deepEqual(parseFaults(' 503=0.5 , 500=0.25 ').rate5xx, { 503: 0.5, 500: 0.25 });
  assert.equal(hasFaults(parseFaults('')), false);
  assert.equal(hasFaults(parseFaults('none')), false);
  assert.equal(hasFaults(parseFaults('seed=3')), false);
});

test('clear errors', () => {
  const msg = (spec: string): string => {
    try {
      parseFaults(spec);
      return 'no error';
    } catch (e) {
      assert.ok(e instanceof FaultSpecError, 'e instanceof FaultSpecError');
      return e.message;
    }
  };
  assert.equal(msg('x'), 'unknown fault "x"');
  assert.equal(msg('429=0.1,bogus=3'), 'unknown fault "bogus"');
  assert.match(msg('429=2'), /^invalid value for fault "429": "2"/);
  assert.match(msg('429=abc'), /^invalid value for fault "429"/);
  assert.equal(msg('clamp'), 'fault "clamp" needs a value');
  assert.match(msg('clamp=0'), /integer ≥ 1/);
  assert.equal(msg('no-total=1'), 'fault "no-total" takes no value');
  assert.match(msg('latency=fast'), /expected a duration/);
  assert.match(msg('latency=50-10ms'), /max below min/);
  assert.match(msg('429=0.6,5xx=0.6'), /more than 1/);
});

test('dice are deterministic per seed and follow the rates', () => {
  const spec = parseFaults('429=0.2,503=0.1,drop=0.1,latency=0-10ms,seed=42');
  const run = () => {
    const d = new FaultDice(spec);
    return Array.from({ length: 2000 }, () => d.next());
  };
  const a = run();
  assert.deepEqual(a, run());
  const other = new FaultDice(parseFaults('429=0.2,503=0.1,drop=0.1,latency=0-10ms,seed=43'));
  assert.notDeepEqual(a.slice(0, 50), Array.from({ length: 50 }, () => other.next()));
  const count = (p: (x: (typeof a)[number]) => boolean) => a.filter(p).length / a.length;
  assert.ok(Math.abs(count((x) => x.status === 429) - 0.2) < 0.03, 'Math.abs(count((x) => x.status === 429) - 0.2) < 0.03');
  assert.ok(Math.abs(count((x) => x.status === 503) - 0.1) < 0.03, 'Math.abs(count((x) => x.status === 503) - 0.1) < 0.03');
  // drop only happens on requests that were not answered with an error status
  assert.ok(Math.abs(count((x) => x.drop) - 0.07) < 0.03, 'Math.abs(count((x) => x.drop) - 0.07) < 0.03');
  assert.ok(a.every((x) => x.delayMs >= 0 && x.delayMs <= 10), 'a.every((x) => x.delayMs >= 0 && x.delayMs <= 10)');
  assert.ok(a.every((x) => !(x.drop && x.status !== undefined)), 'a.every((x) => !(x.drop && x.status !== undefined))');
});

// ---------------------------------------------------------------------------------------------
// Over HTTP: each fault kind on a real socket, OneRoster routes only.


const P = '/ims/oneroster/v1p1';
const CLIENT = { clientId: 'c', clientSecret: 's' };

async function withServer(spec: string, fn: (base: string, token: string) => Promise<void>): Promise<void> {
  const config = parseFaults(spec);
  const app = await createOneRosterServer({
    source: tinyDistrict(),
    auth: { mode: 'oauth2', credentials: [CLIENT] },
    configure: (scope) => installFaults(scope, config),
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    // The token endpoint is never faulted, even at 100% rates.
    const t = await fetch(`${base}/oauth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&client_id=c&client_secret=s',
    });
    assert.equal(t.status, 200);
    const { access_token } = (await t.json()) as { access_token: string };
    await fn(base, access_token);
  } finally {
    await app.close();
  }
}

const auth = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });

test('429 with Retry-After in seconds and HTTP-date form', async () => {
  await withServer('429=1,retry-after=2', async (base, token) => {
    const r = await fetch(`${base}${P}/users`, auth(token));
    assert.equal(r.status, 429);
    assert.equal(r.headers.get('retry-after'), '2');
    assert.match(await r.text(), /server_busy/);
  });
  await withServer('429=1,retry-after=30|date', async (base, token) => {
    const r = await fetch(`${base}${P}/users`, auth(token));
    assert.equal(r.status, 429);
    const when = Date.parse(r.headers.get('retry-after') ?? '');
    assert.ok(Math.abs(when - (Date.now() + 30_000)) < 3000, r.headers.get('retry-after') ?? '');
  });
});

test('5xx statuses: imsx for 500/503, HTML for 502/504', async () => {
  for (const status of [500, 502, 503, 504]) {
    await withServer(`${status}=1`, async (base, token) => {
      const r = await fetch(`${base}${P}/orgs`, auth(token));
      assert.equal(r.status, status);
      const type = r.headers.get('content-type') ?? '';
      if (status === 500 || status === 503) assert.match(type, /application\/json/);
      else assert.match(type, /text\/html/);
      await r.arrayBuffer();
    });
  }
});

test('clamp silently caps limit; paging headers agree', async () => {
  await withServer('clamp=2', async (base, token) => {
    const r = await fetch(`${base}${P}/users?limit=100`, auth(token));
    const b = (await r.json()) as { users: unknown[]; statusInfoSet?: unknown };
    assert.equal(b.users.length, 2);
    assert.equal(b.statusInfoSet, undefined);
    assert.equal(r.headers.get('x-total-count'), '7');
    assert.match(r.headers.get('link') ?? '', /limit=2&offset=2>; rel="next"/);
    const small = (await (await fetch(`${base}${P}/users?limit=1`, auth(token))).json()) as { users: unknown[] };
    assert.equal(small.users.length, 1);
  });
});

test('no-total and no-link omit the headers', async () => {
  await withServer('no-total,no-link', async (base, token) => {
    const r = await fetch(`${base}${P}/users?limit=2`, auth(token));
    assert.equal(r.status, 200);
    assert.equal(r.headers.get('x-total-count'), null);
    assert.equal(r.headers.get('link'), null);
    assert.equal(((await r.json()) as { users: unknown[] }).users.length, 2);
  });
});

test('latency delays responses', async () => {
  await withServer('latency=80ms', async (base, token) => {
    const t0 = performance.now();
    const r = await fetch(`${base}${P}/orgs`, auth(token));
    await r.arrayBuffer();
    assert.ok(performance.now() - t0 >= 75, 'performance.now() - t0 >= 75');
  });
});

test('drop cuts the connection mid-response', async () => {
  await withServer('drop=1', async (base, token) => {
    await assert.rejects(async () => {
      const r = await fetch(`${base}${P}/users`, auth(token));
      await r.text();
    });
  });
});

test('same seed, same fates', async () => {
  const fates = async (): Promise<number[]> => {
    const out: number[] = [];
    await withServer('429=0.3,503=0.2,seed=9', async (base, token) => {
      for (let i = 0; i < 30; i++) {
        const r = await fetch(`${base}${P}/orgs`, auth(token));
        await r.arrayBuffer();
        out.push(r.status);
      }
    });
    return out;
  };
  const a = await fates();
  assert.deepEqual(a, await fates());
  assert.ok(a.includes(200) && a.includes(429) && a.includes(503), 'a.includes(200) && a.includes(429) && a.includes(503)');
});
