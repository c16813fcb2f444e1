import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parse } from 'csv-parse/sync';
import type { AcademicSession, Class, Course, Demographics, Enrollment, Org, User } from '../oneroster/types.ts';
import { deriveRelationships, isContactRole } from '../sds/contacts.ts';
import { parseUserFlags } from '../sds/user-flags.ts';
import { District } from '../simulate/district.ts';
import { MemoryRosterReader } from './memory-roster-reader.ts';
import type { RosterReader } from './roster-reader.ts';
import { SDS_HEADERS, exportSdsCsv, sdsEnrollmentRole, sdsGrade, sdsOrgRole, sdsOrgType } from './sds-csv.ts';

/** Copied verbatim from shared/reference/sds-notes.md §4.4 (official SDS v2.1 samples). */
const REFERENCE_HEADERS: Record<string, string> = {
  'orgs.csv': 'sourcedId,name,type,parentSourcedId',
  'users.csv': 'sourcedId,username,givenName,familyName,password,activeDirectoryMatchId,email,phone,sms',
  'roles.csv': 'userSourcedId,orgSourcedId,role,sessionSourcedId,grade,isPrimary,roleStartDate,roleEndDate',
  'classes.csv': 'sourcedId,orgSourcedId,title,sessionSourcedIds,courseSourcedId',
  'enrollments.csv': 'classSourcedId,userSourcedId,role',
  'academicSessions.csv': 'sourcedId,title,type,schoolYear,startDate,endDate',
  'courses.csv': 'sourcedId,orgSourcedId,title,code,schoolYearSourcedId,subject,grade',
  'demographics.csv': 'userSourcedId,sex,birthDate,birthCity,birthState,birthCountry,ethnicityCodes,raceCodes',
  'userFlags.csv': 'userSourcedId,flag',
  'relationships.csv': 'userSourcedId,relationshipUserSourcedId,relationshipRole',
};

const DLM = '2026-01-01T00:00:00.000Z';
const ref = (sourcedId: string, type: string) => ({ sourcedId, type });

