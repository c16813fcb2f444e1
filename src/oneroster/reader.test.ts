import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readEntity, RULE_FIX, RULES, type RuleCode } from './reader.ts';
import { FULL_RECORDS } from './sample-records.ts';
import { COLLECTIONS, type CollectionName } from './types.ts';
import type { DataIssue } from './issues.ts';

const seenRules = new Set<string>();

function read(collection: CollectionName, raw: unknown): { record?: Record<string, unknown>; issues: DataIssue[] } {
  const r = readEntity(collection, raw);
  for (const i of r.issues) {
    seenRules.add(i.rule);
    // every issue names entity, field and rule in its message, and the record's id when known
    assert.equal(i.entity, collection);
    assert.ok(i.message.includes(collection) && i.message.includes(i.rule), i.message);
    if (i.field !== undefined) assert.ok(i.message.includes(i.field), i.message);
    if (i.sourcedId !== undefined) assert.ok(i.message.includes(i.sourcedId), i.message);
  }
  return r as unknown as { record?: Record<string, unknown>; issues: DataIssue[] };
}

function rules(issues: DataIssue[]): string[] {
  return issues.map((i) => `${i.severity}:${i.rule}:${i.field ?? ''}`);
}

const user = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  sourcedId: 'u1',
  status: 'active',
  dateLastModified: '2024-09-01T12:00:00.000Z',
  username: 'jdoe',
  enabledUser: true,
  givenName: 'John',
  familyName: 'Doe',
  role: 'student',
  orgs: [{ href: 'https://h/orgs/s1', sourcedId: 's1', type: 'org' }],
  ...over,
});

const enrollment = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  sourcedId: 'e1',
  status: 'active',
  dateLastModified: '2024-09-01T12:00:00.000Z',
  user: { sourcedId: 'u1', type: 'user' },
  class: { sourcedId: 'k1', type: 'class' },
  school: { sourcedId: 's1', type: 'org' },
  role: 'student',
  ...over,
});

const klass = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  sourcedId: 'k1',
  status: 'active',
  dateLastModified: '2024-09-01T12:00:00.000Z',
  title: 'Algebra',
  school: { sourcedId: 's1' },
  terms: [{ sourcedId: 't1' }],
  ...over,
});

describe('readEntity: clean records', () => {
  for (const c of COLLECTIONS) {
    it(`reads a full ${c} record unchanged with no issues`, () => {
      const r = read(c, JSON.parse(JSON.stringify(FULL_RECORDS[c])));
      assert.deepEqual(r.issues, []);
      assert.deepEqual(r.record, FULL_RECORDS[c]);
    });
  }

  it('drops unknown properties and keeps metadata as-is', () => {
    const metadata = { 'vendor.x': [1, { y: null }] };
    const r = read('users', user({ shoeSize: 9, preferredFirstName: 'Jo', metadata }));
    assert.equal(r.record?.['shoeSize'], undefined);
    assert.equal(r.record?.['preferredFirstName'], undefined);
    assert.equal(r.record?.['metadata'], metadata);
  });
});

