/**
 * Issue 4 engine behaviour on in-memory providers: delta cursors, change history, holds with
 * approval/discard, and dry runs.
 */
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { discardHold, markApproved, runPlan } from '../services/hold-service.ts';
import { openStore, type Store } from '../store/store.ts';
import { runSync } from './full-sync.ts';
import { MemoryPageReader, type MemoryItems } from './memory-page-reader.ts';

const T0 = '2026-01-01T00:00:00.000Z';
const ref = (sourcedId: string, type: string) => ({ sourcedId, type });
const org = (id: string) => ({ sourcedId: id, status: 'active', dateLastModified: T0, name: `School ${id}`, type: 'school' });
const session = { sourcedId: 'y1', status: 'active', dateLastModified: T0, title: 'Year', startDate: '2025-08-01', endDate: '2026-07-01', type: 'schoolYear', schoolYear: '2026' };
const klass = (id: string) => ({ sourcedId: id, status: 'active', dateLastModified: T0, title: `Class ${id}`, school: ref('s1', 'org'), terms: [ref('y1', 'academicSession')] });
const user = (id: string, extra: Record<string, unknown> = {}) => ({
  sourcedId: id, status: 'active', dateLastModified: T0, username: id, enabledUser: true, givenName: 'Given', familyName: 'Family', role: 'student', orgs: [ref('s1', 'org')], ...extra,
});
const pad = (n: number) => String(n).padStart(3, '0');

/** A district of `n` students; each item is cloned so tests may mutate freely. */
function district(n: number) {
  return {
    orgs: [org('s1')],
    academicSessions: [session],
    classes: [klass('k1')],
    users: Array.from({ length: n }, (_, i) => user(`u${pad(i)}`)),
    enrollments: [] as Array<Record<string, unknown>>,
  };
}

/** A provider whose clock (`Date`) is settable. */
class Provider {
  clock = '2026-01-02T00:00:00.000Z';
  constructor(public data: ReturnType<typeof district>) {}
  reader(): MemoryPageReader {
    return new MemoryPageReader(this.data as MemoryItems, { pageSize: 7, serverDate: () => this.clock });
  }
}

async function newStore(): Promise<Store> {
  const store = await openStore({ url: ':memory:' });
  await store.connections.create({ id: 'sis', name: 'sis', baseUrl: 'https://sis.example/ims/oneroster/v1p1', authKind: 'none' });
  return store;
}

async function history(store: Store, runId: number) {
  const rows = await store.db.selectFrom('changes').selectAll().where('run_id', '=', runId).orderBy('seq').execute();
  return rows.map((r) => ({ entity: r.entity, id: r.sourced_id, kind: r.kind, fields: r.fields === null ? null : JSON.parse(r.fields), applied: Number(r.applied) }));
}

