import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DataIssue } from '../oneroster/issues.ts';
import { readEntity } from '../oneroster/reader.ts';
import { FULL_RECORDS } from '../oneroster/sample-records.ts';
import { toWire } from '../oneroster/serialize.ts';
import { COLLECTIONS, type Class, type CollectionName, type Demographics, type Enrollment, type Org, type User } from '../oneroster/types.ts';
import { District } from '../simulate/district.ts';
import { NO_OPTIONAL_DATA, type Toggles } from './toggles.ts';
import {
  REFERENCE_RULES,
  SDS_REQUIRED_FIELDS,
  SDS_RULES,
  SdsValidator,
  applySdsRules,
  checkReferences,
  runStatus,
} from './rules.ts';

const ALL: Toggles = { contacts: true, demographics: true, userFlags: true };
const FLAGS = 'microsoft.userFlags';

const student = (over: Partial<User> = {}): User => ({ ...FULL_RECORDS.users, metadata: { [FLAGS]: 'IEP' }, ...over });
const contact = (over: Partial<User> = {}): User => {
  const u: User = {
    ...FULL_RECORDS.users, sourcedId: 'p1', role: 'guardian', username: 'pdoe', givenName: 'Pat', familyName: 'Doe',
    identifier: 'C1', email: 'pat.doe@example.org', phone: '+12125550123', sms: '+12125550124', agents: [{ sourcedId: 'u1', type: 'user' }], ...over,
  };
  delete u.metadata;
  delete u.grades;
  return u;
};

function rulesOf(issues: DataIssue[]): string[] {
  return issues.map((i) => `${i.severity}:${i.rule}:${i.field ?? ''}`);
}

test('clean records of every collection pass unchanged (same object, no issues)', () => {
  const v = new SdsValidator({ toggles: ALL });
  for (const c of COLLECTIONS) {
    const issues: DataIssue[] = [];
    const rec = FULL_RECORDS[c];
    assert.equal(v.check(c, rec, issues), rec, c);
    assert.deepEqual(issues, [], c);
  }
  const g = contact();
  const issues: DataIssue[] = [];
  const kept = v.check('users', g, issues) as User;
  assert.deepEqual(issues, []);
  assert.equal(kept.agents?.length, 1, 'reverse agents stay on the record (never relationships)');
});

test('SDS required fields per entity: an error drops the record, with a fix at the SIS', () => {
  const cases: Array<[CollectionName, string]> = [
    ['orgs', 'identifier'],
    ['users', 'identifier'],
    ['users', 'username'],
    ['users', 'orgs'],
    ['courses', 'org'],
    ['classes', 'terms'],
    ['classes', 'school'],
    ['enrollments', 'user'],
    ['academicSessions', 'schoolYear'],
  ];
  for (const [c, field] of cases) {
    const rec = { ...FULL_RECORDS[c] } as Record<string, unknown>;
    if (field === 'orgs' || field === 'terms') rec[field] = [];
    else if (field === 'identifier') rec[field] = '';
    else delete rec[field];
    const r = applySdsRules(c, rec as never, { toggles: ALL });
    assert.equal(r.record, undefined, `${c}.${field} dropped`);
    assert.equal(r.skipped, false);
    assert.deepEqual(rulesOf(r.issues), [`error:sds-required-field:${field}`], `${c}.${field}`);
    const msg = r.issues[0]!.message;
    assert.ok(msg.startsWith(`${c} ${FULL_RECORDS[c].sourcedId}: ${field} is required by School Data Sync`), msg);
    assert.match(msg, /Fix at the SIS: .+ \[sds-required-field\]$/);
  }
  // familyName is not an SDS requirement of students, but of contacts it is (below)
  const noFamily = { ...student() } as Partial<User>;
  delete noFamily.familyName;
  assert.deepEqual(applySdsRules('users', noFamily as User, { toggles: ALL }).issues, []);
});

