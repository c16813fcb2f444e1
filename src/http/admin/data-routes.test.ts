import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import { startSimulator, type RunningSimulator } from '../../simulate/server.ts';
import type { User } from '../../oneroster/types.ts';
import { forEachDialect } from '../../store/test-dialects.ts';
import { ADMIN_PASSWORD, as, login, startAdmin, type Caller, type TestAdmin } from './test-support.ts';

type Json = Record<string, any>;

let sim: RunningSimulator;
before(async () => {
  sim = await startSimulator({ size: 'tiny', seed: 3, auth: 'oauth2' });
});
after(() => sim.close());

/** The admin API over `store`, the tiny district synced into it, and an admin session. */
async function synced(admin: TestAdmin): Promise<{ caller: Caller; conn: string }> {
  const caller = await login(admin.app, 'admin', ADMIN_PASSWORD);
  const made = await as(admin.app, caller, {
    method: 'POST',
    url: '/api/v1/connections',
    payload: { name: 'sim', baseUrl: sim.baseUrl, auth: { kind: 'oauth2', clientId: sim.clientId, clientSecret: sim.clientSecret, tokenUrl: sim.tokenUrl } },
  });
  assert.equal(made.statusCode, 201, made.body);
  const conn = (made.json() as Json).connection.id as string;
  const started = await as(admin.app, caller, { method: 'POST', url: `/api/v1/connections/${conn}/sync`, payload: {} });
  assert.equal(started.statusCode, 202, started.body);
  const runId = (started.json() as Json).runId as number;
  for (let i = 0; ; i++) {
    const run = ((await as(admin.app, caller, { url: `/api/v1/runs/${runId}` })).json() as Json).run as Json;
    if (run.status !== 'running') {
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error ?? {}));
      break;
    }
    assert.ok(i < 600, 'the sync ends within 30 s');
    await new Promise((r) => setTimeout(r, 50));
  }
  return { caller, conn };
}