describe('delta sync', () => {
  it('asks dateLastModified> the cursor taken on the provider clock minus the overlap, applies changes and tombstones, never absence', async () => {
    const store = await newStore();
    const p = new Provider(district(5));
    const first = await runSync({ store, reader: p.reader(), connectionId: 'sis', mode: 'delta' });
    assert.equal(first.mode, 'full', 'no cursor yet: a delta request runs a full sync');
    assert.equal(first.nextCursor, '2026-01-01T23:50:00.000Z');
    assert.equal((await store.cursors.get('sis')).get('users'), '2026-01-01T23:50:00.000Z');

    // A day later: u001 renamed, u002 withdrawn (tobedeleted), u003 vanishes (hard delete), u900 new.
    p.clock = '2026-01-03T00:00:00.000Z';
    const T1 = '2026-01-02T12:00:00.000Z';
    p.data.users[1] = user('u001', { givenName: 'Renamed', dateLastModified: T1 });
    p.data.users[2] = user('u002', { status: 'tobedeleted', dateLastModified: T1 });
    p.data.users.splice(3, 1);
    p.data.users.push(user('u900', { dateLastModified: T1 }));
    const r = p.reader();
    const delta = await runSync({ store, reader: r, connectionId: 'sis', mode: 'delta' });
    assert.equal(delta.mode, 'delta');
    assert.equal(delta.cursor, '2026-01-01T23:50:00.000Z');
    assert.ok(r.reads.every((x) => x.filter === "dateLastModified>'2026-01-01T23:50:00.000Z'"), `delta filter on every endpoint: ${JSON.stringify(r.reads)}`);
    const u = delta.entities.users!;
    assert.deepEqual([u.fetched, u.created, u.updated, u.deleted, u.deletedByAbsence], [3, 1, 1, 1, 0]);
    assert.equal(delta.status, 'succeeded');
    const counts = (await store.records.countLive('sis')).users;
    assert.deepEqual(counts, { active: 5, deleted: 1 }, 'the hard-deleted u003 stays active until a full sync reconciles it');
    assert.equal(delta.nextCursor, '2026-01-02T23:50:00.000Z');

    const h = await history(store, delta.runId);
    assert.deepEqual(
      h.map((c) => [c.id, c.kind]),
      [['u001', 'updated'], ['u002', 'deleted'], ['u900', 'created']],
    );
    assert.deepEqual(h[0]!.fields, { dateLastModified: { before: T0, after: T1 }, givenName: { before: 'Given', after: 'Renamed' } });
    assert.deepEqual(h[1]!.fields.status, { before: 'active', after: 'tobedeleted' });
    assert.equal(h[2]!.fields, null);

    // The periodic full sync reconciles the hard delete by absence, and history says so.
    const full = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    assert.equal(full.entities.users!.deletedByAbsence, 1);
    assert.deepEqual((await history(store, full.runId)).filter((c) => c.entity === 'users').map((c) => [c.id, c.kind, c.fields]), [
      ['u003', 'deleted', { status: { before: 'active', after: 'tobedeleted' } }],
    ]);
    await store.close();
  });

  it('a failed collection keeps its cursor; applied ones advance', async () => {
    const store = await newStore();
    const p = new Provider(district(3));
    await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    p.clock = '2026-01-05T00:00:00.000Z';
    const failing = new MemoryPageReader(p.data as MemoryItems, { pageSize: 7, serverDate: () => p.clock, failAfter: { users: { pages: 0, error: new Error('boom') } } });
    const res = await runSync({ store, reader: failing, connectionId: 'sis', mode: 'delta' });
    assert.equal(res.status, 'partial');
    const cursors = await store.cursors.get('sis');
    assert.equal(cursors.get('users'), '2026-01-01T23:50:00.000Z');
    assert.equal(cursors.get('orgs'), '2026-01-04T23:50:00.000Z');
    await store.close();
  });

  it('a restored record is recorded as restored', async () => {
    const store = await newStore();
    const p = new Provider(district(3));
    await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    const gone = p.data.users.splice(0, 1)[0]!;
    await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    p.data.users.unshift(gone);
    const back = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    assert.deepEqual((await history(store, back.runId)).map((c) => [c.id, c.kind]), [['u000', 'restored']]);
    await store.close();
  });
});

