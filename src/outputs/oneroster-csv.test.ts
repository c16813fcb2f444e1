import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import { FULL_RECORDS } from '../oneroster/sample-records.ts';
import type { AnyEntity, CollectionName, GuidRef, User } from '../oneroster/types.ts';
import { COLLECTIONS } from '../oneroster/types.ts';
import { District } from '../simulate/district.ts';
import { MemoryRosterReader, type MemoryRow } from './memory-roster-reader.ts';
import { ONEROSTER_CSV_COLUMNS, exportOneRosterCsv } from './oneroster-csv.ts';
import type { RosterReader } from './roster-reader.ts';
import { readZipEntries } from './zip-entries.ts';

/** Copied from shared/reference/oneroster-spec-notes.md §7.2 (1.1 column order). */
const REFERENCE_COLUMNS: Record<CollectionName, string> = {
  academicSessions: 'sourcedId, status, dateLastModified, title, type, startDate, endDate, parentSourcedId, schoolYear',
  orgs: 'sourcedId, status, dateLastModified, name, type, identifier, parentSourcedId',
  courses: 'sourcedId, status, dateLastModified, schoolYearSourcedId, title, courseCode, grades, orgSourcedId, subjects, subjectCodes',
  classes: 'sourcedId, status, dateLastModified, title, grades, courseSourcedId, classCode, classType, location, schoolSourcedId, termSourcedIds, subjects, subjectCodes, periods',
  users: 'sourcedId, status, dateLastModified, enabledUser, orgSourcedIds, role, username, userIds, givenName, familyName, middleName, identifier, email, sms, phone, agentSourcedIds, grades, password',
  enrollments: 'sourcedId, status, dateLastModified, classSourcedId, schoolSourcedId, userSourcedId, role, primary, beginDate, endDate',
  demographics: 'sourcedId, status, dateLastModified, birthDate, sex, americanIndianOrAlaskaNative, asian, blackOrAfricanAmerican, nativeHawaiianOrOtherPacificIslander, white, demographicRaceTwoOrMoreRaces, hispanicOrLatinoEthnicity, countryOfBirthCode, stateOfBirthAbbreviation, cityOfBirth, publicSchoolResidenceStatus',
};

/** The manifest keys of §7.1, in order. */
const MANIFEST_KEYS = [
  'manifest.version', 'oneroster.version',
  'file.academicSessions', 'file.categories', 'file.classes', 'file.classResources', 'file.courses', 'file.courseResources',
  'file.demographics', 'file.enrollments', 'file.lineItems', 'file.orgs', 'file.resources', 'file.results', 'file.users',
  'source.systemName', 'source.systemCode',
];

type Zip = Map<string, string>;

async function unzip(path: string): Promise<Zip> {
  return new Map(readZipEntries(await readFile(path)).map((e) => [e.name, e.data.toString('utf8')]));
}

function table(text: string): Array<Record<string, string>> {
  return parse(text, { columns: true }) as Array<Record<string, string>>;
}

function manifestOf(zip: Zip): Map<string, string> {
  const rows = parse(zip.get('manifest.csv')!) as string[][];
  assert.deepEqual(rows[0], ['propertyName', 'value']);
  return new Map(rows.slice(1).map((r) => [r[0]!, r[1]!]));
}

// --- A reverse CSV binding, written independently of the exporter, for the round trip. --------

const split = (v: string | undefined) => (v === undefined || v === '' ? undefined : v.split(','));
const one = (v: string | undefined, type: string): GuidRef | undefined => (v ? { sourcedId: v, type } : undefined);
const many = (v: string | undefined, type: string) => split(v)?.map((id) => ({ sourcedId: id, type }));
const boolOf = (v: string | undefined) => (v === 'true' ? true : v === 'false' ? false : undefined);

function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== ''));
}