forEachDialect('admin data browser', ({ it, open }) => {
  it('searches users case-insensitively by name words, filters by role, pages by sourcedId and never returns passwords', async (t) => {
    const store = await open({ secretKey: randomBytes(32) });
    const admin = await startAdmin({ store });
    t.after(() => admin.app.close());
    const { caller, conn } = await synced(admin);
    const get = async (url: string): Promise<Json> => {
      const r = await as(admin.app, caller, { url });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      return r.json() as Json;
    };
    const students = [...sim.district.records('users')].filter((u) => (u as User).role === 'student') as User[];
    const target = students[5]!;
    // Two words, mixed case, in the other order: every word must match some field.
    const found = await get(`/api/v1/connections/${conn}/records/users?q=${encodeURIComponent(`${target.familyName.toUpperCase()} ${target.givenName.toLowerCase()}`)}`);
    assert.ok(found.records.some((r: Json) => r.sourcedId === target.sourcedId), `found ${target.sourcedId}: ${JSON.stringify(found.records.map((r: Json) => r.sourcedId))}`);
    for (const r of found.records as Json[]) {
      const text = `${r.record.givenName} ${r.record.familyName} ${r.record.email ?? ''} ${r.record.username ?? ''} ${r.sourcedId}`.toLowerCase();
      assert.ok(text.includes(target.familyName.toLowerCase()) && text.includes(target.givenName.toLowerCase()), `every hit matches both words: ${text}`);
    }
    const byEmail = await get(`/api/v1/connections/${conn}/records/users?q=${encodeURIComponent(String(target.email).toUpperCase())}`);
    assert.deepEqual(byEmail.records.map((r: Json) => r.sourcedId), [target.sourcedId], 'an email finds its user');
    // LIKE wildcards are matched literally.
    assert.deepEqual((await get(`/api/v1/connections/${conn}/records/users?q=%25`)).records, [], '% is not a wildcard');
    assert.deepEqual((await get(`/api/v1/connections/${conn}/records/users?q=_`)).records, [], '_ is not a wildcard');

    const teachers = await get(`/api/v1/connections/${conn}/records/users?role=teacher&limit=500`);
    assert.ok(teachers.records.length > 0 && teachers.records.every((r: Json) => r.record.role === 'teacher'), 'role filter');

    // Keyset paging walks every active user exactly once.
    const seen: string[] = [];
    let after: string | undefined;
    for (let i = 0; i < 100; i++) {
      const page = await get(`/api/v1/connections/${conn}/records/users?limit=7${after !== undefined ? `&after=${encodeURIComponent(after)}` : ''}`);
      seen.push(...page.records.map((r: Json) => r.sourcedId as string));
      for (const r of page.records as Json[]) assert.ok(!('password' in r.record), `no password in ${r.sourcedId}`);
      if (page.next === undefined) break;
      after = page.next;
    }
    const live = await store.records.countLive(conn);
    assert.equal(seen.length, live.users.active, 'paging returns every live user');
    assert.equal(new Set(seen).size, seen.length, 'no user twice');
    assert.deepEqual(seen, [...seen].sort(), 'in sourcedId order');

    // Enrollments of one user, with the class and user names resolved for display.
    const enr = await get(`/api/v1/connections/${conn}/records/enrollments?user=${encodeURIComponent(target.sourcedId)}`);
    assert.ok(enr.records.length > 0, 'the student has enrollments');
    for (const r of enr.records as Json[]) {
      assert.equal(r.record.user.sourcedId, target.sourcedId);
      assert.equal(typeof enr.names[r.record.class.sourcedId], 'string', 'class titles are resolved');
    }
    assert.equal(enr.names[target.sourcedId], `${target.givenName} ${target.familyName}`);
    const classes = await get(`/api/v1/connections/${conn}/records/classes?q=${encodeURIComponent(enr.names[enr.records[0].record.class.sourcedId])}`);
    assert.ok(classes.records.some((r: Json) => r.sourcedId === enr.records[0].record.class.sourcedId), 'a class is found by its title');

    const unknown = await as(admin.app, caller, { url: `/api/v1/connections/${conn}/records/teachers` });
    assert.equal(unknown.statusCode, 400, 'only OneRoster collections');
    const missing = await as(admin.app, caller, { url: '/api/v1/connections/nope/records/users' });
    assert.equal(missing.statusCode, 404);
  });

  it('shows a user\'s page (classes, contacts, flags, history) and a class\'s roster', async (t) => {
    const store = await open({ secretKey: randomBytes(32) });
    const admin = await startAdmin({ store });
    t.after(() => admin.app.close());
    const { caller, conn } = await synced(admin);
    const get = async (url: string): Promise<Json> => {
      const r = await as(admin.app, caller, { url });
      assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      return r.json() as Json;
    };
    const users = [...sim.district.records('users')] as User[];
    const student = users.find((u) => u.role === 'student' && (u.agents?.length ?? 0) > 0 && typeof u.metadata?.['microsoft.userFlags'] === 'string')
      ?? users.find((u) => u.role === 'student' && (u.agents?.length ?? 0) > 0)!;
    const page = await get(`/api/v1/connections/${conn}/users/${encodeURIComponent(student.sourcedId)}`);
    assert.equal(page.user.sourcedId, student.sourcedId);
    assert.ok(!('password' in page.user.record), 'no password');
    assert.deepEqual(page.contacts.map((c: Json) => c.sourcedId).sort(), student.agents!.map((a) => a.sourcedId).sort(), 'the student\'s contacts are their agents');
    const flagText = student.metadata?.['microsoft.userFlags'];
    if (typeof flagText === 'string') assert.ok(page.flags.length > 0, `flags of ${flagText}`);
    assert.ok(page.enrollments.length > 0 && page.enrollments.every((e: Json) => e.class?.sourcedId === e.enrollment.record.class.sourcedId), 'classes with their enrollments');
    assert.deepEqual(page.changes.map((c: Json) => c.kind), ['created'], 'the history holds the creation');

    const contact = await get(`/api/v1/connections/${conn}/users/${encodeURIComponent(page.contacts[0].sourcedId)}`);
    assert.ok(contact.students.some((s: Json) => s.sourcedId === student.sourcedId), `a contact's page lists their students: ${JSON.stringify(contact.user)} ${JSON.stringify(contact.students)}`);

    const classId = page.enrollments[0].class.sourcedId as string;
    const cls = await get(`/api/v1/connections/${conn}/classes/${encodeURIComponent(classId)}`);
    assert.ok(cls.enrollments.some((e: Json) => e.user?.sourcedId === student.sourcedId), 'the roster lists the student');

    assert.equal((await as(admin.app, caller, { url: `/api/v1/connections/${conn}/users/no-such-user` })).statusCode, 404);
  });
});