describe('safeguards: holds, approval, discard', () => {
  it('holds a run deleting more than 10% and 50 records: nothing applied, plan kept; approval applies it', async () => {
    const store = await newStore();
    const p = new Provider(district(200));
    const first = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    assert.equal(first.status, 'succeeded', 'a first sync never holds');
    assert.equal((await history(store, first.runId)).filter((c) => c.kind === 'created').length, 203);

    p.data.users.splice(0, 60); // the SIS "loses" 60 of 200 students (30%)
    const held = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    assert.equal(held.status, 'held');
    assert.deepEqual(held.hold?.map((r) => [r.entity, r.rule, r.planned, r.live]), [['users', 'deletions', 60, 200]]);
    assert.deepEqual((await store.records.countLive('sis')).users, { active: 200, deleted: 0 }, 'nothing deleted');
    assert.equal((await store.cursors.get('sis')).get('users'), first.nextCursor, 'a held run does not move the cursor');
    const plan = await runPlan(store, held.runId, { limit: 5 });
    assert.equal(plan.counts.users?.deleted, 60);
    assert.equal(plan.changes.filter((c) => c.kind === 'deleted').length, 5);
    assert.equal(plan.truncated, true);
    assert.deepEqual((await store.runs.pendingHolds()).map((r) => r.id), [held.runId]);

    // Approval: the re-run applies exactly what was approved.
    const approval = await markApproved(store, held.runId, 'admin@district');
    const applied = await runSync({ store, reader: p.reader(), connectionId: 'sis', approval });
    assert.equal(applied.status, 'succeeded');
    assert.equal(applied.entities.users?.deletedByAbsence, 60);
    assert.deepEqual((await store.records.countLive('sis')).users, { active: 140, deleted: 60 });
    assert.equal((await store.runs.get(applied.runId))?.approvalOf, held.runId);
    const heldRun = await store.runs.get(held.runId);
    assert.equal(heldRun?.holdState, 'approved');
    assert.equal(heldRun?.holdResolvedBy, 'admin@district');
    assert.deepEqual(await store.runs.pendingHolds(), []);
    await assert.rejects(markApproved(store, held.runId, 'x'), /not a pending hold/);
    await store.close();
  });

  it('an approval is capped: deletions beyond the approved ones hold again', async () => {
    const store = await newStore();
    const p = new Provider(district(200));
    await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    p.data.users.splice(0, 60);
    const held = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    const approval = await markApproved(store, held.runId, 'admin');
    p.data.users.splice(0, 60); // 60 more vanish before the approval runs
    const again = await runSync({ store, reader: p.reader(), connectionId: 'sis', approval });
    assert.equal(again.status, 'held');
    assert.deepEqual(again.hold?.map((r) => [r.rule, r.planned]), [['deletions', 60]], 'only the unapproved 60 count');
    assert.deepEqual((await store.records.countLive('sis')).users, { active: 200, deleted: 0 });
    await store.close();
  });

  it('holds mass updates (>30%) and discard drops the plan', async () => {
    const store = await newStore();
    const p = new Provider(district(100));
    await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    p.data.users = p.data.users.map((u, i) => (i < 40 ? { ...u, familyName: 'Changed' } : u));
    const held = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    assert.equal(held.status, 'succeeded', 'updates need more than 50 records too');
    assert.equal(held.hold, undefined);
    p.data.users = p.data.users.map((u, i) => (i < 60 ? { ...u, familyName: 'Again' } : u));
    const held2 = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    assert.deepEqual(held2.hold?.map((r) => [r.rule, r.planned]), [['updates', 60]]);
    const plan = await runPlan(store, held2.runId, { limit: 1, kinds: ['updated'] });
    assert.deepEqual(plan.changes[0]?.fields?.familyName, { before: 'Changed', after: 'Again' });
    await discardHold(store, held2.runId, 'admin');
    assert.equal((await store.runs.get(held2.runId))?.holdState, 'discarded');
    assert.equal((await runPlan(store, held2.runId)).changes.length, 0);
    await assert.rejects(discardHold(store, held2.runId, 'admin'), /not a pending hold/);
    await store.close();
  });

  it('thresholds can be set per entity or turned off', async () => {
    const store = await newStore();
    const p = new Provider(district(100));
    await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    p.data.users.splice(0, 8);
    const held = await runSync({ store, reader: p.reader(), connectionId: 'sis', policy: { perEntity: { users: { deleteCount: 5, deletePercent: 5 } } } });
    assert.equal(held.status, 'held');
    const free = await runSync({ store, reader: p.reader(), connectionId: 'sis', policy: { thresholds: false } });
    assert.equal(free.status, 'succeeded');
    assert.equal(free.entities.users?.deletedByAbsence, 8);
    await store.close();
  });
});

