/**
 * StoreDataset against MemoryDataset as the oracle: the same served records (the store's live rows
 * with our dateLastModified and tombstone status) held in memory must give the same totals and
 * pages for every scope, for filters pushed to SQL and filters evaluated in JS, for every sort and
 * paging. Runs on SQLite and PostgreSQL (the PostgreSQL collation differs from code-unit order,
 * which the SQL must not let through).
 */
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { isKnownFieldPath, parseFilter } from '../oneroster/filter-grammar.ts';
import { COLLECTIONS, type AnyEntity, type CollectionName } from '../oneroster/types.ts';
import { syncConnection } from '../services/sync-service.ts';
import { startSimulator } from '../simulate/server.ts';
import { liveTable } from '../store/schema.ts';
import type { Store } from '../store/store.ts';
import { forEachDialect } from '../store/test-dialects.ts';
import { ArraySource } from './array-source.ts';
import type { DatasetQuery, Scope } from './dataset.ts';
import { MemoryDataset } from './memory-dataset.ts';
import { StoreDataset } from './store-dataset.ts';
import { storedEntity } from './stored-json.ts';

type Rec = Record<string, unknown>;

interface Served {
  /** Every live row as served, per collection (tombstones included). */
  all: Partial<Record<CollectionName, AnyEntity[]>>;
}

/** The documented semantics, re-derived independently: run end as dateLastModified, tombstones as tobedeleted. */
async function served(store: Store, connectionId: string): Promise<Served> {
  const runs = await store.db.selectFrom('runs').select(['id', 'started_at', 'finished_at']).execute();
  const at = new Map(runs.map((r) => [Number(r.id), r.finished_at ?? r.started_at]));
  const all: Served['all'] = {};
  for (const c of COLLECTIONS) {
    const rows = await sql<{ data: string; deleted_run: number | null; updated_run: number }>`select data, deleted_run, updated_run from ${sql.table(liveTable(c))} where connection_id = ${connectionId}`.execute(store.db);
    all[c] = rows.rows.sort((a, b) => (a.data < b.data ? -1 : 1)).map((r) => storedEntity({ json: r.data, dateLastModified: at.get(Number(r.updated_run)), status: r.deleted_run === null ? 'active' : 'tobedeleted' }));
  }
  return { all };
}

function ids(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => (x as { sourcedId?: string }).sourcedId ?? '') : [];
}