const FROM_CSV: Record<CollectionName, (r: Record<string, string>) => Record<string, unknown>> = {
  academicSessions: (r) => ({ title: r.title, type: r.type, startDate: r.startDate, endDate: r.endDate, parent: one(r.parentSourcedId, 'academicSession'), schoolYear: r.schoolYear }),
  orgs: (r) => ({ name: r.name, type: r.type, identifier: r.identifier, parent: one(r.parentSourcedId, 'org') }),
  courses: (r) => ({ schoolYear: one(r.schoolYearSourcedId, 'academicSession'), title: r.title, courseCode: r.courseCode, grades: split(r.grades), org: one(r.orgSourcedId, 'org'), subjects: split(r.subjects), subjectCodes: split(r.subjectCodes) }),
  classes: (r) => ({
    title: r.title, grades: split(r.grades), course: one(r.courseSourcedId, 'course'), classCode: r.classCode, classType: r.classType, location: r.location,
    school: one(r.schoolSourcedId, 'org'), terms: many(r.termSourcedIds, 'academicSession'), subjects: split(r.subjects), subjectCodes: split(r.subjectCodes), periods: split(r.periods),
  }),
  users: (r) => ({
    enabledUser: boolOf(r.enabledUser), orgs: many(r.orgSourcedIds, 'org'), role: r.role, username: r.username,
    userIds: split(r.userIds)?.map((s) => {
      const m = /^\{([^:]*):(.*)\}$/.exec(s)!;
      return { type: m[1], identifier: m[2] };
    }),
    givenName: r.givenName, familyName: r.familyName, middleName: r.middleName, identifier: r.identifier, email: r.email, sms: r.sms, phone: r.phone,
    agents: many(r.agentSourcedIds, 'user'), grades: split(r.grades), password: r.password,
  }),
  enrollments: (r) => ({ class: one(r.classSourcedId, 'class'), school: one(r.schoolSourcedId, 'org'), user: one(r.userSourcedId, 'user'), role: r.role, primary: boolOf(r.primary), beginDate: r.beginDate, endDate: r.endDate }),
  demographics: (r) => ({
    birthDate: r.birthDate, sex: r.sex,
    americanIndianOrAlaskaNative: boolOf(r.americanIndianOrAlaskaNative), asian: boolOf(r.asian), blackOrAfricanAmerican: boolOf(r.blackOrAfricanAmerican),
    nativeHawaiianOrOtherPacificIslander: boolOf(r.nativeHawaiianOrOtherPacificIslander), white: boolOf(r.white),
    demographicRaceTwoOrMoreRaces: boolOf(r.demographicRaceTwoOrMoreRaces), hispanicOrLatinoEthnicity: boolOf(r.hispanicOrLatinoEthnicity),
    countryOfBirthCode: r.countryOfBirthCode, stateOfBirthAbbreviation: r.stateOfBirthAbbreviation, cityOfBirth: r.cityOfBirth, publicSchoolResidenceStatus: r.publicSchoolResidenceStatus,
  }),
};

/** A record as the CSV can carry it: no metadata, no children, no resources, no hrefs, no empty lists. */
function csvView(collection: CollectionName, rec: AnyEntity, withPassword: boolean): Record<string, unknown> {
  const { metadata: _m, children: _c, resources: _r, ...rest } = rec as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(rest)) {
    if (k === 'password' && !withPassword) continue;
    if (Array.isArray(v)) {
      if (v.length === 0) continue;
      out[k] = v.map((x) => (typeof x === 'object' && x !== null && 'sourcedId' in x ? { sourcedId: (x as GuidRef).sourcedId, type: (x as GuidRef).type } : x));
    } else if (typeof v === 'object' && v !== null && 'sourcedId' in v) {
      out[k] = { sourcedId: (v as GuidRef).sourcedId, type: (v as GuidRef).type };
    } else out[k] = v;
  }
  void collection;
  return out;
}

function fromCsv(collection: CollectionName, row: Record<string, string>): Record<string, unknown> {
  return { sourcedId: row.sourcedId, status: row.status, dateLastModified: row.dateLastModified, ...compact(FROM_CSV[collection](row)) };
}

// ---------------------------------------------------------------------------------------------