describe('dry run', () => {
  it('plans creates, updates with field diffs, deletes and the would-be hold, and applies nothing', async () => {
    const store = await newStore();
    const p = new Provider(district(100));
    const first = await runSync({ store, reader: p.reader(), connectionId: 'sis' });
    p.data.users[0] = user('u000', { email: 'new@x.org' });
    p.data.users.splice(1, 59);
    p.data.users.push(user('u500'));
    p.clock = '2026-02-01T00:00:00.000Z';
    const dry = await runSync({ store, reader: p.reader(), connectionId: 'sis', dryRun: true });
    assert.equal(dry.dryRun, true);
    assert.equal(dry.status, 'held', 'the plan says it would be held');
    assert.equal(dry.entities.users?.outcome, 'planned');
    assert.deepEqual([dry.entities.users?.created, dry.entities.users?.updated, dry.entities.users?.deleted], [1, 1, 59]);
    assert.equal(dry.nextCursor, undefined);
    assert.deepEqual((await store.records.countLive('sis')).users, { active: 100, deleted: 0 });
    assert.equal((await store.cursors.get('sis')).get('users'), first.nextCursor);
    const run = await store.runs.get(dry.runId);
    assert.equal(run?.dryRun, true);
    assert.equal(run?.holdState, undefined, 'a dry run never waits for approval');
    const plan = await runPlan(store, dry.runId, { limit: 100 });
    assert.deepEqual(plan.counts.users, { created: 1, updated: 1, deleted: 59, restored: 0 });
    assert.deepEqual(plan.changes.find((c) => c.kind === 'updated')?.fields, { email: { before: null, after: 'new@x.org' } });
    assert.deepEqual(await history(store, dry.runId).then((h) => h.every((c) => c.applied === 0)), true);
    await store.close();
  });
});

describe('release at shutdown', () => {
  it('stops after the page in hand, keeps staged pages, and the next run resumes the same run without re-reading them', async () => {
    const store = await newStore();
    const p = new Provider(district(100));
    const release = new AbortController();
    let served = 0;
    const counting = (r: MemoryPageReader) => ({
      async *readPages(c: Parameters<MemoryPageReader['readPages']>[0], o?: Parameters<MemoryPageReader['readPages']>[1]) {
        for await (const page of r.readPages(c, o)) {
          served++;
          yield page;
        }
      },
    });
    const first = await runSync({
      store,
      reader: counting(p.reader()),
      connectionId: 'sis',
      release: release.signal,
      onProgress: (pr) => {
        if (pr.collection === 'users' && pr.pages === 5) release.abort();
      },
    });
    assert.equal(first.status, 'failed');
    assert.equal(first.error?.code, 'released');
    assert.deepEqual((await store.records.countLive('sis')).users, { active: 0, deleted: 0 }, 'nothing applied');
    assert.ok((await store.staging.checkpoints(first.runId)).size > 0, 'checkpoints kept');
    const servedBefore = served;
    const second = await runSync({ store, reader: counting(p.reader()), connectionId: 'sis' });
    assert.equal(second.runId, first.runId, 'the same run continues');
    assert.equal(second.resumes, 1);
    assert.equal(second.status, 'succeeded');
    assert.equal(second.entities.users?.created, 100);
    assert.equal(second.entities.users?.pages, 15, 'page counts continue from the checkpoint');
    // users: 100 items / 7 per page = 15 pages; 5 were staged before the release.
    assert.equal(served - servedBefore, 10 + 1, 'only the 10 unread users pages, then the (empty) enrollments page, were fetched');
    assert.deepEqual((await store.records.countLive('sis')).users, { active: 100, deleted: 0 });
    assert.equal((await store.staging.checkpoints(first.runId)).size, 0, 'staging cleaned after the apply');
    await store.close();
  });
});