test('records marked tobedeleted are passed through unchecked', () => {
  const org: Org = { ...FULL_RECORDS.orgs, status: 'tobedeleted' };
  delete org.identifier;
  assert.deepEqual(applySdsRules('orgs', org, { toggles: ALL }), { record: org, issues: [], skipped: false });
  const u = { ...student(), status: 'tobedeleted' as const, identifier: '' };
  assert.equal(applySdsRules('users', u, { toggles: ALL }).record, u);
});

test('email: lower-cased (copy, input untouched); invalid optional email is a warning and dropped', () => {
  const upper = student({ email: 'John.Doe@Example.ORG' });
  const v = new SdsValidator({ toggles: ALL });
  const issues: DataIssue[] = [];
  const kept = v.check('users', upper, issues) as User;
  assert.deepEqual(issues, []);
  assert.equal(kept.email, 'john.doe@example.org');
  assert.equal(upper.email, 'John.Doe@Example.ORG');
  assert.equal(v.stats.emailsLowercased, 1);

  const r = applySdsRules('users', student({ email: 'john.doe at example.org' }), { toggles: ALL });
  assert.deepEqual(rulesOf(r.issues), ['warning:invalid-email:email']);
  assert.equal(r.record?.email, undefined);
  assert.equal(r.record?.sourcedId, 'u1');
  assert.equal(r.issues[0]!.value, 'j***');
  assert.ok(!r.issues[0]!.message.includes('john'), 'message carries no personal value');
});

test('contacts: familyName, givenName and email required (errors); phones must be E.164 (warnings)', () => {
  const table: Array<[Partial<User>, string[]]> = [
    [{}, []],
    [{ email: '' }, ['error:contact-required-field:email']],
    [{ email: 'pat.doe@' }, ['error:contact-invalid-email:email']],
    [{ familyName: '' }, ['error:contact-required-field:familyName']],
    [{ givenName: '' }, ['error:sds-required-field:givenName']],
    [{ phone: '212-555-0123' }, ['warning:invalid-phone:phone']],
    [{ sms: '+1 212 555 0124' }, ['warning:invalid-phone:sms']],
    [{ phone: '5550123', sms: '+11234567890' }, ['warning:invalid-phone:phone', 'warning:invalid-phone:sms']],
    [{ role: 'parent', phone: '+442079460958' }, []],
  ];
  for (const [over, want] of table) {
    const r = applySdsRules('users', contact(over), { toggles: ALL });
    assert.deepEqual(rulesOf(r.issues), want, JSON.stringify(over));
    const errors = want.some((w) => w.startsWith('error'));
    assert.equal(r.record === undefined, errors, `dropped iff error: ${JSON.stringify(over)}`);
  }
  const r = applySdsRules('users', contact({ phone: '212-555-0123' }), { toggles: ALL });
  assert.equal(r.record?.phone, undefined, 'bad phone dropped');
  assert.equal(r.record?.sms, '+12125550124', 'good sms kept');
  assert.equal(r.issues[0]!.value, '2*****0123');
  assert.match(r.issues[0]!.message, /E\.164/);
  // phones of non-contacts are not validated (stored as received; only contacts are checked)
  assert.deepEqual(applySdsRules('users', student({ phone: '555-0123' }), { toggles: ALL }).issues, []);
});

test('contacts: reverse agents are counted and kept on the record, never relationships', () => {
  const v = new SdsValidator({ toggles: ALL });
  const issues: DataIssue[] = [];
  const twoKids = contact({ agents: [{ sourcedId: 'u1', type: 'user' }, { sourcedId: 'u2', type: 'user' }] });
  const kept = v.check('users', twoKids, issues) as User;
  v.check('users', contact({ sourcedId: 'p2' }), issues);
  v.check('users', contact({ sourcedId: 'p3', agents: undefined as never }), issues);
  assert.deepEqual(issues, []);
  assert.equal(kept.agents?.length, 2, 'kept on the record');
  assert.equal(twoKids.agents?.length, 2, 'input untouched');
  assert.equal(v.stats.reverseAgentsFiltered, 3);
  assert.equal(v.stats.contactsWithReverseAgents, 2);
  // a student's agents are its relationships and stay
  assert.deepEqual((v.check('users', student(), issues) as User).agents, [{ sourcedId: 'p1', type: 'user' }]);
});

