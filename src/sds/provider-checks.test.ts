import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { User } from '../oneroster/types.ts';
import { startSimulator, type RunningSimulator, type SimulatorOptions } from '../simulate/server.ts';
import { parseConnection } from '../source/connection.ts';
import { OneRosterClient } from '../source/oneroster-client.ts';
import { NO_OPTIONAL_DATA, type Toggles } from './toggles.ts';
import { isStrictDateTime, requiredFieldProblems, runProviderChecks, type CheckResult, type RawReader, type RawReply } from './provider-checks.ts';

const ALL: Toggles = { contacts: true, demographics: true, userFlags: true };

async function withSimulator(options: SimulatorOptions, fn: (sim: RunningSimulator, client: OneRosterClient) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ auth: 'none', size: 'tiny', ...options });
  const client = new OneRosterClient(parseConnection({ baseUrl: sim.baseUrl, retry: { maxAttempts: 1 } }));
  try {
    await fn(sim, client);
  } finally {
    await client.close();
    await sim.close();
  }
}

function byId(results: CheckResult[]): Map<string, CheckResult> {
  return new Map(results.map((r) => [r.id, r]));
}

function failing(results: CheckResult[]): string[] {
  return results.filter((r) => r.status !== 'pass').map((r) => `${r.id}:${r.status}:${r.reason ?? ''}`);
}

/** Wraps a reader and rewrites chosen replies (a misbehaving provider in front of the simulator). */
function tamper(inner: RawReader, rewrite: (path: string, query: Record<string, string | number>, reply: RawReply) => RawReply | Promise<RawReply>): RawReader {
  return {
    async getRaw(path, query = {}, opts) {
      return rewrite(path, query, await inner.getRaw(path, query, opts));
    },
  };
}

const EXPECTED_IDS = [
  'endpoint-academicSessions', 'endpoint-orgs', 'endpoint-users', 'endpoint-classes', 'endpoint-enrollments',
  'endpoint-courses', 'endpoint-demographics', 'paging', 'no-records', 'total-count', 'date-format', 'delta',
  'filters', 'email-filter', 'contacts', 'user-flags', 'required-fields', 'response-time',
];

test('against the simulator every check passes, and no personal value appears in the results', async () => {
  await withSimulator({}, async (sim, client) => {
    const results = await runProviderChecks(client, { toggles: ALL });
    assert.deepEqual(results.map((r) => r.id), EXPECTED_IDS);
    assert.deepEqual(failing(results), []);
    for (const r of results) assert.ok(r.durationMs >= 0 && r.durationMs < 30_000, r.id);
    const text = JSON.stringify(results);
    for (const u of sim.district.records('users')) {
      const user = u as User;
      if (user.email !== undefined) assert.ok(!text.includes(user.email), 'email leaked');
    }
  });
});

test('with the no-total fault the X-Total-Count check fails naming the request', async () => {
  await withSimulator({ faults: 'no-total' }, async (_sim, client) => {
    const results = await runProviderChecks(client, { toggles: ALL });
    const tc = byId(results).get('total-count')!;
    assert.equal(tc.status, 'fail');
    assert.match(tc.reason!, /X-Total-Count missing on \/users\?offset=2&limit=1/);
    assert.match(tc.reason!, /X-Total-Count missing on \/users\/[\w-]+/);
    assert.deepEqual(failing(results).map((f) => f.split(':')[0]), ['total-count']);
  });
});

test('with dirty data the required-fields check fails naming a planted record', async () => {
  await withSimulator({ dirtyRate: 0.2 }, async (sim, client) => {
    const results = await runProviderChecks(client, { toggles: ALL });
    const rf = byId(results).get('required-fields')!;
    assert.equal(rf.status, 'fail');
    const planted = sim.district.dirtyRecords().filter((d) => d.kind === 'missing-required-field' || d.kind === 'wrong-enum-case');
    const named = planted.filter((d) => rf.reason!.includes(`${d.collection} ${d.sourcedId}:`));
    assert.ok(named.length > 0, `reason names a planted record: ${rf.reason}`);
    assert.match(rf.reason!, /\(and \d+ more problems\)$/);
    // contacts with planted bad phones fail the contacts check, flags the user-flags check
    assert.equal(byId(results).get('user-flags')!.status, 'fail');
    assert.match(byId(results).get('user-flags')!.reason!, /is not an SDS user flag/);
  });
});