describe('optional-data toggles in the engine', () => {
  it('contacts toggled off are skipped (not invalid) and stored contacts are tombstoned as absent', async () => {
    const { createSdsCodec } = await import('../services/sds-codec.ts');
    const store = await newStore();
    const data = district(3);
    data.orgs = [{ ...org('s1'), identifier: 'S1' } as ReturnType<typeof org>];
    data.users = data.users.map((u) => ({ ...u, identifier: `ID-${u.sourcedId}` }));
    for (const id of ['p1', 'p2']) {
      data.users.push({ ...user(id), identifier: `ID-${id}`, role: 'parent', email: `${id}@home.example` } as ReturnType<typeof user>);
    }
    const p = new Provider(data);
    const on = await runSync({ store, reader: p.reader(), connectionId: 'sis', codec: createSdsCodec({ contacts: true, demographics: false, userFlags: true }) });
    assert.equal(on.entities.users?.created, 5, JSON.stringify(on.issues));
    const off = await runSync({ store, reader: p.reader(), connectionId: 'sis', codec: createSdsCodec({ contacts: false, demographics: false, userFlags: true }) });
    const u = off.entities.users!;
    assert.deepEqual([u.skipped, u.invalid, u.deletedByAbsence, u.unchanged], [2, 0, 2, 3]);
    assert.deepEqual((await store.records.countLive('sis')).users, { active: 3, deleted: 2 });
    await store.close();
  });
});

describe('reference checks after staging (SDS codec)', () => {
  it('drops records with dangling required references (cascading), drops dangling optional ones from the data', async () => {
    const { createSdsCodec } = await import('../services/sds-codec.ts');
    const codec = () => createSdsCodec({ contacts: true, demographics: false, userFlags: true });
    const store = await newStore();
    const data = district(2);
    data.orgs = [{ ...org('s1'), identifier: 'S1' } as ReturnType<typeof org>];
    data.users = data.users.map((u) => ({ ...u, identifier: `ID-${u.sourcedId}` }));
    // u000 lists a guardian that exists and one that does not.
    data.users.push({ ...user('p1'), identifier: 'ID-p1', role: 'guardian', email: 'p1@home.example' } as ReturnType<typeof user>);
    data.users[0] = { ...data.users[0]!, agents: [ref('p1', 'user'), ref('ghost', 'user')] } as ReturnType<typeof user>;
    const enr = (id: string, u: string, k: string) => ({ sourcedId: id, status: 'active', dateLastModified: T0, role: 'student', user: ref(u, 'user'), class: ref(k, 'class'), school: ref('s1', 'org') });
    // k2 points at a school that does not exist: dropped, and its enrollment with it.
    data.classes.push({ ...klass('k2'), school: ref('nowhere', 'org') });
    data.enrollments = [enr('e1', 'u000', 'k1'), enr('e2', 'u001', 'k2'), enr('e3', 'nobody', 'k1')];
    const p = new Provider(data);
    const res = await runSync({ store, reader: p.reader(), connectionId: 'sis', codec: codec() });
    assert.equal(res.entities.classes?.created, 1);
    assert.equal(res.entities.classes?.invalid, 1);
    assert.deepEqual([res.entities.enrollments?.created, res.entities.enrollments?.invalid], [1, 2]);
    const issues = await store.issues.list(res.runId, {});
    const got = issues.map((i) => `${i.entity} ${i.sourcedId} ${i.rule} ${i.field}`).sort();
    assert.deepEqual(got, [
      'classes k2 dangling-reference school.sourcedId',
      'enrollments e2 dangling-reference class.sourcedId',
      'enrollments e3 dangling-reference user.sourcedId',
      'users u000 dangling-reference-dropped agents[1].sourcedId',
    ]);
    const u0 = await store.records.get('users', 'sis', 'u000');
    assert.deepEqual((u0?.record as { agents?: Array<{ sourcedId: string }> }).agents?.map((a) => a.sourcedId), ['p1'], 'the dangling agent was dropped from the stored record');
    assert.equal(await store.records.get('classes', 'sis', 'k2'), undefined);
    // Re-sync of unchanged data: the kept-and-fixed user is stable, nothing is rewritten again.
    const again = await runSync({ store, reader: p.reader(), connectionId: 'sis', codec: codec() });
    assert.equal(again.entities.users?.updated, 0, JSON.stringify(again.entities.users));
    await store.close();
  });
});