test('toggles off: contacts and demographics are not ingested; flags and agents are ignored', () => {
  const v = new SdsValidator({ toggles: NO_OPTIONAL_DATA });
  const issues: DataIssue[] = [];
  assert.equal(v.check('users', contact(), issues), undefined);
  assert.equal(v.check('users', contact({ role: 'relative', email: '' }), issues), undefined);
  assert.equal(v.check('demographics', FULL_RECORDS.demographics, issues), undefined);
  assert.deepEqual(issues, [], 'skipping is not an issue');
  assert.deepEqual(v.stats.skippedByToggle, { contacts: 2, demographics: 1 });
  assert.equal(v.ingests('users', contact()), false);
  assert.equal(v.ingests('users', student()), true);
  assert.equal(v.ingests('demographics', FULL_RECORDS.demographics), false);

  const s = student({ metadata: { [FLAGS]: 'IEP,superStar', 'sis.homeroom': 'HR1' } });
  const kept = v.check('users', s, issues) as User;
  assert.deepEqual(issues, [], 'no unknown-flag warning when flags are not ingested');
  assert.deepEqual(kept.metadata, { 'sis.homeroom': 'HR1' });
  assert.equal(kept.agents, undefined);
  assert.equal(v.stats.flagsIgnoredByToggle, 1);
  assert.equal(v.stats.agentsIgnoredByToggle, 1);
  const onlyFlags = v.check('users', student(), issues) as User;
  assert.equal(onlyFlags.metadata, undefined, 'metadata emptied by the toggle is removed');

  const r = applySdsRules('demographics', FULL_RECORDS.demographics, { toggles: NO_OPTIONAL_DATA });
  assert.deepEqual(r, { issues: [], skipped: true });
});

test('user flags: normalised, unknown values warned one by one, students only', () => {
  const table: Array<[string, unknown, unknown, string[]]> = [
    // role, flags in, flags kept (undefined = key removed), issues
    ['student', 'IEP', 'IEP', []],
    ['student', ' iep , Ell,freelunch ', 'freeLunch,ELL,IEP', []],
    ['student', 'IEP,superStar,athlete', 'IEP', ['warning:unknown-user-flag:metadata.microsoft.userFlags', 'warning:unknown-user-flag:metadata.microsoft.userFlags']],
    ['student', 'honorRoll', '', ['warning:unknown-user-flag:metadata.microsoft.userFlags']],
    ['student', '', '', []],
    ['student', ['IEP'], undefined, ['warning:invalid-user-flags:metadata.microsoft.userFlags']],
    ['teacher', 'IEP', undefined, ['warning:user-flags-not-student:metadata.microsoft.userFlags']],
  ];
  for (const [role, flags, want, issues] of table) {
    const r = applySdsRules('users', student({ role, metadata: { [FLAGS]: flags, other: 1 } }), { toggles: ALL });
    assert.deepEqual(rulesOf(r.issues), issues, JSON.stringify(flags));
    assert.ok(r.record, 'flag problems never drop the user');
    assert.equal(r.record.metadata?.[FLAGS], want, JSON.stringify(flags));
    assert.equal(r.record.metadata?.['other'], 1, 'other metadata kept');
  }
  const r = applySdsRules('users', student({ metadata: { [FLAGS]: 'IEP,superStar' } }), { toggles: ALL });
  assert.equal(r.issues[0]!.value, 'superStar');
  assert.match(r.issues[0]!.message, /"superStar", which is not an SDS user flag/);
  const same = student();
  assert.equal(applySdsRules('users', same, { toggles: ALL }).record, same, 'already-normal flags: no copy');
});

