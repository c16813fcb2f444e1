import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { startSimulator } from './server.ts';

async function tokenFor(tokenUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const r = await fetch(tokenUrl, {
    method: 'POST',
    headers: {
      authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64'),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials',
  });
  assert.equal(r.status, 200);
  return ((await r.json()) as { access_token: string }).access_token;
}

test('simulator: generated credentials, OneRoster API, control endpoints, faults only on OneRoster routes', async () => {
  const sim = await startSimulator({ size: 'tiny', seed: 3, faults: 'no-total' });
  try {
    assert.match(sim.baseUrl, /^http:\/\/127\.0\.0\.1:\d+\/ims\/oneroster\/v1p1$/);
    assert.ok(sim.clientId.length > 0 && sim.clientSecret.length >= 20, 'sim.clientId.length > 0 && sim.clientSecret.length >= 20');
    assert.equal((await fetch(`${sim.baseUrl}/users`)).status, 401);
    const token = await tokenFor(sim.tokenUrl, sim.clientId, sim.clientSecret);
    const auth = { headers: { authorization: `Bearer ${token}` } };

    const users = await fetch(`${sim.baseUrl}/users?limit=5`, auth);
    assert.equal(users.status, 200);
    assert.equal(users.headers.get('x-total-count'), null); // the no-total fault
    assert.equal(((await users.json()) as { users: unknown[] }).users.length, 5);

    const stats = await fetch(`${sim.rootUrl}/simulator/stats`);
    assert.equal(stats.status, 200);
    assert.ok(stats.headers.get('x-total-count') === null, 'control endpoints are not faulted');
    const before = (await stats.json()) as { version: number; size: string };
    assert.equal(before.size, 'tiny');

    const adv = await fetch(`${sim.rootUrl}/simulator/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"days":30}' });
    assert.equal(adv.status, 200);
    const summary = (await adv.json()) as { days: number; from: string; to: string };
    assert.equal(summary.days, 30);
    assert.ok(summary.to > summary.from, 'summary.to > summary.from');
    assert.equal(sim.district.version > before.version, true);

    // Changes after advancing are visible to a delta query.
    const delta = await fetch(`${sim.baseUrl}/users?filter=${encodeURIComponent(`dateLastModified>'${summary.from}'`)}`, auth);
    assert.equal(delta.status, 200);

    const bad = await fetch(`${sim.rootUrl}/simulator/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"days":-1}' });
    assert.equal(bad.status, 400);
    const tooFar = await fetch(`${sim.rootUrl}/simulator/advance`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"days":367}' });
    assert.equal(tooFar.status, 400);
    assert.match(((await tooFar.json()) as { error: string }).error, /0\.\.366/);
  } finally {
    await sim.close();
  }
});

test('simulator: SDS checks hold on a generated district (small)', async () => {
  const sim = await startSimulator({ size: 'small', seed: 1, auth: 'none', prefix: '/district42/ims/oneroster/v1p1' });
  try {
    const get = async (path: string) => {
      const r = await fetch(sim.baseUrl + path);
      assert.equal(r.status, 200, path);
      assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
      return { body: (await r.json()) as Record<string, Array<Record<string, unknown>>>, total: Number(r.headers.get('x-total-count')) };
    };
    const page = await get(`/enrollments?filter=${encodeURIComponent("status='active'")}&limit=5000`);
    assert.equal(page.body['enrollments']?.length, Math.min(5000, page.total));
    for (const e of page.body['enrollments'] ?? []) {
      assert.equal(e['status'], 'active');
      assert.match(e['dateLastModified'] as string, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    }
    const contacts = (await get(`/users?filter=${encodeURIComponent("role='guardian'")}&limit=20`)).body['users'] ?? [];
    assert.ok(contacts.length > 0, 'contacts.length > 0');
    for (const c of contacts.slice(0, 5)) {
      const agent = (c['agents'] as Array<{ sourcedId: string }>)[0];
      assert.ok(agent, 'agent');
      const u = (await get(`/users/${encodeURIComponent(agent.sourcedId)}`)).body['user'] as unknown as Record<string, unknown>;
      assert.equal(u['role'], 'student');
      assert.ok((u['agents'] as unknown[]).length > 0, 'student has agents');
    }
    const school = ((await get('/schools?limit=1')).body['orgs'] ?? [])[0] as Record<string, unknown>;
    const classes = await get(`/schools/${school['sourcedId'] as string}/classes?limit=3`);
    assert.ok(classes.total > 0, 'classes.total > 0');
    const cls = (classes.body['classes'] ?? [])[0] as Record<string, unknown>;
    assert.ok((await get(`/classes/${cls['sourcedId'] as string}/students`)).total > 0, 'class has students');
    assert.ok((await get(`/schools/${school['sourcedId'] as string}/terms`)).total > 0, 'school has terms');
  } finally {
    await sim.close();
  }
});

test('child process prints one JSON line, serves, and exits when stdin closes', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulate/child.ts', JSON.stringify({ size: 'tiny', auth: 'oauth2', clientId: 'kid', clientSecret: 'shh-secret-1234567890' })], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  try {
    const rl = createInterface({ input: child.stdout });
    const [line] = (await once(rl, 'line')) as [string];
    const info = JSON.parse(line) as { baseUrl: string; tokenUrl: string; clientId: string; clientSecret: string };
    assert.deepEqual(Object.keys(info), ['baseUrl', 'tokenUrl', 'clientId', 'clientSecret']);
    assert.equal(info.clientId, 'kid');
    const token = await tokenFor(info.tokenUrl, info.clientId, info.clientSecret);
    const r = await fetch(`${info.baseUrl}/orgs`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200);
    child.stdin.end();
    const [code] = (await once(child, 'exit')) as [number | null];
    assert.equal(code, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGTERM');
  }
});

test('child process exits on SIGTERM and reports bad options', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/simulate/child.ts', '{"size":"tiny","auth":"none"}'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
  assert.match(line, /"baseUrl"/);
  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);

  const bad = spawn(process.execPath, ['--import', 'tsx', 'src/simulate/child.ts', '{"size":"huge"}'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  bad.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const [badCode] = (await once(bad, 'exit')) as [number | null];
  assert.equal(badCode, 1);
  assert.match(err, /"error":"unknown district size: huge"/);
});