describe('OneRoster 1.1 CSV export', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'or-csv-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('bulk: manifest, spec column order, every record round-trips', async () => {
    const tricky: User = {
      ...FULL_RECORDS.users, sourcedId: 'u2', givenName: 'Line\r\nBreak, "quoted"', familyName: 'Ünïcødé 😀',
      userIds: [{ type: 'LDAP', identifier: '12' }, { type: 'SIS', identifier: 'A-7' }], orgs: [{ sourcedId: 's1', type: 'org' }, { sourcedId: 's2', type: 'org' }],
    };
    const reader = MemoryRosterReader.fromRecords({ ...Object.fromEntries(COLLECTIONS.map((c) => [c, [FULL_RECORDS[c]]])), users: [FULL_RECORDS.users, tricky] });
    const outFile = join(dir, 'bulk.zip');
    const summary = await exportOneRosterCsv(reader, { outFile, includePasswords: true, source: { systemName: 'Test SIS', systemCode: 'tsis' } });
    assert.equal(summary.mode, 'bulk');
    const zip = await unzip(outFile);
    assert.deepEqual([...zip.keys()].sort(), ['manifest.csv', ...COLLECTIONS.map((c) => `${c}.csv`)].sort());

    const m = manifestOf(zip);
    assert.deepEqual([...m.keys()], MANIFEST_KEYS);
    assert.equal(m.get('manifest.version'), '1.0');
    assert.equal(m.get('oneroster.version'), '1.1');
    for (const c of COLLECTIONS) assert.equal(m.get(`file.${c}`), 'bulk', c);
    for (const f of ['categories', 'classResources', 'courseResources', 'lineItems', 'resources', 'results']) assert.equal(m.get(`file.${f}`), 'absent', f);
    assert.equal(m.get('source.systemName'), 'Test SIS');

    for (const c of COLLECTIONS) {
      const text = zip.get(`${c}.csv`)!;
      assert.equal(text.slice(0, text.indexOf('\r\n')), REFERENCE_COLUMNS[c].replaceAll(', ', ','), `${c} header`);
      assert.deepEqual(ONEROSTER_CSV_COLUMNS[c], REFERENCE_COLUMNS[c].split(', '));
      const rows = table(text);
      const originals = c === 'users' ? [FULL_RECORDS.users, tricky] : [FULL_RECORDS[c]];
      assert.equal(rows.length, originals.length);
      rows.forEach((row, i) => assert.deepEqual(fromCsv(c, row), csvView(c, originals[i]!, true), `${c} row ${i}`));
      assert.equal(summary.files[c]!.rows, originals.length);
    }

    const users = zip.get('users.csv')!;
    assert.match(users, /"\{LDAP:12\},\{SIS:A-7\}"/, 'userIds as {type:identifier}, comma-joined in one quoted cell');
    assert.match(users, /"s1,s2"/);
    assert.match(users, /"Line\r\nBreak, ""quoted"""/, 'CR/LF, comma and quotes kept inside one quoted field');
    assert.match(zip.get('enrollments.csv')!, /,student,false,2024-08-15,/, 'booleans true/false');
    assert.match(zip.get('classes.csv')!, /"1,3"/, 'periods comma-joined');

    // An independent reader agrees with ours (Info-ZIP's unzip, when installed).
    if (existsSync('/usr/bin/unzip')) {
      const listing = execFileSync('/usr/bin/unzip', ['-t', outFile], { encoding: 'utf8' });
      assert.match(listing, /No errors detected/);
      assert.equal(execFileSync('/usr/bin/unzip', ['-p', outFile, 'users.csv'], { encoding: 'utf8' }), users);
    }
  });

  it('bulk leaves out deleted rows and passwords unless asked', async () => {
    const gone = { ...FULL_RECORDS.orgs, sourcedId: 's9', status: 'tobedeleted' as const };
    const reader = new MemoryRosterReader({
      orgs: [
        { record: FULL_RECORDS.orgs, deleted: false, modifiedAt: '2026-02-03T04:05:06.789Z' },
        { record: gone, deleted: false },
        { record: { ...FULL_RECORDS.orgs, sourcedId: 's8' }, deleted: true },
      ],
      users: [{ record: FULL_RECORDS.users, deleted: false }],
    });
    const outFile = join(dir, 'bulk2.zip');
    const summary = await exportOneRosterCsv(reader, { outFile, collections: ['orgs', 'users'] });
    const zip = await unzip(outFile);
    const orgs = table(zip.get('orgs.csv')!);
    assert.deepEqual(orgs.map((r) => [r.sourcedId, r.status, r.dateLastModified]), [['s1', 'active', '2026-02-03T04:05:06.789Z']], 'store change time wins');
    assert.equal(table(zip.get('users.csv')!)[0]!.password, '');
    const m = manifestOf(zip);
    assert.equal(m.get('file.orgs'), 'bulk');
    assert.equal(m.get('file.classes'), 'absent', 'collections not exported are absent');
    assert.ok(!zip.has('classes.csv'));
    assert.deepEqual(summary.files.orgs, { rows: 1, deleted: 0 });
  });

  it('delta: changed rows only, deletions as tobedeleted, absent when unchanged', async () => {
    const rows = <T>(xs: Array<MemoryRow<T>>) => xs;
    const org = FULL_RECORDS.orgs;
    const reader = new MemoryRosterReader({
      orgs: rows([
        { record: org, deleted: false, run: 1 },
        { record: { ...org, sourcedId: 's2', name: 'Renamed' }, deleted: false, run: 3, modifiedAt: '2026-03-01T00:00:00.000Z' },
        { record: { ...org, sourcedId: 's3' }, deleted: true, run: 2, modifiedAt: '2026-02-01T00:00:00.000Z' },
      ]),
      users: rows([{ record: FULL_RECORDS.users, deleted: false, run: 1 }]),
      enrollments: rows([{ record: FULL_RECORDS.enrollments, deleted: true, run: 3, modifiedAt: '2026-03-01T00:00:00.000Z' }]),
    });
    const outFile = join(dir, 'delta.zip');
    const summary = await exportOneRosterCsv(reader, { outFile, sinceRun: 1 });
    assert.equal(summary.mode, 'delta');
    const zip = await unzip(outFile);
    assert.deepEqual([...zip.keys()].sort(), ['enrollments.csv', 'manifest.csv', 'orgs.csv']);
    const m = manifestOf(zip);
    assert.equal(m.get('file.orgs'), 'delta');
    assert.equal(m.get('file.enrollments'), 'delta');
    assert.equal(m.get('file.users'), 'absent', 'unchanged since run 1');
    assert.equal(m.get('file.academicSessions'), 'absent');
    assert.deepEqual(table(zip.get('orgs.csv')!).map((r) => [r.sourcedId, r.status, r.dateLastModified, r.name]), [
      ['s2', 'active', '2026-03-01T00:00:00.000Z', 'Renamed'],
      ['s3', 'tobedeleted', '2026-02-01T00:00:00.000Z', org.name],
    ]);
    const enr = table(zip.get('enrollments.csv')!);
    assert.deepEqual([enr[0]!.sourcedId, enr[0]!.status], ['e1', 'tobedeleted']);
    assert.deepEqual(summary.files, { orgs: { rows: 2, deleted: 1 }, enrollments: { rows: 1, deleted: 1 } });

    const none = join(dir, 'delta-none.zip');
    const empty = await exportOneRosterCsv(reader, { outFile: none, sinceRun: 3 });
    const z2 = await unzip(none);
    assert.deepEqual([...z2.keys()], ['manifest.csv']);
    assert.ok([...manifestOf(z2)].filter(([k]) => k.startsWith('file.')).every(([, v]) => v === 'absent'));
    assert.deepEqual(empty.files, {});
  });

  it('round-trips a simulated district', async () => {
    const district = District.generate({ size: 'small', seed: 2 });
    const outFile = join(dir, 'district.zip');
    const summary = await exportOneRosterCsv(MemoryRosterReader.fromSource(district), { outFile, compressionLevel: 1 });
    const zip = await unzip(outFile);
    for (const c of COLLECTIONS) {
      const originals = [...district.records(c)].filter((r) => r.status === 'active').sort((a, b) => (a.sourcedId < b.sourcedId ? -1 : 1));
      const rows = table(zip.get(`${c}.csv`)!);
      assert.equal(rows.length, originals.length, c);
      assert.equal(summary.files[c]!.rows, originals.length);
      for (let i = 0; i < rows.length; i++) assert.deepEqual(fromCsv(c, rows[i]!), csvView(c, originals[i]!, false), `${c} ${originals[i]!.sourcedId}`);
    }
  });

  it('keeps an earlier zip and leaves no partial file when the export fails', async () => {
    const outFile = join(dir, 'keep.zip');
    await writeFile(outFile, 'previous');
    const good = MemoryRosterReader.fromRecords({ orgs: [FULL_RECORDS.orgs], users: [FULL_RECORDS.users] });
    const failing: RosterReader = {
      async *rows(collection, options) {
        yield* good.rows(collection, options);
        if (collection === 'users') throw new Error('cursor lost');
      },
    };
    await assert.rejects(exportOneRosterCsv(failing, { outFile }), /cursor lost/);
    assert.equal(await readFile(outFile, 'utf8'), 'previous');
    assert.deepEqual((await readdir(dir)).filter((f) => f.includes('partial')), []);
  });

  it('stops on abort', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    const outFile = join(dir, 'aborted.zip');
    await assert.rejects(exportOneRosterCsv(MemoryRosterReader.fromRecords({ orgs: [FULL_RECORDS.orgs] }), { outFile, signal: ac.signal }), /stop now/);
    assert.equal(existsSync(outFile), false);
  });
});