test('user-flags check samples /students too: on small, where the first /users page holds no student, unknown flags still fail it', async () => {
  await withSimulator({ size: 'small', dirtyRate: 0.05 }, async (sim, client) => {
    const firstUsers = (await client.getRaw('/users', { offset: 0, limit: 100 })).json as { users: Array<{ role: string }> };
    assert.ok(firstUsers.users.every((u) => u.role !== 'student'), 'premise: the first /users page has no student');
    const results = await runProviderChecks(client, { toggles: ALL });
    const uf = byId(results).get('user-flags')!;
    assert.equal(uf.status, 'fail', `user-flags: ${uf.reason}`);
    const planted = sim.district.dirtyRecords().filter((d) => d.kind === 'unknown-flag');
    assert.ok(planted.some((d) => uf.reason!.includes(d.sourcedId)), `names a planted record: ${uf.reason}`);
  });
  await withSimulator({ size: 'small' }, async (_sim, client) => {
    const uf = byId(await runProviderChecks(client, { toggles: ALL })).get('user-flags')!;
    assert.equal(uf.status, 'pass');
    assert.match(uf.reason!, /sampled users carry valid flags/);
  });
});

test('toggles off skip the contacts, user-flags and demographics checks; courses can be skipped', async () => {
  await withSimulator({}, async (_sim, client) => {
    const results = byId(await runProviderChecks(client, { toggles: NO_OPTIONAL_DATA, courses: false }));
    assert.equal(results.get('contacts')!.status, 'skip');
    assert.equal(results.get('contacts')!.reason, 'the contacts toggle is off');
    assert.equal(results.get('user-flags')!.status, 'skip');
    assert.equal(results.get('endpoint-demographics')!.status, 'skip');
    assert.equal(results.get('endpoint-courses')!.status, 'skip');
    assert.equal(results.get('required-fields')!.status, 'pass');
  });
});

test('wrong credentials: the endpoint checks fail with the HTTP status and the rest are skipped once', async () => {
  await withSimulator({ auth: 'oauth2' }, async (_sim, client) => {
    const results = await runProviderChecks(client, { toggles: ALL });
    const ep = byId(results).get('endpoint-users')!;
    assert.equal(ep.status, 'fail');
    assert.match(ep.reason!, /\/users\?offset=0&limit=100&filter=status='active' answered HTTP 401, expected 200/);
    assert.equal(byId(results).get('paging')!.status, 'skip');
    assert.match(byId(results).get('delta')!.reason!, /none of the required endpoints could be read/);
  });
});

test('a misbehaving provider: each failure names its problem', async () => {
  await withSimulator({}, async (_sim, client) => {
    const bad = tamper(client, async (path, query, reply) => {
      const filter = String(query['filter'] ?? '');
      // ignores offset
      if (path === '/users' && query['offset'] === 2) return client.getRaw('/users', { offset: 0, limit: 1 });
      // 404 instead of an empty list
      if (filter === "sourcedId='norecords'" && path === '/orgs') return { status: 404, headers: { 'content-type': 'application/json' }, json: { imsx_codeMajor: 'failure' } };
      // HTML content type
      if (path === '/classes' && filter === "status='active'") return { ...reply, headers: { ...reply.headers, 'content-type': 'text/html; charset=utf-8' } };
      // delta filter ignored
      if (filter.startsWith('dateLastModified>')) return client.getRaw('/users', { offset: 0, limit: 100 });
      // seconds instead of milliseconds on one org
      if (path === '/orgs' && filter === "status='active'") {
        const json = structuredClone(reply.json) as { orgs: Array<Record<string, unknown>> };
        json.orgs[0]!['dateLastModified'] = '2024-09-01T12:00:00Z';
        return { ...reply, json };
      }
      // OR treated as AND
      if (filter.includes(' OR ')) return { ...reply, json: { users: [] } };
      return reply;
    });
    const r = byId(await runProviderChecks(bad, { toggles: ALL }));
    assert.match(r.get('paging')!.reason!, /\/users\?offset=2&limit=1 returned the same record \([\w-]+\) as \/users\?offset=0&limit=1/);
    assert.match(r.get('no-records')!.reason!, /\/orgs\?filter=sourcedId='norecords' answered HTTP 404, expected 200/);
    assert.equal(r.get('endpoint-classes')!.status, 'fail');
    assert.match(r.get('endpoint-classes')!.reason!, /Content-Type is "text\/html; charset=utf-8" on \/classes/);
    assert.match(r.get('delta')!.reason!, /returned records modified before the filter time: users [\w-]+ has dateLastModified/);
    assert.match(r.get('date-format')!.reason!, /^orgs [\w-]+: dateLastModified "2024-09-01T12:00:00Z" is not YYYY-MM-DDTHH:mm:ss\.SSSZ$/);
    assert.match(r.get('filters')!.reason!, /OR sourcedId=.* returned \[\], expected exactly/);
    assert.equal(r.get('endpoint-users')!.status, 'pass');
    assert.equal(r.get('total-count')!.status, 'pass');
  });
});