test('checkReferences: required refs drop the record, optional ones drop the value', () => {
  const have = new Set(['orgs:s1', 'academicSessions:t1', 'courses:c1', 'users:u1', 'classes:k1']);
  const exists = (c: CollectionName, id: string): boolean => have.has(`${c}:${id}`);
  const run = <C extends CollectionName>(c: C, rec: never, ingested?: Set<CollectionName>) => {
    const issues: DataIssue[] = [];
    const kept = checkReferences(c, rec, exists, issues, ingested ? { ingested } : {});
    return { kept, issues: rulesOf(issues), raw: issues };
  };
  const cls = FULL_RECORDS.classes;
  assert.deepEqual(run('classes', cls as never), { kept: cls, issues: [], raw: [] });
  assert.deepEqual(run('classes', { ...cls, school: { sourcedId: 's9', type: 'org' } } as never).issues, ['error:dangling-reference:school.sourcedId']);
  assert.equal(run('classes', { ...cls, school: { sourcedId: 's9', type: 'org' } } as never).kept, undefined);

  const twoTerms = run('classes', { ...cls, terms: [{ sourcedId: 't9', type: 'academicSession' }, { sourcedId: 't1', type: 'academicSession' }] } as never);
  assert.deepEqual(twoTerms.issues, ['warning:dangling-reference-dropped:terms[0].sourcedId']);
  assert.deepEqual((twoTerms.kept as Class).terms, [{ sourcedId: 't1', type: 'academicSession' }]);
  assert.equal(twoTerms.raw[0]!.value, 't9');
  assert.deepEqual(run('classes', { ...cls, terms: [{ sourcedId: 't9', type: 'academicSession' }] } as never).issues, ['error:dangling-reference:terms']);

  const noCourse = run('classes', { ...cls, course: { sourcedId: 'c9', type: 'course' } } as never);
  assert.deepEqual(noCourse.issues, ['warning:dangling-reference-dropped:course.sourcedId']);
  assert.equal((noCourse.kept as Class).course, undefined);
  assert.equal(cls.course?.sourcedId, 'c1', 'input untouched');
  // a run without /courses does not check references into it
  assert.deepEqual(run('classes', { ...cls, course: { sourcedId: 'c9', type: 'course' } } as never, new Set<CollectionName>(['orgs', 'academicSessions'])).issues, []);

  const enr: Enrollment = { ...FULL_RECORDS.enrollments, user: { sourcedId: 'u9', type: 'user' } };
  assert.deepEqual(run('enrollments', enr as never).issues, ['error:dangling-reference:user.sourcedId']);
  const demo: Demographics = { ...FULL_RECORDS.demographics, sourcedId: 'u9' };
  const d = run('demographics', demo as never);
  assert.deepEqual(d.issues, ['error:demographics-without-user:sourcedId']);
  assert.match(d.raw[0]!.message, /demographics u9: sourcedId matches no user/);
  assert.deepEqual(run('demographics', FULL_RECORDS.demographics as never).issues, []);
  const user = run('users', { ...FULL_RECORDS.users, agents: [{ sourcedId: 'p9', type: 'user' }] } as never);
  assert.deepEqual(user.issues, ['warning:dangling-reference-dropped:agents[0].sourcedId']);
  assert.equal((user.kept as User).agents, undefined);
  const gone = { ...cls, status: 'tobedeleted' as const, school: { sourcedId: 's9', type: 'org' } };
  assert.equal(run('classes', gone as never).kept, gone);
});

test('REFERENCE_RULES: required references are errors, optional ones warnings', () => {
  const summary = Object.fromEntries(Object.entries(REFERENCE_RULES).map(([c, rules]) => [c, rules.map((r) => `${r.field}->${r.target}:${r.severity}`)]));
  assert.deepEqual(summary, {
    academicSessions: ['parent->academicSessions:warning'],
    orgs: [],
    courses: ['org->orgs:error', 'schoolYear->academicSessions:warning'],
    classes: ['school->orgs:error', 'terms->academicSessions:error', 'course->courses:warning'],
    users: ['orgs->orgs:error', 'agents->users:warning'],
    enrollments: ['class->classes:error', 'user->users:error', 'school->orgs:error'],
    demographics: ['sourcedId->users:error'],
  });
  for (const rules of Object.values(REFERENCE_RULES)) for (const r of rules) assert.equal(SDS_RULES[r.rule].severity, r.severity);
});