const sessions: AcademicSession[] = [
  { sourcedId: 'y2027', status: 'active', dateLastModified: DLM, title: '2026-27', type: 'SchoolYear', startDate: '2026-08-17', endDate: '2027-06-01', schoolYear: '2027' },
  { sourcedId: 't1', status: 'active', dateLastModified: DLM, title: 'Term 1', type: 'term', startDate: '2026-08-17', endDate: '2027-01-10', schoolYear: '2027', parent: ref('y2027', 'academicSession') },
  { sourcedId: 't2', status: 'active', dateLastModified: DLM, title: 'Term 2', type: 'term', startDate: '2027-01-10', endDate: '2027-06-01', schoolYear: '2027' },
  { sourcedId: 'old', status: 'tobedeleted', dateLastModified: DLM, title: 'Gone', type: 'term', startDate: '2020-01-01', endDate: '2020-06-01', schoolYear: '2020' },
];
const orgs: Org[] = [
  { sourcedId: 'd1', status: 'active', dateLastModified: DLM, name: 'District One', type: 'district' },
  { sourcedId: 's1', status: 'active', dateLastModified: DLM, name: 'North, "High" School', type: 'School', parent: ref('d1', 'org') },
  { sourcedId: 's2', status: 'active', dateLastModified: DLM, name: 'South\r\nAnnex', type: 'school', parent: ref('gone', 'org') },
];
const courses: Course[] = [
  { sourcedId: 'c1', status: 'active', dateLastModified: DLM, title: 'Algebra I', courseCode: 'ALG1', grades: ['9', '10'], subjects: ['Mathematics', 'Logic'], org: ref('s1', 'org'), schoolYear: ref('y2027', 'academicSession') },
  { sourcedId: 'c2', status: 'active', dateLastModified: DLM, title: 'Old course', schoolYear: ref('old', 'academicSession') },
];
const classes: Class[] = [
  { sourcedId: 'k1', status: 'active', dateLastModified: DLM, title: 'Algebra I, P1', school: ref('s1', 'org'), terms: [ref('t1', 'academicSession'), ref('t2', 'academicSession')], course: ref('c1', 'course') },
  { sourcedId: 'k2', status: 'active', dateLastModified: DLM, title: 'Homeroom', school: ref('s2', 'org'), terms: [ref('old', 'academicSession'), ref('t1', 'academicSession')] },
];
const user = (u: Partial<User> & Pick<User, 'sourcedId' | 'role'>): User => ({
  status: 'active', dateLastModified: DLM, username: `${u.sourcedId}@x.example`, enabledUser: true,
  givenName: 'Given', familyName: 'Family', orgs: [ref('s1', 'org')], ...u,
});
const users: User[] = [
  user({ sourcedId: 'stu1', role: 'student', givenName: 'Anne-\nMarie', familyName: 'O"Neil, Jr', email: 'Anne.ONeil@School.Example', grades: ['1'], orgs: [ref('s1', 'org'), ref('s2', 'org'), ref('gone', 'org')], agents: [ref('par1', 'user'), ref('gua1', 'user'), ref('tch1', 'user'), ref('par1', 'user')], metadata: { 'microsoft.userFlags': 'iep, FreeLunch,bogus' }, password: 'secret-pw' }),
  user({ sourcedId: 'stu2', role: 'student', email: 'not an email', grades: ['KG'], metadata: { 'microsoft.userFlags': '504' } }),
  user({ sourcedId: 'tch1', role: 'teacher', grades: ['09', '10'], phone: '+15555550100', metadata: { 'microsoft.userFlags': 'IEP' } }),
  user({ sourcedId: 'aid1', role: 'aide' }),
  user({ sourcedId: 'par1', role: 'parent', email: 'par1@home.example', phone: '+15555550101', sms: '+15555550102' }),
  user({ sourcedId: 'gua1', role: 'guardian' }),
  user({ sourcedId: 'stu9', role: 'student', status: 'tobedeleted' }),
];
const enrollments: Enrollment[] = [
  { sourcedId: 'e1', status: 'active', dateLastModified: DLM, user: ref('stu1', 'user'), class: ref('k1', 'class'), school: ref('s1', 'org'), role: 'student' },
  { sourcedId: 'e2', status: 'active', dateLastModified: DLM, user: ref('tch1', 'user'), class: ref('k1', 'class'), school: ref('s1', 'org'), role: 'Teacher', primary: true },
  { sourcedId: 'e3', status: 'active', dateLastModified: DLM, user: ref('par1', 'user'), class: ref('k1', 'class'), school: ref('s1', 'org'), role: 'parent' },
  { sourcedId: 'e4', status: 'active', dateLastModified: DLM, user: ref('stu9', 'user'), class: ref('k1', 'class'), school: ref('s1', 'org'), role: 'student' },
  { sourcedId: 'e5', status: 'active', dateLastModified: DLM, user: ref('aid1', 'user'), class: ref('k2', 'class'), school: ref('s2', 'org'), role: 'aide' },
];
const demographics: Demographics[] = [
  { sourcedId: 'stu1', status: 'active', dateLastModified: DLM, sex: 'Female', birthDate: '2019-04-05', cityOfBirth: 'Boise', stateOfBirthAbbreviation: 'ID', countryOfBirthCode: 'US', asian: true, white: true, hispanicOrLatinoEthnicity: true },
  { sourcedId: 'stu9', status: 'active', dateLastModified: DLM, sex: 'male' },
];

function fixtureReader(): RosterReader {
  return MemoryRosterReader.fromRecords({ academicSessions: sessions, orgs, courses, classes, users, enrollments, demographics }, { batchSize: 2 });
}

const ALL_ON = { contacts: true, demographics: true, userFlags: true } as const;

async function readCsv(dir: string, file: string): Promise<{ text: string; header: string; rows: string[][] }> {
  const text = await readFile(join(dir, file), 'utf8');
  const all = parse(text, { relax_column_count: false }) as string[][];
  return { text, header: text.slice(0, text.indexOf('\r\n')), rows: all.slice(1) };
}