forEachDialect('StoreDataset', ({ it, open }) => {
  it('answers every scope, filter, sort and page exactly as MemoryDataset over the same served records', async (t) => {
    const sim = await startSimulator({ size: 'tiny', seed: 21, auth: 'none', dirtyRate: 0.05 });
    t.after(() => sim.close());
    const store = await open();
    const access = { baseUrl: sim.baseUrl, auth: { kind: 'none' as const } };
    const first = await syncConnection({ store, access, optional: { courses: true, demographics: true } });
    // Churn, so there are two runs' times, tombstones and restored/updated rows.
    const adv = await fetch(new URL('/simulator/advance', sim.baseUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"days":20}' });
    assert.equal(adv.status, 200, 'advanced');
    const second = await syncConnection({ store, access, optional: { courses: true, demographics: true } });
    assert.notEqual(first.result.runId, second.result.runId);
    const connectionId = first.connection.id;
    const t1 = (await store.runs.get(first.result.runId))!.finishedAt!;
    const t2 = (await store.runs.get(second.result.runId))!.finishedAt!;

    const data = await served(store, connectionId);
    const tombstones = Object.values(data.all).flat().filter((r) => r.status === 'tobedeleted').length;
    assert.ok(tombstones > 0, 'churn left tombstones to serve');

    const memAll = new MemoryDataset(new ArraySource(data.all));
    // Joins through enrollments use live enrollments; a school's terms come from its live classes.
    const liveEnrollments = new MemoryDataset(new ArraySource({ ...data.all, enrollments: data.all.enrollments!.filter((e) => e.status === 'active') }));
    const liveClasses = new MemoryDataset(new ArraySource({ ...data.all, classes: data.all.classes!.filter((e) => e.status === 'active') }));
    const oracle = (scope: Scope): MemoryDataset =>
      scope.kind === 'classesForUser' || scope.kind === 'usersForClass' ? liveEnrollments : scope.kind === 'termsForSchool' ? liveClasses : memAll;
    const ds = new StoreDataset({ db: store.db, connectionId, dialect: store.dialect });

    const users = data.all.users! as unknown as Rec[];
    const student = users.find((u) => u['role'] === 'student' && ids(u['orgs']).length > 0)!;
    const teacher = users.find((u) => u['role'] === 'teacher')!;
    const school = ids(student['orgs'])[0]!;
    const teaching = (data.all.enrollments! as unknown as Rec[]).find((e) => e['status'] === 'active' && e['role'] === 'teacher')!;
    const klass = teaching['class'] as { sourcedId: string };
    const klassSchool = (teaching['school'] as { sourcedId: string }).sourcedId;
    const term = (data.all.classes! as unknown as Rec[]).flatMap((c) => ids(c['terms']))[0]!;
    const gradingParent = ((data.all.academicSessions! as unknown as Rec[]).find((s) => s['type'] === 'gradingPeriod')!['parent'] as { sourcedId: string }).sourcedId;
    const course = ((data.all.classes! as unknown as Rec[])[0]!['course'] as { sourcedId: string }).sourcedId;
    const email = users.find((u) => typeof u['email'] === 'string')!['email'] as string;

    const filters = [
      undefined,
      "status='active'",
      "status='tobedeleted'",
      "status!='active'",
      `dateLastModified>'${t1}'`,
      `dateLastModified<='${t1}'`,
      `dateLastModified='${t2}'`,
      `dateLastModified!='${t2}'`,
      "dateLastModified>='2020-01-01'",
      `sourcedId='${student['sourcedId'] as string}'`,
      `sourcedId!='${student['sourcedId'] as string}'`,
      "role='student'",
      "role!='teacher'",
      `email='${email}'`,
      "email~'EXAMPLE'",
      "givenName~'an'",
      "enabledUser='TRUE'",
      "enabledUser='false'",
      "enabledUser='yes'",
      "primary='true'",
      `school='${school}'`,
      `school.sourcedId='${school}'`,
      `school!='${school}'`,
      `class='${klass.sourcedId}'`,
      "type='school'",
      "type!='term'",
      `parent='${school}'`,
      `parent!='${school}'`,
      `email!='${email}'`,
      "identifier!='x'",
      "primary!='true'",
      "enabledUser!='true'",
      "identifier='2024-01-01'",
      `orgs.sourcedId='${school}'`,
      "role='student' AND status='active'",
      "role='teacher' OR role='student'",
      "givenName~'a' AND role='student'",
      "status='active' OR givenName~'e'",
      `status='tobedeleted' AND dateLastModified>'${t1}'`,
      "metadata.flag='x'",
      "sourcedId>'m'",
    ];
    const sorts: Array<[string | undefined, 'asc' | 'desc']> = [
      [undefined, 'asc'],
      [undefined, 'desc'],
      ['sourcedId', 'desc'],
      ['familyName', 'asc'],
      ['familyName', 'desc'],
      ['role', 'desc'],
      ['status', 'asc'],
      ['dateLastModified', 'desc'],
      ['school', 'asc'],
      ['enabledUser', 'desc'],
      ['title', 'asc'],
      ['parent', 'desc'],
      ['email', 'asc'],
      ['email', 'desc'],
      ['primary', 'desc'],
      ['identifier', 'desc'],
    ];
    const pages: Array<[number, number]> = [[0, 10_000], [3, 7]];

    let compared = 0;
    const check = async (collection: CollectionName, scope: Scope, filterText: string | undefined, sort: string | undefined, orderBy: 'asc' | 'desc', offset: number, limit: number): Promise<void> => {
      const filter = filterText === undefined ? undefined : parseFilter(filterText);
      const q: DatasetQuery = { offset, limit, sort, orderBy, filter, filterText };
      const label = `${collection} ${JSON.stringify(scope)} filter=${filterText ?? ''} sort=${sort ?? ''} ${orderBy} ${offset}+${limit}`;
      const want = oracle(scope).query(collection, scope, q);
      const got = await ds.query(collection, scope, q);
      assert.equal(got.total, want.total, `${label}: total`);
      const gotRecords = (got.stored ?? []).map(storedEntity);
      assert.deepEqual(gotRecords, want.records, `${label}: page`);
      compared++;
    };

    for (const c of COLLECTIONS) {
      const usable = (f: string | undefined): boolean => f === undefined || (() => {
        const paths: string[] = [];
        const walk = (e: ReturnType<typeof parseFilter>): void => (e.kind === 'predicate' ? void paths.push(e.field) : e.clauses.forEach(walk));
        walk(parseFilter(f));
        return paths.every((p) => isKnownFieldPath(c, p));
      })();
      for (const f of filters.filter(usable)) for (const [offset, limit] of pages) await check(c, { kind: 'all' }, f, undefined, 'asc', offset, limit);
      for (const [s, o] of sorts) {
        if (s !== undefined && !isKnownFieldPath(c, s)) continue;
        for (const f of [undefined, "status='active'", "role='student'"].filter(usable)) await check(c, { kind: 'all' }, f, s, o, 0, 10_000);
        await check(c, { kind: 'all' }, undefined, s, o, 2, 3);
      }
    }

    const scoped: Array<[CollectionName, Scope]> = [
      ['users', { kind: 'usersByRole', role: 'student' }],
      ['orgs', { kind: 'orgsByType', type: 'school' }],
      ['academicSessions', { kind: 'sessionsByType', type: 'term' }],
      ['academicSessions', { kind: 'gradingPeriodsForTerm', termId: gradingParent }],
      ['classes', { kind: 'classesForUser', userId: student['sourcedId'] as string }],
      ['classes', { kind: 'classesForUser', userId: teacher['sourcedId'] as string }],
      ['users', { kind: 'usersForClass', classId: klass.sourcedId, role: 'student' }],
      ['users', { kind: 'usersForClass', classId: klass.sourcedId, role: 'teacher', schoolId: klassSchool }],
      ['classes', { kind: 'classesForCourse', courseId: course }],
      ['classes', { kind: 'classesForSchool', schoolId: school }],
      ['classes', { kind: 'classesForTerm', termId: term }],
      ['courses', { kind: 'coursesForSchool', schoolId: school }],
      ['enrollments', { kind: 'enrollmentsForSchool', schoolId: school }],
      ['enrollments', { kind: 'enrollmentsForSchool', schoolId: klassSchool, classId: klass.sourcedId }],
      ['users', { kind: 'usersForSchool', schoolId: school, role: 'student' }],
      ['academicSessions', { kind: 'termsForSchool', schoolId: school }],
      ['users', { kind: 'usersForSchool', schoolId: 'no-such-school', role: 'student' }],
    ];
    for (const [c, scope] of scoped) {
      for (const f of [undefined, "status='active'", `dateLastModified>'${t1}'`, "givenName~'a'", "type='term'"]) {
        if (f !== undefined && !isKnownFieldPath(c, f.split(/[=~>]/)[0]!)) continue;
        for (const [s, o] of [[undefined, 'asc'], ['sourcedId', 'desc'], ['familyName', 'asc']] as const) {
          if (s !== undefined && !isKnownFieldPath(c, s)) continue;
          for (const [offset, limit] of pages) await check(c, scope, f, s, o, offset, limit);
        }
      }
      const want = oracle(scope).query(c, scope, { offset: 0, limit: 10_000, orderBy: 'asc' });
      if (scope.kind !== 'usersForSchool' || scope.schoolId !== 'no-such-school') assert.ok(want.total > 0, `${c} ${JSON.stringify(scope)} selects something`);
    }
    assert.ok(compared > 500, `compared ${compared} queries`);
    assert.ok(ds.stats.direct > 0 && ds.stats.listed > 0 && ds.stats.parsed > 0, `both paths and the JS evaluator were used: ${JSON.stringify(ds.stats)}`);
  });

  it('continues sequential pages by keyset, and rebuilds totals after a new run', async (t) => {
    const sim = await startSimulator({ size: 'tiny', seed: 4, auth: 'none' });
    t.after(() => sim.close());
    const store = await open();
    const access = { baseUrl: sim.baseUrl, auth: { kind: 'none' as const } };
    const { connection } = await syncConnection({ store, access });
    const ds = new StoreDataset({ db: store.db, connectionId: connection.id, dialect: store.dialect });
    const filter = parseFilter("status='active'");
    const q = (offset: number) => ds.query('enrollments', { kind: 'all' }, { offset, limit: 40, orderBy: 'asc', filter, filterText: "status='active'" });
    const seen: string[] = [];
    let total = Infinity;
    for (let offset = 0; offset < total; offset += 40) {
      const page = await q(offset);
      total = page.total;
      for (const r of page.stored ?? []) seen.push(storedEntity(r).sourcedId);
    }
    assert.equal(seen.length, total, 'every record once');
    assert.deepEqual(seen, [...seen].sort(), 'in sourcedId order');
    assert.equal(ds.stats.counts, 1, 'one count for the whole pass');
    assert.equal(ds.stats.keyset, Math.ceil(total / 40) - 1, 'every later page continued by keyset');
    assert.equal(ds.stats.offsetScans, 0, 'no OFFSET scans');

    // A random jump still works (by OFFSET) and agrees with the sequential pass.
    const jump = await q(40 * 2 + 0);
    assert.deepEqual((jump.stored ?? []).map((r) => storedEntity(r).sourcedId), seen.slice(80, 120));

    const adv = await fetch(new URL('/simulator/advance', sim.baseUrl), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"days":30}' });
    assert.equal(adv.status, 200, 'advanced');
    await syncConnection({ store, access });
    const after = await q(0);
    const live = await store.records.countLive(connection.id);
    assert.equal(after.total, live.enrollments.active, 'total recounted after the new run');
    assert.equal(ds.stats.counts, 2, 'the new run invalidated the cached total');
  });
});