test('slow responses fail the response-time check, naming the slowest request', async () => {
  await withSimulator({}, async (_sim, client) => {
    const slow = tamper(client, async (path, query, reply) => {
      if (path === '/enrollments' && query['filter'] === "status='active'") await new Promise((r) => setTimeout(r, 120));
      return reply;
    });
    const r = byId(await runProviderChecks(slow, { toggles: ALL, responseLimitMs: 100 }));
    assert.equal(r.get('response-time')!.status, 'fail');
    assert.match(r.get('response-time')!.reason!, /^\/enrollments\?offset=0&limit=100&filter=status='active' took 0\.1 s \(limit 0\.1 s\)$/);
  });
});

test('contacts check: a contact without agents or a student without agents back fails', async () => {
  await withSimulator({}, async (_sim, client) => {
    const noBack = tamper(client, (path, _q, reply) => {
      if (/^\/users\/stu-/.test(path)) {
        const json = structuredClone(reply.json) as { user: Record<string, unknown> };
        delete json.user['agents'];
        return { ...reply, json };
      }
      return reply;
    });
    const r = byId(await runProviderChecks(noBack, { toggles: ALL }));
    assert.match(r.get('contacts')!.reason!, /^student stu-\d+ \(agent of contact con-\d+\) has no agents/);

    const noAgents = tamper(client, (_path, query, reply) => {
      if (query['filter'] === "role='parent'") {
        const json = structuredClone(reply.json) as { users: Array<Record<string, unknown>> };
        json.users[0]!['agents'] = [];
        return { ...reply, json };
      }
      return reply;
    });
    const r2 = byId(await runProviderChecks(noAgents, { toggles: ALL }));
    assert.match(r2.get('contacts')!.reason!, /contact con-\d+ has no agents/);
  });
});

test('requiredFieldProblems and isStrictDateTime on wire records', () => {
  assert.deepEqual(requiredFieldProblems('orgs', { sourcedId: 'o1', status: 'active', dateLastModified: 'x', name: 'A', type: 'school', identifier: 'X1' }), []);
  assert.deepEqual(requiredFieldProblems('orgs', { sourcedId: 'o1', status: 'active', dateLastModified: 'x', name: 'A', type: 'School' }), [
    'orgs o1: type "School" is not one of department, district, local, national, school, state',
    'orgs o1: identifier missing or empty',
  ]);
  assert.deepEqual(requiredFieldProblems('enrollments', {
    sourcedId: 'e1', status: 'active', dateLastModified: 'x', role: 'student',
    school: { sourcedId: 's1', type: 'org' }, class: { sourcedId: 'k1', type: 'course' }, user: { type: 'user' },
  }), ['enrollments e1: class.type "course" is not "class"', 'enrollments e1: user.sourcedId missing or not a string']);
  assert.deepEqual(requiredFieldProblems('users', { sourcedId: 'u1', status: 'active', dateLastModified: 'x', username: 'a', identifier: '1', orgs: [] }), [
    'users u1: givenName missing or empty',
    'users u1: orgs missing or empty',
  ]);
  assert.deepEqual(requiredFieldProblems('demographics', { sourcedId: 'd1', dateLastModified: 'x' }), []);
  for (const ok of ['2024-09-01T12:00:00.000Z', '2024-02-29T23:59:59.999Z']) assert.equal(isStrictDateTime(ok), true, ok);
  for (const bad of ['2024-09-01T12:00:00Z', '2024-09-01T12:00:00.000+00:00', '2023-02-29T00:00:00.000Z', '2024-09-01 12:00:00.000Z', 20240901, null]) {
    assert.equal(isStrictDateTime(bad), false, String(bad));
  }
});