describe('SDS v2.1 CSV export', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sds-csv-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes the ten files with the reference headers verbatim', async () => {
    const out = join(dir, 'all');
    const summary = await exportSdsCsv(fixtureReader(), { outDir: out, toggles: ALL_ON });
    assert.deepEqual((await readdir(out)).sort(), Object.keys(REFERENCE_HEADERS).sort());
    for (const [file, header] of Object.entries(REFERENCE_HEADERS)) {
      const csv = await readCsv(out, file);
      assert.equal(csv.header, header, file);
      assert.equal(summary.files[file as keyof typeof summary.files], csv.rows.length, `${file} row count in summary`);
    }
    assert.deepEqual(Object.fromEntries(Object.entries(SDS_HEADERS).map(([f, h]) => [f, h.join(',')])), REFERENCE_HEADERS);
  });

  it('applies the SDS value conventions', async () => {
    const out = join(dir, 'conventions');
    const summary = await exportSdsCsv(fixtureReader(), { outDir: out, toggles: ALL_ON });

    const s = await readCsv(out, 'academicSessions.csv');
    assert.deepEqual(s.rows, [
      ['t1', 'Term 1', 'term', '2027', '2026-08-17', '2027-01-10'],
      ['t2', 'Term 2', 'term', '2027', '2027-01-10', '2027-06-01'],
      ['y2027', '2026-27', 'schoolYear', '2027', '2026-08-17', '2027-06-01'], // ENUM case fixed; tombstone absent
    ]);

    const o = await readCsv(out, 'orgs.csv');
    assert.deepEqual(o.rows, [
      ['d1', 'District One', 'district', ''],
      ['s1', 'North, "High" School', 'school', 'd1'],
      ['s2', 'South Annex', 'school', ''], // line break → space; dangling parent blanked
    ]);
    assert.match(o.text, /"North, ""High"" School"/, 'RFC 4180 quoting of comma and quote');
    assert.doesNotMatch(o.text.replace(/\r\n/g, ''), /[\r\n]/, 'no line break inside any value');

    const c = await readCsv(out, 'courses.csv');
    assert.deepEqual(c.rows, [
      ['c1', 's1', 'Algebra I', 'ALG1', 'y2027', 'Mathematics', '09'], // first subject; leading zero on grade
      ['c2', '', 'Old course', '', '', '', ''], // school year tombstoned → blank
    ]);

    const k = await readCsv(out, 'classes.csv');
    assert.deepEqual(k.rows, [
      ['k1', 's1', 'Algebra I, P1', 't1,t2', 'c1'],
      ['k2', 's2', 'Homeroom', 't1', ''],
    ]);
    assert.match(k.text, /"t1,t2"/, 'multi-valued cell quoted');

    const u = await readCsv(out, 'users.csv');
    const byId = new Map(u.rows.map((r) => [r[0], r]));
    assert.deepEqual([...byId.keys()].sort(), ['aid1', 'gua1', 'par1', 'stu1', 'stu2', 'tch1']);
    assert.deepEqual(byId.get('stu1'), ['stu1', 'stu1@x.example', 'Anne- Marie', 'O"Neil, Jr', '', '', 'anne.oneil@school.example', '', '']);
    assert.equal(byId.get('stu2')![6], '', 'invalid email dropped');
    assert.deepEqual(byId.get('par1'), ['par1', 'par1@x.example', 'Given', 'Family', '', '', 'par1@home.example', '+15555550101', '+15555550102']);

    const r = await readCsv(out, 'roles.csv');
    assert.deepEqual(r.rows, [
      ['aid1', 's1', 'teacherAssistant', '', '', 'true', '', ''],
      ['stu1', 's1', 'student', '', '01', 'true', '', ''],
      ['stu1', 's2', 'student', '', '01', 'false', '', ''],
      ['stu2', 's1', 'student', '', 'KG', 'true', '', ''],
      ['tch1', 's1', 'teacher', '', '09', 'true', '', ''],
    ]);
    assert.equal(summary.dropped.roleOrg, 1, 'the role in an unknown org');

    const e = await readCsv(out, 'enrollments.csv');
    assert.deepEqual(e.rows, [
      ['k1', 'stu1', 'student'],
      ['k1', 'tch1', 'teacher'],
      ['k2', 'aid1', 'aide'],
    ]);
    assert.equal(summary.dropped.enrollmentRole, 1, 'the parent enrollment');
    assert.equal(summary.dropped.enrollmentReference, 1, 'the enrollment of a deleted student');

    const d = await readCsv(out, 'demographics.csv');
    assert.deepEqual(d.rows, [['stu1', 'female', '2019-04-05', 'Boise', 'ID', 'US', 'hispanicOrLatinoEthnicity', 'asian,white']]);
    assert.equal(summary.dropped.demographicsUser, 1);

    const f = await readCsv(out, 'userFlags.csv');
    assert.deepEqual(f.rows, [['stu1', 'freeLunch'], ['stu1', 'IEP'], ['stu2', '504']], 'students only, canonical spelling, unknown dropped');

    const rel = await readCsv(out, 'relationships.csv');
    assert.deepEqual(rel.rows, [['stu1', 'par1', 'parent'], ['stu1', 'gua1', 'guardian']]);
    assert.equal(summary.dropped.relationshipUnresolved, 1, 'the teacher listed as an agent');
  });

  it('writes optional files only when their data is enabled, and removes stale ones', async () => {
    const out = join(dir, 'off');
    await exportSdsCsv(fixtureReader(), { outDir: out, toggles: ALL_ON });
    await writeFile(join(out, 'notes.txt'), 'keep me');
    const summary = await exportSdsCsv(fixtureReader(), { outDir: out, toggles: { contacts: false, demographics: false, userFlags: false }, courses: false });
    assert.deepEqual((await readdir(out)).sort(), ['academicSessions.csv', 'classes.csv', 'enrollments.csv', 'notes.txt', 'orgs.csv', 'roles.csv', 'users.csv']);
    assert.deepEqual(summary.removed.sort(), ['courses.csv', 'demographics.csv', 'relationships.csv', 'userFlags.csv']);
    const u = await readCsv(out, 'users.csv');
    assert.deepEqual(u.rows.map((r) => r[0]).sort(), ['aid1', 'stu1', 'stu2', 'tch1'], 'no contacts without the contacts toggle');
    const k = await readCsv(out, 'classes.csv');
    assert.deepEqual(k.rows.map((r) => r[4]), ['', ''], 'no course references without courses.csv');
  });

  it('honours matchIdFrom, includePasswords and roleMap', async () => {
    const out = join(dir, 'options');
    await exportSdsCsv(fixtureReader(), { outDir: out, toggles: ALL_ON, matchIdFrom: 'username', includePasswords: true, roleMap: { aide: 'paraprofessional' } });
    const u = await readCsv(out, 'users.csv');
    const byId = new Map(u.rows.map((r) => [r[0], r]));
    assert.equal(byId.get('stu1')![4], 'secret-pw');
    assert.equal(byId.get('stu1')![5], 'stu1@x.example');
    assert.equal(byId.get('par1')![5], '', 'contacts never carry activeDirectoryMatchId');
    const r = await readCsv(out, 'roles.csv');
    assert.equal(r.rows.find((x) => x[0] === 'aid1')![2], 'paraprofessional');
  });

  it('leaves earlier files intact and no temporary files when the export fails', async () => {
    const out = join(dir, 'fail');
    await exportSdsCsv(fixtureReader(), { outDir: out, toggles: ALL_ON });
    const before = await readFile(join(out, 'users.csv'), 'utf8');
    const good = fixtureReader();
    const failing: RosterReader = {
      async *rows(collection, options) {
        if (collection === 'enrollments') throw new Error('store went away');
        yield* good.rows(collection, options);
      },
    };
    await assert.rejects(exportSdsCsv(failing, { outDir: out, toggles: ALL_ON }), /store went away/);
    assert.equal(await readFile(join(out, 'users.csv'), 'utf8'), before);
    assert.deepEqual((await readdir(out)).filter((f) => f.includes('partial')), []);
  });

  it('fails fast, without hanging, when a file cannot be written', async () => {
    const out = join(dir, 'unwritable');
    // The users.csv temporary name is taken by a directory: its stream fails mid-export.
    await mkdir(join(out, `.users.csv.${process.pid}.partial`), { recursive: true });
    await assert.rejects(exportSdsCsv(fixtureReader(), { outDir: out, toggles: ALL_ON }), /EISDIR/);
    assert.deepEqual((await readdir(out)).filter((f) => !f.startsWith('.users.csv')), [], 'other temporary files removed, nothing renamed');
  });

  it('stops on abort with the caller\'s reason', async () => {
    const ac = new AbortController();
    ac.abort(new Error('cancelled by admin'));
    const out = join(dir, 'aborted');
    await assert.rejects(exportSdsCsv(fixtureReader(), { outDir: out, toggles: ALL_ON, signal: ac.signal }), /cancelled by admin/);
    assert.deepEqual(await readdir(out), []);
  });

  it('round-trips a simulated district: the CSVs parse back to the records', async () => {
    const district = District.generate({ size: 'small', seed: 1 });
    const out = join(dir, 'district');
    const summary = await exportSdsCsv(MemoryRosterReader.fromSource(district), { outDir: out, toggles: ALL_ON });

    const live = <T extends { status: string }>(xs: Iterable<T>) => [...xs].filter((x) => x.status === 'active');
    const allUsers = live(district.records('users') as Iterable<User>);
    const u = await readCsv(out, 'users.csv');
    assert.equal(u.rows.length, allUsers.length);
    const parsed = new Map(u.rows.map((r) => [r[0]!, r]));
    for (const x of allUsers) {
      const row = parsed.get(x.sourcedId);
      assert.ok(row, x.sourcedId);
      assert.deepEqual([row[1], row[2], row[3], row[7], row[8]], [x.username, x.givenName, x.familyName, x.phone ?? '', x.sms ?? ''], x.sourcedId);
    }

    const r = await readCsv(out, 'roles.csv');
    const staff = allUsers.filter((x) => !isContactRole(x.role));
    assert.equal(r.rows.length, staff.reduce((n, x) => n + x.orgs.length, 0));

    const e = await readCsv(out, 'enrollments.csv');
    const enr = live(district.records('enrollments') as Iterable<Enrollment>);
    assert.equal(e.rows.length, enr.length);
    const enrKeys = new Set(enr.map((x) => `${x.class.sourcedId}|${x.user.sourcedId}|${x.role}`));
    for (const row of e.rows) assert.ok(enrKeys.has(row.join('|')), row.join('|'));

    const contacts = new Map(allUsers.filter((x) => isContactRole(x.role)).map((x) => [x.sourcedId, x]));
    let expectedRel = 0;
    let expectedFlags = 0;
    for (const x of allUsers) {
      expectedRel += deriveRelationships(x, contacts).relationships.length;
      const raw = x.metadata?.['microsoft.userFlags'];
      if (x.role === 'student' && typeof raw === 'string') expectedFlags += parseUserFlags(raw).flags.length;
    }
    assert.ok(expectedRel > 1000 && expectedFlags > 100, 'the district has contacts and flags');
    assert.equal(summary.files['relationships.csv'], expectedRel);
    assert.equal(summary.files['userFlags.csv'], expectedFlags);

    const d = await readCsv(out, 'demographics.csv');
    const demo = live(district.records('demographics') as Iterable<Demographics>);
    assert.equal(d.rows.length, demo.length);
    const dById = new Map(d.rows.map((row) => [row[0]!, row]));
    for (const x of demo) assert.equal(dById.get(x.sourcedId)![2], x.birthDate ?? '');

    for (const [file, header] of Object.entries(REFERENCE_HEADERS)) {
      assert.equal((await readCsv(out, file)).header, header, file);
    }
  });
});

describe('SDS value mappings', () => {
  it('maps roles, org types and grades', () => {
    assert.equal(sdsOrgRole('student'), 'student');
    assert.equal(sdsOrgRole('Administrator'), 'administrator');
    assert.equal(sdsOrgRole('aide'), 'teacherAssistant');
    assert.equal(sdsOrgRole('itadmin'), 'itAdmin');
    assert.equal(sdsOrgRole('wizard'), 'other');
    assert.equal(sdsEnrollmentRole('TEACHER'), 'teacher');
    assert.equal(sdsEnrollmentRole('guardian'), undefined);
    assert.equal(sdsOrgType('ministryofeducation'), 'ministryOfEducation');
    assert.equal(sdsOrgType('customType'), 'customType');
    assert.equal(sdsGrade(['3', '4']), '03');
    assert.equal(sdsGrade(['11']), '11');
    assert.equal(sdsGrade(undefined), '');
  });
});