describe('readEntity: leniencies', () => {
  it('reads booleans in every accepted spelling', () => {
    const table: Array<[unknown, boolean | undefined, string[]]> = [
      [true, true, []],
      [false, false, []],
      ['true', true, []],
      ['True', true, []],
      ['TRUE', true, []],
      [' false ', false, []],
      ['FALSE', false, []],
      [1, true, ['warning:boolean-numeric:enabledUser']],
      ['0', false, ['warning:boolean-numeric:enabledUser']],
      [undefined, true, []], // 1.1: optional; absent = enabled
      [null, true, []],
      ['', true, []],
    ];
    for (const [value, expected, issues] of table) {
      const r = read('users', user({ enabledUser: value }));
      assert.equal(r.record?.['enabledUser'], expected, String(value));
      assert.deepEqual(rules(r.issues), issues, String(value));
    }
  });

  it('rejects an unreadable enabledUser but only drops an unreadable optional boolean', () => {
    const u = read('users', user({ enabledUser: 'yes' }));
    assert.equal(u.record, undefined);
    assert.deepEqual(rules(u.issues), ['error:invalid-boolean:enabledUser']);
    assert.equal(u.issues[0]?.value, 'yes');
    const e = read('enrollments', enrollment({ primary: 'maybe' }));
    assert.ok(e.record);
    assert.equal('primary' in (e.record ?? {}), false);
    assert.deepEqual(rules(e.issues), ['warning:invalid-boolean:primary']);
    assert.equal(read('enrollments', enrollment({ primary: 'True' })).record?.['primary'], true);
  });

  it('reads list fields as arrays or comma strings, and drops empty lists', () => {
    const r = read('classes', klass({ periods: '1, 3,,5', subjects: ['Math', ' ', 'Art '], subjectCodes: [], grades: '09,10' }));
    assert.deepEqual(r.record?.['periods'], ['1', '3', '5']);
    assert.deepEqual(r.record?.['subjects'], ['Math', 'Art']);
    assert.deepEqual(r.record?.['grades'], ['09', '10']);
    assert.equal('subjectCodes' in (r.record ?? {}), false);
    assert.deepEqual(r.issues, []);
    assert.deepEqual(read('classes', klass({ periods: 3 })).record?.['periods'], ['3']);
    assert.deepEqual(read('classes', klass({ periods: [1, 2] })).record?.['periods'], ['1', '2']);
    const bad = read('classes', klass({ periods: [1, { x: 1 }] }));
    assert.deepEqual(bad.record?.['periods'], ['1']);
    assert.deepEqual(rules(bad.issues), ['warning:invalid-type:periods']);
    const worse = read('classes', klass({ subjects: { a: 1 } }));
    assert.deepEqual(rules(worse.issues), ['warning:invalid-type:subjects']);
  });

  it('treats null and blank as absent and trims strings', () => {
    const r = read('orgs', {
      sourcedId: ' s1 ', status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z', name: '  North  ',
      type: 'school', identifier: null, parent: null, children: null, metadata: null,
    });
    assert.deepEqual(r.record, { sourcedId: 's1', status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z', name: 'North', type: 'school' });
    assert.deepEqual(r.issues, []);
    const blank = read('orgs', { sourcedId: 's1', status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z', name: 'N', type: 'school', identifier: '   ' });
    assert.equal('identifier' in (blank.record ?? {}), false);
  });

  it('turns numbers into text where text belongs', () => {
    const r = read('orgs', { sourcedId: 42, status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z', name: 'N', type: 'school', identifier: 12345 });
    assert.equal(r.record?.['sourcedId'], '42');
    assert.equal(r.record?.['identifier'], '12345');
  });

  it('reads status case-insensitively and inactive as tobedeleted, silently', () => {
    for (const [s, expected] of [['ACTIVE', 'active'], ['Active', 'active'], ['inactive', 'tobedeleted'], ['Inactive', 'tobedeleted'], ['toBeDeleted', 'tobedeleted'], [' tobedeleted ', 'tobedeleted']]) {
      const r = read('users', user({ status: s }));
      assert.equal(r.record?.['status'], expected, s);
      assert.deepEqual(r.issues, [], s);
    }
  });

  it('normalises datetimes', () => {
    const table: Array<[string, string]> = [
      ['2024-09-01T12:00:00Z', '2024-09-01T12:00:00.000Z'],
      ['2024-09-01T12:00:00.5Z', '2024-09-01T12:00:00.500Z'],
      ['2024-09-01T14:00:00+02:00', '2024-09-01T12:00:00.000Z'],
      ['2024-09-01T12:00:00', '2024-09-01T12:00:00.000Z'],
      ['2024-09-01', '2024-09-01T00:00:00.000Z'],
      [' 2024-09-01T12:00:00.123456Z ', '2024-09-01T12:00:00.123Z'],
    ];
    for (const [input, out] of table) {
      const r = read('users', user({ dateLastModified: input }));
      assert.equal(r.record?.['dateLastModified'], out, input);
      assert.deepEqual(r.issues, []);
    }
  });

  it('keeps the date part of a datetime in date fields', () => {
    const r = read('enrollments', enrollment({ beginDate: '2024-08-15T00:00:00-05:00', endDate: '2025-06-01' }));
    assert.equal(r.record?.['beginDate'], '2024-08-15');
    assert.equal(r.record?.['endDate'], '2025-06-01');
    assert.deepEqual(rules(r.issues), ['warning:date-truncated:beginDate']);
  });

  it('fills the implied GUIDRef type, keeps relative hrefs as sent, fixes type case', () => {
    const r = read('enrollments', enrollment({
      user: { sourcedId: 'u1', href: '~/ims/oneroster/v1p1/users/u1' },
      class: { sourcedId: 'k1', type: 'Class', href: '/classes/k1' },
      school: { sourcedId: 's1', type: '' },
    }));
    assert.deepEqual(r.record?.['user'], { sourcedId: 'u1', type: 'user', href: '~/ims/oneroster/v1p1/users/u1' });
    assert.deepEqual(r.record?.['class'], { sourcedId: 'k1', type: 'class', href: '/classes/k1' });
    assert.deepEqual(r.record?.['school'], { sourcedId: 's1', type: 'org' });
    assert.deepEqual(rules(r.issues), ['warning:enum-case:class.type']);
  });

  it('keeps 1.1 GUIDRef types other than the implied one (student/teacher users)', () => {
    const r = read('enrollments', enrollment({ user: { sourcedId: 'u1', type: 'student' } }));
    assert.deepEqual(r.record?.['user'], { sourcedId: 'u1', type: 'student' });
    assert.deepEqual(r.issues, []);
  });

  it('replaces an unknown GUIDRef type with the implied one', () => {
    const r = read('enrollments', enrollment({ school: { sourcedId: 's1', type: 'building' } }));
    assert.deepEqual(r.record?.['school'], { sourcedId: 's1', type: 'org' });
    assert.deepEqual(rules(r.issues), ['warning:reference-type:school.type']);
  });

  it('accepts bare ids, sourceId typos and single objects for lists, with warnings', () => {
    const r = read('enrollments', enrollment({ user: 'u1', class: { sourceId: 'k1', type: 'class' } }));
    assert.deepEqual(r.record?.['user'], { sourcedId: 'u1', type: 'user' });
    assert.deepEqual(r.record?.['class'], { sourcedId: 'k1', type: 'class' });
    assert.deepEqual(rules(r.issues), ['warning:reference-bare-id:user', 'warning:reference-sourceid-typo:class']);
    const u = read('users', user({ orgs: { sourcedId: 's1' } }));
    assert.deepEqual(u.record?.['orgs'], [{ sourcedId: 's1', type: 'org' }]);
    assert.deepEqual(rules(u.issues), ['warning:single-for-array:orgs']);
    const ids = read('users', user({ orgs: 's1,s2' }));
    assert.deepEqual(ids.record?.['orgs'], [{ sourcedId: 's1', type: 'org' }, { sourcedId: 's2', type: 'org' }]);
    assert.deepEqual(rules(ids.issues), ['warning:reference-bare-id:orgs']);
  });

  it('drops bad list references but keeps the record while one remains', () => {
    const r = read('users', user({ orgs: [{ type: 'org' }, null, { sourcedId: 's2' }], agents: [{ sourcedId: '' }] }));
    assert.deepEqual(r.record?.['orgs'], [{ sourcedId: 's2', type: 'org' }]);
    assert.equal('agents' in (r.record ?? {}), false);
    assert.deepEqual(rules(r.issues), ['warning:invalid-reference:agents[0].sourcedId', 'warning:invalid-reference:orgs[0].sourcedId']);
  });

  it('corrects enum case with a warning', () => {
    const r = read('users', user({ role: 'Student' }));
    assert.equal(r.record?.['role'], 'student');
    assert.deepEqual(rules(r.issues), ['warning:enum-case:role']);
    assert.equal(r.issues[0]?.value, 'Student');
    const s = read('academicSessions', {
      sourcedId: 'a', status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z', title: 'T',
      startDate: '2024-08-01', endDate: '2025-07-01', type: 'SCHOOLYEAR', schoolYear: '2025',
    });
    assert.equal(s.record?.['type'], 'schoolYear');
    const k = read('classes', klass({ classType: 'Homeroom' }));
    assert.equal(k.record?.['classType'], 'homeroom');
  });

  it('maps 1.2 administrator roles and folds a 1.2 user roles[] into role + orgs', () => {
    const r = read('users', user({
      role: undefined, orgs: undefined, enabledUser: 'true',
      roles: [
        { roleType: 'secondary', role: 'teacher', org: { sourcedId: 's2', type: 'org' } },
        { roleType: 'primary', role: 'districtAdministrator', org: { sourcedId: 'd1', type: 'org' } },
        { roleType: 'secondary', role: 'teacher', org: { sourcedId: 's2', type: 'org' } },
      ],
    }));
    assert.equal(r.record?.['role'], 'administrator');
    assert.deepEqual(r.record?.['orgs'], [{ sourcedId: 's2', type: 'org' }, { sourcedId: 'd1', type: 'org' }]);
    assert.deepEqual(rules(r.issues), ['warning:role-mapped:roles.role']);
    const plain = read('users', user({ role: undefined, orgs: undefined, roles: [{ roleType: 'primary', role: 'student', org: { sourcedId: 's1' } }] }));
    assert.equal(plain.record?.['role'], 'student');
    assert.deepEqual(plain.issues, []);
  });

  it('normalises grades and drops unknown ones', () => {
    const r = read('users', user({ grades: ['9', 'kg', 'K', '10', 'Grade 5', 'other'] }));
    assert.deepEqual(r.record?.['grades'], ['09', 'KG', 'KG', '10', 'Other']);
    assert.deepEqual(rules(r.issues), [
      'warning:grade-normalised:grades', 'warning:enum-case:grades', 'warning:grade-normalised:grades',
      'warning:unknown-grade:grades', 'warning:enum-case:grades',
    ]);
    const none = read('users', user({ grades: ['Grade 5'] }));
    assert.equal('grades' in (none.record ?? {}), false);
  });

  it('reads userIds and drops incomplete entries', () => {
    const r = read('users', user({ userIds: [{ type: 'LDAP', identifier: 12 }, { type: 'SIS' }, { identifier: 'x' }] }));
    assert.deepEqual(r.record?.['userIds'], [{ type: 'LDAP', identifier: '12' }]);
    assert.deepEqual(rules(r.issues), ['warning:invalid-user-id:userIds[1]', 'warning:invalid-user-id:userIds[2]']);
    const bad = read('users', user({ userIds: 'LDAP:12' }));
    assert.deepEqual(rules(bad.issues), ['warning:invalid-type:userIds']);
  });

  it('normalises a school-year range to its end year', () => {
    const base = { sourcedId: 'a', status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z', title: 'T', startDate: '2024-08-01', endDate: '2025-07-01', type: 'schoolYear' };
    for (const [input, out] of [['2024-2025', '2025'], ['2024-25', '2025'], ['1999-00', '2000'], [2025, '2025']] as const) {
      const r = read('academicSessions', { ...base, schoolYear: input });
      assert.equal(r.record?.['schoolYear'], out, String(input));
    }
    assert.deepEqual(rules(read('academicSessions', { ...base, schoolYear: '2024-25' }).issues), ['warning:school-year-normalised:schoolYear']);
    const bad = read('academicSessions', { ...base, schoolYear: 'SY24' });
    assert.equal(bad.record, undefined);
    assert.deepEqual(rules(bad.issues), ['error:invalid-school-year:schoolYear']);
  });

  it('drops a non-object metadata with a warning', () => {
    const r = read('users', user({ metadata: 'x' }));
    assert.ok(r.record);
    assert.deepEqual(rules(r.issues), ['warning:invalid-metadata:metadata']);
  });

  it('drops bad optional values with warnings', () => {
    const d = read('demographics', {
      sourcedId: 'u1', status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z',
      birthDate: '2010-02-30', sex: 'x', white: 'y', asian: '1', cityOfBirth: { a: 1 },
    });
    assert.deepEqual(d.record, { sourcedId: 'u1', status: 'active', dateLastModified: '2024-09-01T12:00:00.000Z', asian: true });
    assert.deepEqual(rules(d.issues), [
      'warning:invalid-date:birthDate', 'warning:invalid-enum:sex', 'warning:boolean-numeric:asian',
      'warning:invalid-boolean:white', 'warning:invalid-type:cityOfBirth',
    ]);
  });
});

describe('readEntity: errors drop the record', () => {
  const table: Array<[string, CollectionName, unknown, string[]]> = [
    ['null', 'users', null, ['error:not-an-object:(record)']],
    ['an array', 'users', [user()], ['error:not-an-object:(record)']],
    ['a string', 'orgs', 's1', ['error:not-an-object:(record)']],
    ['no sourcedId', 'users', user({ sourcedId: undefined }), ['error:missing-sourced-id:sourcedId']],
    ['blank sourcedId', 'users', user({ sourcedId: '  ' }), ['error:missing-sourced-id:sourcedId']],
    ['object sourcedId', 'users', user({ sourcedId: { id: 1 } }), ['error:missing-sourced-id:sourcedId']],
    ['missing status', 'users', user({ status: undefined }), ['error:required-field:status']],
    ['unknown status', 'users', user({ status: 'deleted' }), ['error:invalid-status:status']],
    ['missing dateLastModified', 'users', user({ dateLastModified: undefined }), ['error:required-field:dateLastModified']],
    ['unparseable dateLastModified', 'users', user({ dateLastModified: '01/09/2024' }), ['error:invalid-datetime:dateLastModified']],
    ['impossible dateLastModified', 'users', user({ dateLastModified: '2024-02-30T00:00:00Z' }), ['error:invalid-datetime:dateLastModified']],
    ['user without givenName', 'users', user({ givenName: '' }), ['error:required-field:givenName']],
    ['user without familyName', 'users', user({ familyName: null }), ['error:required-field:familyName']],
    ['user without username', 'users', user({ username: undefined }), ['error:required-field:username']],
    ['user without role', 'users', user({ role: undefined }), ['error:required-field:role']],
    ['user with a role outside 1.1', 'users', user({ role: 'wizard' }), ['error:invalid-enum:role']],
    ['user with empty orgs', 'users', user({ orgs: [] }), ['error:required-field:orgs']],
    ['user without orgs', 'users', user({ orgs: undefined }), ['error:required-field:orgs']],
    ['user with orgs of the wrong type', 'users', user({ orgs: 5 }), ['error:invalid-type:orgs']],
    ['user with an object givenName', 'users', user({ givenName: { first: 'x' } }), ['error:invalid-type:givenName']],
    ['class without school', 'classes', klass({ school: undefined }), ['error:required-field:school']],
    ['class with a school lacking sourcedId', 'classes', klass({ school: { type: 'org' } }), ['error:invalid-reference:school.sourcedId']],
    ['class with a school array', 'classes', klass({ school: [{ sourcedId: 's1' }] }), ['error:invalid-type:school']],
    ['class without title', 'classes', klass({ title: ' ' }), ['error:required-field:title']],
    ['class with empty terms', 'classes', klass({ terms: [] }), ['error:required-field:terms']],
    ['enrollment without user', 'enrollments', enrollment({ user: undefined }), ['error:required-field:user']],
    ['enrollment with a blank bare user id', 'enrollments', enrollment({ user: ' ' }), ['error:required-field:user']],
    ['enrollment without class', 'enrollments', enrollment({ class: null }), ['error:required-field:class']],
    ['enrollment without school', 'enrollments', enrollment({ school: undefined }), ['error:required-field:school']],
    ['enrollment without role', 'enrollments', enrollment({ role: undefined }), ['error:required-field:role']],
    ['org with an unknown type', 'orgs', { sourcedId: 'o', status: 'active', dateLastModified: '2024-09-01T12:00:00Z', name: 'N', type: 'campus' }, ['error:invalid-enum:type']],
    ['session with a bad startDate', 'academicSessions', { sourcedId: 'a', status: 'active', dateLastModified: '2024-09-01T12:00:00Z', title: 'T', startDate: 'soon', endDate: '2025-01-01', type: 'term', schoolYear: '2025' }, ['error:invalid-date:startDate']],
  ];
  for (const [name, collection, raw, expected] of table) {
    it(name, () => {
      const r = read(collection, raw);
      assert.equal(r.record, undefined);
      assert.deepEqual(rules(r.issues), expected);
    });
  }

  it('reports every problem of a record in one pass, with its sourcedId', () => {
    const r = read('users', user({ status: 'gone', role: 'Wizard', givenName: '', orgs: [] }));
    assert.deepEqual(rules(r.issues), [
      'error:invalid-status:status', 'error:required-field:givenName', 'error:invalid-enum:role', 'error:required-field:orgs',
    ]);
    for (const i of r.issues) assert.equal(i.sourcedId, 'u1');
  });

  it('never puts personal values into issues', () => {
    const r = read('users', user({ givenName: { x: 'Aoife' }, email: ['pupil@school.org'], phone: true, username: 7, middleName: ['M'] }));
    const text = JSON.stringify(r.issues);
    for (const secret of ['Aoife', 'pupil@school.org']) assert.ok(!text.includes(secret), text);
    for (const i of r.issues) assert.equal(i.value, undefined, i.field);
    const d = read('demographics', { sourcedId: 'u1', status: 'active', dateLastModified: '2024-09-01T12:00:00Z', birthDate: '2010-13-01', sex: 'Femme' });
    for (const i of d.issues) assert.equal(i.value, undefined, i.field);
    assert.ok(!JSON.stringify(d.issues).includes('2010-13-01'));
    assert.ok(!JSON.stringify(d.issues).includes('Femme'));
  });

  it('shortens long values to 200 characters', () => {
    const r = read('users', user({ role: 'x'.repeat(500) }));
    assert.equal(r.issues[0]?.value?.length, 200);
  });
});

describe('RULES', () => {
  it('are kebab-case with a description', () => {
    for (const [code, description] of Object.entries(RULES)) {
      assert.match(code, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.ok(description.length > 10);
    }
  });
  // Runs last (tests run in file order): every rule the reader can emit is exercised above.
  it('are all exercised by this file', () => {
    const missing = (Object.keys(RULES) as RuleCode[]).filter((r) => !seenRules.has(r));
    assert.deepEqual(missing, []);
    for (const r of seenRules) assert.ok(r in RULES, `undeclared rule ${r}`);
  });
});

describe('issue messages say what to fix at the SIS', () => {
  it('every reader rule has a fix text, and messages carry it', () => {
    for (const code of Object.keys(RULES) as Array<keyof typeof RULES>) assert.ok(RULE_FIX[code]?.length > 10, `fix text for ${code}`);
    const r = readEntity('users', { sourcedId: 'u1', status: 'active', dateLastModified: '2026-01-01T00:00:00Z', enabledUser: true, role: 'student', givenName: 'A', familyName: 'B', orgs: [] });
    const msg = r.issues.find((i) => i.rule === 'required-field')?.message ?? '';
    assert.match(msg, /Fix at the SIS: .+\[required-field\]$/);
  });
});