test('SDS_RULES: every rule has a severity, a description and a fix; required-field lists cover §1.4', () => {
  for (const [code, r] of Object.entries(SDS_RULES)) {
    assert.match(code, /^[a-z0-9]+(-[a-z0-9]+)*$/);
    assert.ok(r.severity === 'error' || r.severity === 'warning');
    assert.ok(r.description.length > 20 && r.fix.length > 10, code);
  }
  assert.ok(SDS_REQUIRED_FIELDS.orgs.includes('identifier'));
  assert.ok(SDS_REQUIRED_FIELDS.users.includes('identifier'));
  assert.ok(SDS_REQUIRED_FIELDS.courses.includes('org'));
});

test('runStatus from issue counts', () => {
  const table: Array<[{ errors: number; warnings: number; failed?: boolean }, string]> = [
    [{ errors: 0, warnings: 0 }, 'completed'],
    [{ errors: 0, warnings: 3 }, 'completedWithWarnings'],
    [{ errors: 1, warnings: 0 }, 'completedWithErrors'],
    [{ errors: 2, warnings: 9 }, 'completedWithErrors'],
    [{ errors: 0, warnings: 0, failed: true }, 'failed'],
    [{ errors: 5, warnings: 5, failed: true }, 'failed'],
    [{ errors: 0, warnings: 0, failed: false }, 'completed'],
  ];
  for (const [counts, want] of table) assert.equal(runStatus(counts), want, JSON.stringify(counts));
});

/** Reads every record of a district as a provider would send it, then applies the SDS rules. */
function validateDistrict(district: District): DataIssue[] {
  const v = new SdsValidator({ toggles: ALL });
  const issues: DataIssue[] = [];
  for (const c of COLLECTIONS) {
    for (const rec of district.records(c)) {
      const read = readEntity(c, toWire(c, rec));
      if (read.record !== undefined) v.check(c, read.record, issues);
    }
  }
  return issues;
}

test('a clean simulated district raises no SDS issue (no false positives on phones, emails, flags)', () => {
  const issues = validateDistrict(District.generate({ size: 'tiny', seed: 3 }));
  assert.deepEqual(issues, []);
});

test('the SDS rules find exactly the bad phones and unknown flags the simulator planted', () => {
  for (const seed of [1, 2]) {
    const district = District.generate({ size: 'tiny', seed, dirtyRate: 0.3 });
    const issues = validateDistrict(district);
    const ledger = district.dirtyRecords();
    const planted = (kind: string): string[] => ledger.filter((d) => d.kind === kind).map((d) => `${d.sourcedId}:${kind === 'bad-phone' ? d.field : ''}`).sort();
    const found = (rule: string, withField: boolean): string[] => [...new Set(issues.filter((i) => i.rule === rule).map((i) => `${i.sourcedId}:${withField ? i.field : ''}`))].sort();
    assert.ok(planted('bad-phone').length > 0 && planted('unknown-flag').length > 0, 'the district has both kinds');
    assert.deepEqual(found('invalid-phone', true), planted('bad-phone'), `seed ${seed} phones`);
    assert.deepEqual(found('unknown-user-flag', false), planted('unknown-flag'), `seed ${seed} flags`);
    for (const i of issues.filter((x) => x.rule === 'invalid-phone')) {
      const sent = (district.get('users', i.sourcedId!) as User)[i.field as 'phone' | 'sms']!;
      assert.ok(!i.message.includes(sent) && i.value !== sent, `the number is not in the issue: ${i.message}`);
    }
  }
});
